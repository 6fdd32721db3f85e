// Real servers from Debian in front of the test Keystone, for the e2e suite and the benchmarks:
// nginx terminating TLS with a throw-away CA, nginx rate-limiting logins with 429s, tinyproxy as
// the runner's HTTP proxy. Each one starts scripts/front/start.sh, parses what it prints, and is
// stopped by stop() or, at the latest, when this process exits. Loopback only.
// Types: front.d.mts next to this file.

import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseExports } from '../keystone/keystone.mjs'
import { run, serverRegistry, tail } from '../lib/process.mjs'

const HERE = dirname(fileURLToPath(import.meta.url))
const START_SH = join(HERE, 'start.sh')
const STOP_SH = join(HERE, 'stop.sh')
const MARKER = '.front-test-instance'

// A start takes about 0.2 s; a first run on a bare machine also apt-installs nginx and tinyproxy.
const DEFAULT_START_TIMEOUT_MS = 300_000
const STOP_TIMEOUT_MS = 30_000

// Knobs of start.sh that may pass through from the caller's environment; other FRONT_* are dropped.
const PASS_THROUGH = ['FRONT_READY_TIMEOUT']

/** Instances not stopped yet, killed when the process exits (a crashed test must not leak servers). */
// Same PID-reuse guard as stop.sh: only a process that is still this instance's server.
const servers = serverRegistry({
  isOurs: (cmdline, instance) => /nginx|tinyproxy/.test(cmdline) && cmdline.includes(`${instance.stateDir}/`),
  signal: 'SIGKILL',
  marker: MARKER,
  keepStateVariable: 'FRONT_KEEP_STATE'
})

/**
 * nginx on https://127.0.0.1:PORT with a fresh test CA, proxying everything to `upstream`.
 *
 * @param {import('./front.d.mts').TlsFrontOptions} options
 * @returns {Promise<import('./front.d.mts').TlsFront>}
 */
export async function startTlsFront(options) {
  const args = ['tls', '--upstream', requireUpstream(options)]
  for (const name of options.altNames ?? []) args.push('--alt-name', name)
  const { vars, base } = await start(args, options)
  const caFile = vars.FRONT_CA_FILE
  return register({
    ...base,
    kind: 'tls',
    authUrl: withPath(base.url, options.upstream),
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    accessLogPath: vars.FRONT_LOG,
    entries: () => readAccessLog(vars.FRONT_LOG),
    count: filter => countEntries(readAccessLog(vars.FRONT_LOG), filter)
  })
}

/**
 * nginx on http://127.0.0.1:PORT answering 429 (JSON body like OVHcloud's) beyond `rate`,
 * proxying the rest to `upstream`.
 *
 * @param {import('./front.d.mts').RateLimiterOptions} options
 * @returns {Promise<import('./front.d.mts').RateLimiter>}
 */
export async function startRateLimiter(options) {
  const { rate = '60r/m', burst = 0, retryAfter = true, scope = 'login' } = options
  const retryAfterArg = retryAfter === true ? 'auto' : retryAfter === false ? 'none' : String(retryAfter)
  const args = [
    'ratelimit',
    '--upstream',
    requireUpstream(options),
    '--rate',
    rate,
    '--burst',
    String(burst),
    '--retry-after',
    retryAfterArg,
    '--scope',
    scope
  ]
  const { vars, base } = await start(args, options)
  const intervalMs = Number(vars.FRONT_INTERVAL_MS)
  const admittedAtOnce = 1 + Number(vars.FRONT_BURST)
  return register({
    ...base,
    kind: 'ratelimit',
    authUrl: withPath(base.url, options.upstream),
    rate: vars.FRONT_RATE,
    burst: Number(vars.FRONT_BURST),
    intervalMs,
    retryAfterSeconds: vars.FRONT_RETRY_AFTER === '' ? undefined : Number(vars.FRONT_RETRY_AFTER),
    scope: /** @type {'login' | 'all'} */ (vars.FRONT_SCOPE),
    accessLogPath: vars.FRONT_LOG,
    entries: () => readAccessLog(vars.FRONT_LOG),
    count: filter => countEntries(readAccessLog(vars.FRONT_LOG), filter),
    /** @param {number} n */
    minimumMakespanMs: n => Math.max(0, n - admittedAtOnce) * intervalMs
  })
}

/**
 * tinyproxy on http://127.0.0.1:PORT: absolute-URI requests and CONNECT to any host and port.
 *
 * @param {import('./front.d.mts').ProxyOptions} [options]
 * @returns {Promise<import('./front.d.mts').ProxyServer>}
 */
export async function startProxy(options = {}) {
  const args = ['proxy']
  for (const port of options.connectPorts ?? []) args.push('--connect-port', String(port))
  const { vars, base } = await start(args, options)
  const logPath = vars.FRONT_LOG
  const probeHost = vars.FRONT_PROBE_HOST
  return register({
    ...base,
    kind: 'proxy',
    logPath,
    requests: () => readProxyLog(logPath, probeHost)
  })
}

/**
 * Parses an access log of start.sh's nginx (format `front`).
 *
 * @param {string} path
 * @returns {import('./front.d.mts').AccessLogEntry[]}
 */
export function readAccessLog(path) {
  /** @type {import('./front.d.mts').AccessLogEntry[]} */
  const entries = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^(\d+\.\d+) (\S+) "(\S+) (\S+)[^"]*" (\d{3}) (\d+) (\S+) upstream=(\S+) retry_after=(\S*) /.exec(line)
    if (!match) continue
    entries.push({
      timeMs: Math.round(Number(match[1]) * 1000),
      client: match[2],
      method: match[3],
      target: match[4],
      status: Number(match[5]),
      bytes: Number(match[6]),
      durationMs: Math.round(Number(match[7]) * 1000),
      upstreamStatus: match[8] === '-' ? undefined : match[8],
      retryAfter: match[9] === '-' || match[9] === '' ? undefined : match[9]
    })
  }
  return entries
}

/**
 * "METHOD TARGET" of each request tinyproxy received (its "Request (file descriptor N): …" lines),
 * e.g. `CONNECT 127.0.0.1:8443` or `POST http://127.0.0.1:5000/v3/auth/tokens`; the readiness probe
 * (a request for probeHost) left out.
 *
 * @param {string} path
 * @param {string} [probeHost]
 * @returns {string[]}
 */
export function readProxyLog(path, probeHost) {
  const requests = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /\]: Request \(file descriptor \d+\): (\S+) (\S+)/.exec(line)
    if (!match) continue
    if (probeHost && match[2].includes(`//${probeHost}/`)) continue
    requests.push(`${match[1]} ${match[2]}`)
  }
  return requests
}

// --- internals ---------------------------------------------------------------------------------

/**
 * @param {import('./front.d.mts').AccessLogEntry[]} entries
 * @param {import('./front.d.mts').CountFilter} [filter]
 */
function countEntries(entries, filter = {}) {
  return entries.filter(
    entry =>
      (filter.status === undefined || entry.status === filter.status) &&
      (filter.method === undefined || entry.method === filter.method.toUpperCase()) &&
      (filter.path === undefined || entry.target.startsWith(filter.path))
  ).length
}

/** @param {{ upstream?: string }} options */
function requireUpstream(options) {
  const upstream = options?.upstream
  if (typeof upstream !== 'string' || !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+(\/.*)?$/.test(upstream)) {
    throw new Error(`upstream must be a loopback http URL such as http://127.0.0.1:PORT/v3, got ${String(upstream)}`)
  }
  return upstream
}

/** The front's origin with the upstream URL's path: the Keystone auth URL through the front. */
function withPath(origin, upstream) {
  const path = new URL(upstream).pathname.replace(/\/+$/, '')
  return origin + path
}

/**
 * @param {string[]} args
 * @param {{ port?: number, stateDir?: string, timeoutMs?: number }} options
 */
async function start(args, options) {
  const { port = 0, timeoutMs = DEFAULT_START_TIMEOUT_MS } = options
  if (port) args.push('--port', String(port))
  /** @type {Record<string, string>} */
  const env = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (name.startsWith('FRONT_') && !PASS_THROUGH.includes(name)) continue
    env[name] = value
  }
  if (options.stateDir) env.FRONT_STATE_DIR = options.stateDir

  const result = await run('bash', [START_SH, ...args], env, timeoutMs)
  const vars = parseExports(result.stdout)
  if (result.code !== 0) {
    // start.sh may have been killed half-way, with a server already running: stop it.
    // Its logs are in the error below; the state dir goes too, unless FRONT_KEEP_STATE=1.
    const stateDir = vars.FRONT_STATE_DIR ?? /\] state dir (\/\S+)/.exec(result.stderr)?.[1] ?? options.stateDir
    const purge = process.env.FRONT_KEEP_STATE !== '1' ? ['--purge'] : []
    if (stateDir) await run('bash', [STOP_SH, stateDir, ...purge], env, STOP_TIMEOUT_MS).catch(() => {})
    const why = result.timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${result.code}`
    throw new Error(`scripts/front/start.sh ${args[0]} ${why}:\n${tail(result.stderr)}`)
  }
  for (const required of ['FRONT_URL', 'FRONT_PORT', 'FRONT_PID', 'FRONT_STATE_DIR', 'FRONT_LOG']) {
    if (!vars[required]) throw new Error(`start.sh printed no ${required}:\n${result.stdout}`)
  }
  return {
    vars,
    base: {
      url: vars.FRONT_URL,
      port: Number(vars.FRONT_PORT),
      pid: Number(vars.FRONT_PID),
      stateDir: vars.FRONT_STATE_DIR,
      env
    }
  }
}

/**
 * Adds stop() and tracks the instance until it is stopped.
 *
 * @template {{ stateDir: string, pid: number, env: Record<string, string> }} T
 * @param {T} fields
 */
function register(fields) {
  const { env, ...rest } = fields
  const instance = {
    ...rest,
    /** @param {{ purge?: boolean }} [stopOptions] */
    async stop(stopOptions = {}) {
      if (!servers.remove(instance)) return
      // FRONT_KEEP_STATE=1 keeps the configs and logs of every instance for a post-mortem.
      const purge = stopOptions.purge ?? process.env.FRONT_KEEP_STATE !== '1'
      const stopped = await run('bash', purge ? [STOP_SH, rest.stateDir, '--purge'] : [STOP_SH, rest.stateDir], env, STOP_TIMEOUT_MS)
      if (stopped.code !== 0) throw new Error(`scripts/front/stop.sh failed:\n${tail(stopped.stderr)}`)
    }
  }
  servers.add(instance)
  return /** @type {any} */ (instance)
}
