import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import type { Core } from '../runtime/core.js'
import { loadRenewer, type SavedRenewer } from '../runtime/state.js'
import { readLedger } from './ledger.js'

/**
 * The post step's side of renewal: end the renewer (SIGTERM, a bounded wait, then SIGKILL) once it
 * is sure the pid is still the renewer, read its ledger, say what went wrong while the job ran, and
 * return every token it issued, for the post step to revoke.
 */
export interface ProcessControl {
  /** The process's command line, or undefined when there is no such process (or it is a zombie). */
  commandLine(pid: number): string[] | undefined
  kill(pid: number, signal: NodeJS.Signals): void
  sleep(ms: number): Promise<void>
}

/** How long the renewer has to save its ledger and exit after SIGTERM. */
export const STOP_WAIT_MS = 5_000
const POLL_MS = 50

export async function endRenewal(
  core: Pick<Core, 'getState' | 'warning' | 'info' | 'setSecret'>,
  control: ProcessControl = realControl
): Promise<string[]> {
  const saved = loadRenewer(core)
  if (!saved) return []
  const ended = await stopRenewer(saved, control)
  const ledger = readLedger(saved.ledger)
  if (!ledger) {
    core.warning('The token renewer left no record: it did not start, so the token was not renewed.')
    return []
  }
  for (const token of ledger.issued) core.setSecret(token)
  fs.rmSync(saved.ledger, { force: true })
  const failures = ledger.failures
  if (failures.length > 0) {
    const last = failures[failures.length - 1]!
    const stopped = ledger.stopped ? ` It stopped renewing: ${ledger.stopped}; later calls may have failed once the token expired.` : ''
    core.warning(
      `Token renewal failed ${failures.length === 1 ? 'once' : `${failures.length} times`} during the job (last at ${last.at}): ${last.message}${stopped}`
    )
  } else if (ended === 'gone' && !ledger.stopped) {
    core.warning(
      'The token renewer had ended before the post step: the token was not renewed after that; later calls may have failed once it expired.'
    )
  }
  core.info(`Token renewals during the job: ${ledger.renewals}.`)
  if (ended === 'not-stopped') core.warning(`The token renewer (pid ${saved.pid}) did not end when asked; the runner ends it with the job.`)
  return ledger.issued
}

export type RenewerEnd = 'stopped' | 'killed' | 'gone' | 'not-stopped'

async function stopRenewer(saved: SavedRenewer, control: ProcessControl): Promise<RenewerEnd> {
  const ours = (): boolean => control.commandLine(saved.pid)?.includes(saved.nonce) === true
  if (!ours()) return 'gone'
  if (!signal(control, saved.pid, 'SIGTERM')) return 'gone'
  if (await waitUntilGone(ours, control, STOP_WAIT_MS)) return 'stopped'
  if (!ours()) return 'stopped'
  signal(control, saved.pid, 'SIGKILL')
  return (await waitUntilGone(ours, control, 1_000)) ? 'killed' : 'not-stopped'
}

function signal(control: ProcessControl, pid: number, name: NodeJS.Signals): boolean {
  try {
    control.kill(pid, name)
    return true
  } catch {
    return false
  }
}

async function waitUntilGone(ours: () => boolean, control: ProcessControl, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += POLL_MS) {
    if (!ours()) return true
    await control.sleep(POLL_MS)
  }
  return !ours()
}

export const realControl: ProcessControl = {
  commandLine: pid => {
    if (process.platform === 'linux') {
      try {
        // A zombie (Z) is gone for our purpose: it runs nothing and is only waiting to be reaped.
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
        if (/\) Z /.test(stat)) return undefined
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      } catch {
        return undefined
      }
    }
    try {
      const line = execFileSync('ps', ['-o', 'state=,command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
      if (line === '' || line.startsWith('Z')) return undefined
      return line.split(/\s+/).slice(1)
    } catch {
      return undefined
    }
  },
  kill: (pid, name) => void process.kill(pid, name),
  sleep: ms => new Promise(resolve => setTimeout(resolve, ms))
}
