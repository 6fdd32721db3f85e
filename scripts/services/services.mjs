// Real Glance (image) and Swift (object-store) for tests: starts scripts/services/start.sh against
// a Keystone from scripts/keystone/keystone.mjs, parses what it prints, stops them by their PIDs.
// Types: services.d.mts next to this file.

import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseExports } from '../keystone/keystone.mjs'
import { run, serverRegistry, tail } from '../lib/process.mjs'

const HERE = dirname(fileURLToPath(import.meta.url))
const START_SH = join(HERE, 'start.sh')
const STOP_SH = join(HERE, 'stop.sh')
// A first run on a bare machine also apt-installs the packages.
const DEFAULT_START_TIMEOUT_MS = 300_000
const STOP_TIMEOUT_MS = 30_000

// One entry per server process; the PID-reuse guard of stop.sh: the command line names the state dir.
const servers = serverRegistry({
  isOurs: (cmdline, instance) => cmdline.includes(`${instance.stateDir}/`),
  signal: 'SIGTERM',
  marker: '.os-services-test-instance',
  keepStateVariable: 'KEYSTONE_KEEP_STATE'
})

/**
 * Starts Glance and Swift behind keystonemiddleware, registered in the catalog of `keystone`.
 *
 * @param {import('../keystone/keystone.d.mts').KeystoneInstance} keystone
 * @param {{ tokenCacheTime?: number, stateDir?: string, timeoutMs?: number }} [options]
 * @returns {Promise<import('./services.d.mts').ServicesInstance>}
 */
export async function startServices(keystone, options = {}) {
  const { tokenCacheTime, timeoutMs = DEFAULT_START_TIMEOUT_MS } = options
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'os-services-test-'))
  /** @type {Record<string, string>} */
  const env = {}
  // Only the test Keystone's admin reaches the script, never a developer's own OS_* settings.
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('OS_') && !name.startsWith('SERVICES_')) env[name] = value
  }
  Object.assign(env, keystone.env, { SERVICES_STATE_DIR: stateDir })
  if (tokenCacheTime !== undefined) env.SERVICES_TOKEN_CACHE_TIME = String(tokenCacheTime)

  const result = await run('bash', [START_SH], env, timeoutMs)
  if (result.code !== 0) {
    await run('bash', [STOP_SH], env, STOP_TIMEOUT_MS).catch(() => {})
    const why = result.timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${result.code}`
    throw new Error(`scripts/services/start.sh ${why}:\n${tail(result.stderr)}`)
  }
  const vars = parseExports(result.stdout)
  for (const required of ['GLANCE_URL', 'SWIFT_URL', 'SERVICES_STATE_DIR', 'SERVICES_PIDS']) {
    if (!vars[required]) throw new Error(`scripts/services/start.sh printed no ${required}:\n${result.stdout}`)
  }
  const processes = vars.SERVICES_PIDS.split(' ').map(entry => {
    const [name, pid] = entry.split(':')
    return { name: String(name), pid: Number(pid), stateDir: vars.SERVICES_STATE_DIR }
  })
  for (const entry of processes) servers.add(entry)

  const instance = {
    glanceUrl: vars.GLANCE_URL,
    swiftUrl: vars.SWIFT_URL,
    stateDir: vars.SERVICES_STATE_DIR,
    pids: Object.fromEntries(processes.map(p => [p.name, p.pid])),
    /** @param {string} projectId */
    storageUrl: projectId => `${vars.SWIFT_URL}/AUTH_${projectId}`,
    /** @param {{ purge?: boolean }} [stopOptions] */
    async stop(stopOptions = {}) {
      let removed = false
      for (const entry of processes) removed = servers.remove(entry) || removed
      if (!removed) return
      const purge = stopOptions.purge ?? process.env.KEYSTONE_KEEP_STATE !== '1'
      const stopped = await run('bash', purge ? [STOP_SH, '--purge'] : [STOP_SH], env, STOP_TIMEOUT_MS)
      if (stopped.code !== 0) throw new Error(`scripts/services/stop.sh failed:\n${tail(stopped.stderr)}`)
    }
  }
  return instance
}

/**
 * Requests a client made to Keystone, in its access log, leaving out the services' own: the
 * validations (python-keystoneclient) and the service users' logins (keystonemiddleware).
 *
 * @param {string} accessLogPath
 * @param {number} [fromLine] count only the lines after this many
 * @param {number} [toLine] and up to this line (default: to the end)
 * @returns {{ all: number, posts: number, validations: number }}
 */
export function clientRequests(accessLogPath, fromLine = 0, toLine = undefined) {
  let all = 0
  let posts = 0
  let validations = 0
  for (const line of readFileSync(accessLogPath, 'utf8').split('\n').slice(fromLine, toLine)) {
    const request = /"([A-Z]+) (\S+) HTTP\/[\d.]+" \d+ \S+ "[^"]*" "([^"]*)"/.exec(line)
    if (!request) continue
    const agent = request[3] ?? ''
    if (agent === 'python-keystoneclient') {
      validations += 1
      continue
    }
    if (agent.includes('keystonemiddleware')) continue
    all += 1
    if (request[1] === 'POST' && request[2]?.startsWith('/v3/auth/tokens')) posts += 1
  }
  return { all, posts, validations }
}

/** @param {string} accessLogPath */
export function logLines(accessLogPath) {
  return readFileSync(accessLogPath, 'utf8').split('\n').filter(Boolean).length
}
