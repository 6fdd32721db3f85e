import * as fs from 'node:fs'
import * as path from 'node:path'
import { isObject } from '../json.js'
import { tokenStateFileName } from '../handoff/auth-plugin.js'
import { writeFilesUnder } from '../runtime/files.js'

/**
 * What the renewer tells the post step, since a background process has no log: every token it
 * issued (all revoked by the post step), the renewals that failed, and why it stopped. One 0600
 * file per login in `<RUNNER_TEMP>/openstack-token/renew/`, named like the login's token state,
 * replaced whole at each change (writeFilesUnder).
 */
export interface Ledger {
  pid: number
  /** The random id the renewer was started with (its argv): the post step's proof that a pid is it. */
  nonce: string
  /** Every token Keystone issued to the renewer, renewed or issued on the way, none revoked. */
  issued: string[]
  renewals: number
  /** Renewals that failed, oldest first, each one sentence. */
  failures: { at: string; message: string }[]
  /** Why it stopped renewing before the post step stopped it. */
  stopped?: string
}

export const LEDGER_DIR = ['openstack-token', 'renew'] as const

export function ledgerPath(runnerTemp: string, firstToken: string): string {
  return path.join(runnerTemp, ...LEDGER_DIR, tokenStateFileName(firstToken))
}

export function writeLedger(runnerTemp: string, file: string, ledger: Ledger): void {
  writeFilesUnder(runnerTemp, [{ path: file, content: JSON.stringify(ledger), mode: 0o600 }])
}

/** The ledger, or undefined when there is none or it is not one (never an exception: the post step goes on). */
export function readLedger(file: string): Ledger | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
  if (!isObject(parsed) || typeof parsed.pid !== 'number' || typeof parsed.nonce !== 'string') return undefined
  const issued = Array.isArray(parsed.issued) ? parsed.issued.filter((t): t is string => typeof t === 'string' && t !== '') : []
  const failures = Array.isArray(parsed.failures)
    ? parsed.failures.filter(isObject).map(f => ({ at: String(f.at ?? ''), message: String(f.message ?? '') }))
    : []
  return {
    pid: parsed.pid,
    nonce: parsed.nonce,
    issued,
    renewals: typeof parsed.renewals === 'number' ? parsed.renewals : 0,
    failures,
    ...(typeof parsed.stopped === 'string' && { stopped: parsed.stopped })
  }
}
