import { createHash, randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Token } from '../keystone/token.js'

/**
 * The token state a login leaves for later steps (direct use): one JSON file per login, named by the
 * SHA-256 of the login's first token, in `<RUNNER_TEMP>/openstack-token/tokens/`. The clients'
 * side reads `auth_token` and `body` from it; a renewal replaces the file whole, never in place,
 * so that a reader sees the old token or the new one, never half of each.
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

/**
 * Replaces `file` with `content` at once: a new file of ours alone (O_EXCL, 0600) in the same
 * folder, then a rename over the old one. A planted file or link at the temporary name makes the
 * write fail instead of following it.
 */
export function replaceFile(file: string, content: string): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600)
  try {
    fs.writeFileSync(fd, content)
    fs.fsyncSync(fd)
  } catch (error) {
    fs.closeSync(fd)
    fs.rmSync(temporary, { force: true })
    throw error
  }
  fs.closeSync(fd)
  try {
    fs.renameSync(temporary, file)
  } catch (error) {
    fs.rmSync(temporary, { force: true })
    throw error
  }
}
