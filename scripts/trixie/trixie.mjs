// The Debian 13 (trixie) root of the e2e suite's second stack, for tests: whether it can be used
// here, and how to run a command (a later step, a Keystone's start.sh) inside it through run.sh.
// The root itself is made by install.sh (the e2e suite's global setup runs it); types: trixie.d.mts.

import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
export const TRIXIE_RUN_SH = join(HERE, 'run.sh')
const INSTALL_SH = join(HERE, 'install.sh')

/**
 * The root's path, or why it cannot be used here (a sentence for a skipped test).
 * install.sh only checks its stamp when the root is there, so this is quick.
 *
 * @returns {{ root: string } | { reason: string }}
 */
export function trixieRoot() {
  if (process.getuid?.() !== 0) return { reason: 'the Debian 13 stack needs root (chroot, mount namespaces): run the e2e suite as root' }
  try {
    return { root: execFileSync('bash', [INSTALL_SH], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 1_800_000 }).trim() }
  } catch (error) {
    const stderr = String(/** @type {{ stderr?: unknown }} */ (error).stderr ?? '').trim()
    return { reason: `scripts/trixie/install.sh could not make the Debian 13 root: ${stderr.split('\n').slice(-3).join(' ')}` }
  }
}

/**
 * A command run inside the root by run.sh, as [command, ...args] for spawn.
 *
 * @param {string[]} command
 * @param {{ binds?: string[], hide?: string[], keepMounts?: boolean }} [options]
 *   binds: dirs seen at the same path inside; hide: paths inside made absent (run.sh --hide)
 * @returns {[string, ...string[]]}
 */
export function inTrixie(command, options = {}) {
  return [
    'bash',
    TRIXIE_RUN_SH,
    ...(options.binds ?? []).flatMap(dir => ['--bind', dir]),
    ...(options.hide ?? []).flatMap(path => ['--hide', path]),
    ...(options.keepMounts ? ['--keep-mounts'] : []),
    '--',
    ...command
  ]
}

/**
 * The shell text of a `run:` step whose `script` runs inside the root with the job's environment
 * (run.sh binds the job's RUNNER_TEMP and GITHUB_WORKSPACE at the same paths).
 *
 * @param {string} script
 * @param {{ binds?: string[], hide?: string[] }} [options]
 */
export function trixieScript(script, options = {}) {
  return inTrixie(['bash', '-c', script], options).map(shellQuote).join(' ')
}

/** @param {string} word */
function shellQuote(word) {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
