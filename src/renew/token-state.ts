import { createHash } from 'node:crypto'
import * as path from 'node:path'
import type { Token } from '../keystone/token.js'

/**
 * The token state a login leaves for later steps (direct use): one JSON file per login, named by the
 * SHA-256 of the login's first token, in `<RUNNER_TEMP>/openstack-token/tokens/`. The clients'
 * side reads `auth_token` and `body` from it; a renewal replaces the file whole through the file
 * seam (runtime/files.ts), so that a reader sees the old token or the new one, never half of each.
 */

export const TOKEN_STATE_DIR = ['openstack-token', 'tokens'] as const

/** The file name of a token's state: the SHA-256 of the token, so that the name reveals nothing. */
export function tokenStateName(token: string): string {
  return `${createHash('sha256').update(token, 'utf8').digest('hex')}.json`
}

export function tokenStatePath(runnerTemp: string, token: string): string {
  return path.join(runnerTemp, ...TOKEN_STATE_DIR, tokenStateName(token))
}

/** The state file's content for a token issued with its catalog (the shape direct-use.ts writes). */
export function renderTokenState(token: Pick<Token, 'value' | 'document' | 'receivedAt' | 'validForMs'>, authUrl: string): string {
  return JSON.stringify({
    auth_token: token.value,
    body: token.document,
    auth_url: authUrl,
    received_at: token.receivedAt.getTime() / 1000,
    valid_for: token.validForMs / 1000
  })
}
