// A real Keystone for tests and scripts: starts scripts/keystone/start.sh, parses what it prints,
// and offers a few loopback-only HTTP helpers (issue, validate, revoke a token; count requests).
// Types: keystone.d.mts next to this file.

import { mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run, serverRegistry, tail } from '../lib/process.mjs'

const HERE = dirname(fileURLToPath(import.meta.url))
const START_SH = join(HERE, 'start.sh')
const STOP_SH = join(HERE, 'stop.sh')
const REPO_DIR = join(HERE, '..', '..')

// A cold start (no seed yet) takes about 9 s; a first run on a bare machine also apt-installs
// about 290 MB, so the default leaves room for that.
const DEFAULT_START_TIMEOUT_MS = 300_000
const STOP_TIMEOUT_MS = 30_000
const HTTP_TIMEOUT_MS = 15_000

// Knobs of start.sh that may pass through from the caller's environment. Everything else named
// KEYSTONE_* or OS_* is dropped: a developer's own cloud settings must not reach the test Keystone.
const PASS_THROUGH = ['KEYSTONE_CACHE_DIR', 'KEYSTONE_NO_CACHE', 'KEYSTONE_READY_TIMEOUT', 'KEYSTONE_DEBUG']

/** Instances not stopped yet, killed when the process exits (a crashed test must not leak servers). */
// Same PID-reuse guard as stop.sh: only a process that is still this instance's server.
const servers = serverRegistry({
  isOurs: (cmdline, instance) => cmdline.includes('keystone_wsgi_app') && cmdline.includes(instance.stateDir),
  signal: 'SIGTERM',
  marker: '.keystone-test-instance',
  keepStateVariable: 'KEYSTONE_KEEP_STATE'
})

/**
 * Starts a Keystone on 127.0.0.1 with the fixtures of fixtures.sh.
 *
 * @param {import('./keystone.d.mts').StartKeystoneOptions} [options]
 *   tokenExpiration: token lifetime in seconds (default 3600); port: 0 or absent picks a free one;
 *   stateDir: default a fresh temporary dir; timeoutMs: bound on start.sh (default 300 s);
 *   within: where start.sh runs (default the host; e.g. the Debian 13 root).
 * @returns {Promise<import('./keystone.d.mts').KeystoneInstance>}
 */
export async function startKeystone(options = {}) {
  const { tokenExpiration, port = 0, timeoutMs = DEFAULT_START_TIMEOUT_MS } = options
  // Elsewhere (`within`) the state dir's parent is what is bound at the same path: start.sh wipes
  // and remakes the state dir itself, which a mount point would not allow.
  const outer = options.within && !options.stateDir ? mkdtempSync(join(tmpdir(), 'keystone-test-')) : undefined
  const stateDir = options.stateDir ?? (outer ? join(outer, 'state') : mkdtempSync(join(tmpdir(), 'keystone-test-')))

  /** @type {Record<string, string>} */
  const env = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if ((name.startsWith('OS_') || name.startsWith('KEYSTONE_')) && !PASS_THROUGH.includes(name)) continue
    env[name] = value
  }
  env.KEYSTONE_STATE_DIR = stateDir
  if (tokenExpiration !== undefined) env.KEYSTONE_TOKEN_EXPIRATION = String(tokenExpiration)

  const [command, ...args] = options.within
    ? options.within(['bash', START_SH, String(port)], [dirname(stateDir), REPO_DIR])
    : ['bash', START_SH, String(port)]
  const result = await run(command, args, env, timeoutMs)
  if (result.code !== 0) {
    // start.sh may have been killed half-way, with a server already running: stop it.
    await run('bash', [STOP_SH], { ...env, KEYSTONE_STATE_DIR: stateDir }, STOP_TIMEOUT_MS).catch(() => {})
    if (outer) rmSync(outer, { recursive: true, force: true })
    const why = result.timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${result.code}`
    throw new Error(`scripts/keystone/start.sh ${why}:\n${tail(result.stderr)}`)
  }

  const vars = parseExports(result.stdout)
  for (const required of ['OS_AUTH_URL', 'KEYSTONE_PORT', 'KEYSTONE_PID', 'KEYSTONE_STATE_DIR']) {
    if (!vars[required]) throw new Error(`start.sh printed no ${required}:\n${result.stdout}`)
  }
  /** @type {Record<string, string>} */
  const osEnv = {}
  /** @type {Record<string, string>} */
  const fixtures = {}
  for (const [name, value] of Object.entries(vars)) {
    if (name.startsWith('OS_')) osEnv[name] = value
    else if (name.startsWith('FIX_')) fixtures[name] = value
  }

  const instance = {
    authUrl: vars.OS_AUTH_URL,
    port: Number(vars.KEYSTONE_PORT),
    stateDir: vars.KEYSTONE_STATE_DIR,
    pid: Number(vars.KEYSTONE_PID),
    env: osEnv,
    fixtures,
    accessLogPath: vars.KEYSTONE_ACCESS_LOG ?? join(vars.KEYSTONE_STATE_DIR, 'access.log'),
    /** @param {{ purge?: boolean }} [stopOptions] */
    async stop(stopOptions = {}) {
      if (!servers.remove(instance)) return
      // KEYSTONE_KEEP_STATE=1 keeps the logs and db of every instance for a post-mortem.
      const purge = stopOptions.purge ?? process.env.KEYSTONE_KEEP_STATE !== '1'
      const stopped = await run('bash', purge ? [STOP_SH, '--purge'] : [STOP_SH], { ...env, KEYSTONE_STATE_DIR: instance.stateDir }, STOP_TIMEOUT_MS)
      if (stopped.code !== 0) throw new Error(`scripts/keystone/stop.sh failed:\n${tail(stopped.stderr)}`)
      if (outer && purge) rmdirSync(outer)
    }
  }
  servers.add(instance)
  return instance
}

/**
 * POST /v3/auth/tokens. Resolves on 201 only; otherwise rejects with an Error carrying `status` and
 * `body` (Keystone's `{"error": {code, message, title}}`).
 *
 * @param {string} authUrl  e.g. http://127.0.0.1:PORT/v3
 * @param {unknown} body    an object (sent as JSON) or a string (sent as is, e.g. malformed JSON)
 * @param {{ nocatalog?: boolean, timeoutMs?: number }} [options]
 * @returns {Promise<{ token: string, body: any, status: number }>}
 */
export async function issueToken(authUrl, body, options = {}) {
  const url = endpoint(authUrl, options.nocatalog ? '/auth/tokens?nocatalog' : '/auth/tokens')
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(options.timeoutMs ?? HTTP_TIMEOUT_MS)
  })
  const text = await response.text()
  const parsed = parseJson(text)
  const token = response.headers.get('x-subject-token')
  if (response.status !== 201 || !token) {
    const message = parsed?.error?.message ?? text.slice(0, 200)
    throw Object.assign(new Error(`Keystone answered ${response.status} to POST /auth/tokens: ${message}`), {
      status: response.status,
      body: parsed ?? text
    })
  }
  return { token, body: parsed, status: response.status }
}

/**
 * GET /v3/auth/tokens: 200 when subjectToken is valid; 404 when it is unknown, expired or revoked;
 * 401 when authToken itself is not valid.
 *
 * @param {string} authUrl
 * @param {string} authToken
 * @param {string} subjectToken
 * @returns {Promise<number>} the HTTP status
 */
export async function validateToken(authUrl, authToken, subjectToken) {
  return tokenRequest('GET', authUrl, authToken, subjectToken)
}

/**
 * DELETE /v3/auth/tokens: 204 revoked; 401 when authToken is dead (e.g. a token revoking itself a
 * second time); 404 when subjectToken is unknown, expired or already revoked.
 *
 * @param {string} authUrl
 * @param {string} authToken
 * @param {string} subjectToken
 * @returns {Promise<number>} the HTTP status
 */
export async function revokeToken(authUrl, authToken, subjectToken) {
  return tokenRequest('DELETE', authUrl, authToken, subjectToken)
}

/**
 * Counts requests in a gunicorn access log (start.sh empties it once the server is ready).
 *
 * @param {string} accessLogPath
 * @param {{ method?: string, path?: string, status?: number }} [filter]  default POST /v3/auth/tokens;
 *   path is a prefix of the request target, query string included; status, when given, must match
 * @returns {number}
 */
export function countRequests(accessLogPath, filter = {}) {
  const { method = 'POST', path = '/v3/auth/tokens', status } = filter
  let count = 0
  for (const line of readFileSync(accessLogPath, 'utf8').split('\n')) {
    const request = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/.exec(line)
    if (request && request[1] === method && request[2].startsWith(path) && (status === undefined || Number(request[3]) === status)) count += 1
  }
  return count
}

/**
 * Parses `export NAME=value` lines as start.sh and fixtures.sh print them (single-quoted values).
 *
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseExports(text) {
  /** @type {Record<string, string>} */
  const vars = {}
  for (const line of text.split('\n')) {
    const match = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim())
    if (match) vars[match[1]] = unquote(match[2])
  }
  return vars
}

// --- internals ---------------------------------------------------------------------------------

/** @param {string} word a shell word made of '…' parts, \x escapes and plain characters */
function unquote(word) {
  let out = ''
  for (let i = 0; i < word.length; i++) {
    const c = word[i]
    if (c === "'") {
      const end = word.indexOf("'", i + 1)
      if (end < 0) throw new Error(`unterminated quote in ${word}`)
      out += word.slice(i + 1, end)
      i = end
    } else if (c === '\\' && i + 1 < word.length) {
      out += word[++i]
    } else {
      out += c
    }
  }
  return out
}

/**
 * @param {string} method
 * @param {string} authUrl
 * @param {string} authToken
 * @param {string} subjectToken
 */
async function tokenRequest(method, authUrl, authToken, subjectToken) {
  const response = await fetch(endpoint(authUrl, '/auth/tokens'), {
    method,
    headers: { 'X-Auth-Token': authToken, 'X-Subject-Token': subjectToken },
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS)
  })
  await response.arrayBuffer()
  return response.status
}

/**
 * These helpers exist for the local test Keystone only: refuse anything that is not loopback.
 *
 * @param {string} authUrl
 * @param {string} path
 */
function endpoint(authUrl, path) {
  const url = new URL(authUrl.replace(/\/+$/, '') + path)
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new Error(`refusing to talk to ${url.host}: these helpers are for the local test Keystone only`)
  }
  return url
}

/** @param {string} text */
function parseJson(text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
