#!/usr/bin/env node
// `npm run bench:burst` (node scripts/bench/burst.mjs [--n 100] [--rate 60r/m] [--burst 0]
//   [--modes retry-after,no-retry-after,pacing,cli,cli-sync] [--max-wait 600] [--no-probe] [--json FILE]):
// the REAL thing. N matrix jobs that start together and each log in once, through a real nginx
// limit_req (scripts/front, only POST /auth/tokens limited, OVHcloud-like JSON 429) in front of a
// real Keystone (scripts/keystone, 127.0.0.1), side by side in one run with N `openstack token
// issue` of Debian's CLI against the same kind of limiter. Loopback only; every process is bounded
// in time (its max-wait plus a margin, then killed); the servers stop at the end.
//
// Modes (each on a FRESH limiter of the same rate and burst, one after the other):
//   retry-after      N concurrent main steps of the committed dist/ through the runner emulator
//                    (runStep, stage main), inputs: user2 in dom2, project-id proj2, max-wait;
//                    the limiter sends Retry-After (the interval rounded up to seconds, >= 1)
//   no-retry-after   the same, the limiter sends no Retry-After: plain backoff
//   pacing           the same plus job-index i, job-total N, rate-limit matching the limiter
//                    (60r/m -> "60/min", burst b -> "60/min burst b"); Retry-After sent
//   cli              N concurrent /usr/bin/openstack token issue (OS_* for the same login); the
//                    CLI's keystoneauth does not retry a 429: those jobs fail
//   cli-sync         the same through a loopback HTTP gate (in this process) that holds every
//                    POST …/auth/tokens until all N have arrived, then lets them through together:
//                    N Python processes on this machine need a minute of CPU to reach their login,
//                    N runners of a real matrix do not; the gate takes that stagger out
// Before them (unless --no-probe) a startup probe: N main steps with max-wait 0 against a 1r/m
// limiter, so each sends exactly one POST (all but one answered 429 at once): when each POST
// reached nginx, after the common start, is the CPU stagger of N processes starting at once.
//
// Measured from nginx's access log (the only place that sees every request): a request's arrival
// = its log time (when nginx finished it) minus its $request_time; makespan = from the common start
// (just before the N processes are spawned) to the last 201, ratio = makespan / the theoretical
// minimum for the rate and burst (scripts/front minimumMakespanMs(N) = (N - burst - 1) x interval).
// Requests per job = POSTs / N; the max per job comes from the steps' own "retrying in" lines.

import * as http from 'node:http'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadAction, runStep } from '../emulator/runner.mjs'
import { startRateLimiter } from '../front/front.mjs'
import { startKeystone } from '../keystone/keystone.mjs'
import { run } from '../lib/process.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const OPENSTACK = '/usr/bin/openstack'
const ALL_MODES = ['retry-after', 'no-retry-after', 'pacing', 'cli', 'cli-sync']

// ---- arguments ----------------------------------------------------------------------------------

function parseArgs(argv) {
  const options = { n: 100, rate: '60r/m', burst: 0, modes: ALL_MODES, maxWaitS: undefined, probe: true, json: undefined }
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], undefined]
    const value = () => inline ?? argv[++i] ?? fail(`${name} needs a value`)
    if (name === '--n') options.n = Number(value())
    else if (name === '--rate') options.rate = value()
    else if (name === '--burst') options.burst = Number(value())
    else if (name === '--modes')
      options.modes = value()
        .split(',')
        .map(m => m.trim())
        .filter(Boolean)
    else if (name === '--max-wait') options.maxWaitS = Number(value())
    else if (name === '--no-probe') options.probe = false
    else if (name === '--json') options.json = value()
    else if (name === '--help' || name === '-h') {
      console.log(
        readFileSync(fileURLToPath(import.meta.url), 'utf8')
          .split('\n')
          .slice(1, 3)
          .join('\n')
      )
      process.exit(0)
    } else fail(`unknown argument ${argv[i]}`)
  }
  if (!Number.isInteger(options.n) || options.n < 1 || options.n > 300) fail('--n must be an integer 1..300')
  if (!/^[1-9]\d{0,5}r\/[sm]$/.test(options.rate)) fail('--rate must look like 60r/m or 10r/s')
  if (!Number.isInteger(options.burst) || options.burst < 0 || options.burst > 100_000) fail('--burst must be a whole number')
  for (const mode of options.modes) if (!ALL_MODES.includes(mode)) fail(`unknown mode ${mode} (${ALL_MODES.join(', ')})`)
  if (options.maxWaitS !== undefined && !(Number.isInteger(options.maxWaitS) && options.maxWaitS >= 1 && options.maxWaitS <= 3600))
    fail('--max-wait must be 1..3600 seconds')
  return options
}

function fail(message) {
  console.error(`burst: ${message}`)
  process.exit(2)
}

// ---- helpers ------------------------------------------------------------------------------------

function quantile(values, q) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}
const s1 = ms => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : 'n/a')
const r2 = x => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')
const sleep = ms => new Promise(resolvePromise => setTimeout(resolvePromise, ms))

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map(row => `| ${row.join(' | ')} |`)].join('\n')
}

/** "60r/m" + burst -> the action's rate-limit input, "60/min burst 10". */
function rateLimitInput(rate, burst) {
  const [, count, unit] = /^(\d+)r\/([sm])$/.exec(rate)
  return `${count}/${unit === 'm' ? 'min' : 's'}${burst > 0 ? ` burst ${burst}` : ''}`
}

/** Polls until check() holds or the deadline passes: nginx logs a request just after answering it. */
async function eventually(check, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs
  while (!check() && Date.now() < deadline) await sleep(50)
}

function baseEnv() {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' }
}

/**
 * A loopback HTTP gate in front of `targetUrl`: passes every request through (Host kept, so that
 * Keystone's links name the gate), but holds each POST …/auth/tokens, body read, until `n` are
 * held (or holdTimeoutMs passes), then sends them all upstream at once. Later ones pass at once.
 */
async function startGate(targetUrl, n, holdTimeoutMs) {
  const target = new URL(targetUrl)
  const held = []
  let releasedAt
  const release = () => {
    if (releasedAt !== undefined) return
    releasedAt = Date.now()
    clearTimeout(timer)
    for (const go of held.splice(0)) go()
  }
  const timer = setTimeout(release, holdTimeoutMs)
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', chunk => chunks.push(chunk))
    req.on('end', () => {
      const forward = () => {
        const upstream = http.request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
          answer => {
            res.writeHead(answer.statusCode ?? 502, answer.headers)
            answer.pipe(res)
          }
        )
        upstream.setTimeout(60_000, () => upstream.destroy(new Error('upstream timeout')))
        upstream.on('error', () => res.destroy())
        upstream.end(Buffer.concat(chunks))
      }
      if (req.method === 'POST' && /\/auth\/tokens(\?|$)/.test(req.url ?? '') && releasedAt === undefined) {
        held.push(forward)
        if (held.length >= n) release()
      } else {
        forward()
      }
    })
  })
  await new Promise((resolvePromise, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolvePromise))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  return {
    url: `http://127.0.0.1:${port}${target.pathname.replace(/\/+$/, '')}`,
    releasedAt: () => releasedAt,
    stop: () => {
      clearTimeout(timer)
      release()
      server.closeAllConnections()
      return new Promise(resolvePromise => server.close(() => resolvePromise()))
    }
  }
}

function machine() {
  let os = release()
  try {
    os = `${/PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]} (kernel ${release()})`
  } catch {
    /* keep */
  }
  return {
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    os,
    node: process.version,
    loadavg: loadavg()
      .map(x => x.toFixed(2))
      .join(' ')
  }
}

// ---- the runs -----------------------------------------------------------------------------------

/** The POSTs to …/auth/tokens nginx saw, with their arrival relative to t0. */
function posts(limiter, t0) {
  return limiter
    .entries()
    .filter(entry => entry.method === 'POST' && /\/auth\/tokens(\?|$)/.test(entry.target))
    .map(entry => ({ ...entry, arrival: entry.timeMs - entry.durationMs - t0, done: entry.timeMs - t0 }))
}

async function actionBurst({ action, fix, limiter, n, maxWaitS, pacing, timeoutMs }) {
  const inputs = i => ({
    'auth-url': limiter.authUrl,
    username: fix.FIX_USER2_NAME,
    password: fix.FIX_USER2_PASSWORD,
    'user-domain-name': fix.FIX_DOM2_NAME,
    'project-id': fix.FIX_PROJ2_ID,
    'max-wait': String(maxWaitS),
    ...(pacing && { 'job-index': String(i), 'job-total': String(n), 'rate-limit': pacing })
  })
  // The common start: all N spawned from this one synchronous loop.
  const t0 = Date.now()
  const steps = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      runStep({
        action,
        stage: 'main',
        inputs: inputs(i),
        baseEnv: baseEnv(),
        secrets: [fix.FIX_USER2_PASSWORD],
        timeoutMs
      })
    )
  )
  const wallMs = Date.now() - t0
  const served = steps.filter(step => step.status === 'success' && step.outputs.token).length
  await eventually(() => posts(limiter, t0).filter(p => p.status === 201).length >= served)
  const retries = steps.map(step => step.stdout.filter(line => / retrying in /.test(line)).length)
  const failures = steps
    .filter(step => step.status !== 'success')
    .map(step => (step.timedOut ? 'timed out' : (step.stdout.find(line => line.startsWith('::error::')) ?? `exit ${step.exitCode}`).slice(0, 160)))
  return { t0, wallMs, served, requestsPerJob: retries.map(r => r + 1), failures }
}

async function cliBurst({ fix, limiter, n, timeoutMs, authUrl = limiter.authUrl }) {
  const env = {
    ...baseEnv(),
    OS_AUTH_URL: authUrl,
    OS_AUTH_TYPE: 'password',
    OS_IDENTITY_API_VERSION: '3',
    OS_USERNAME: fix.FIX_USER2_NAME,
    OS_PASSWORD: fix.FIX_USER2_PASSWORD,
    OS_USER_DOMAIN_NAME: fix.FIX_DOM2_NAME,
    OS_PROJECT_ID: fix.FIX_PROJ2_ID
  }
  const t0 = Date.now()
  const results = await Promise.all(Array.from({ length: n }, () => run(OPENSTACK, ['token', 'issue', '-f', 'value', '-c', 'id'], env, timeoutMs)))
  const wallMs = Date.now() - t0
  const served = results.filter(r => r.code === 0 && r.stdout.trim().length > 0).length
  await eventually(() => posts(limiter, t0).filter(p => p.status === 201).length >= served)
  const failures = results
    .filter(r => r.code !== 0)
    .map(r => (r.timedOut ? 'timed out' : (r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`).slice(0, 160)))
  return { t0, wallMs, served, requestsPerJob: undefined, failures }
}

function summarise(label, limiter, n, run) {
  const all = posts(limiter, run.t0)
  const admitted = all.filter(p => p.status === 201)
  const refused = all.filter(p => p.status === 429)
  const minimum = limiter.minimumMakespanMs(n)
  const makespan = admitted.length ? Math.max(...admitted.map(p => p.done)) : NaN
  const firstArrival = all.length ? Math.min(...all.map(p => p.arrival)) : NaN
  const failureKinds = {}
  for (const failure of run.failures) {
    const kind = failure
      .replace(/\d+(\.\d+)? s\b/g, 'N s')
      .replace(/\b\d+ attempts?\b/, 'N attempts')
      .slice(0, 120)
    failureKinds[kind] = (failureKinds[kind] ?? 0) + 1
  }
  return {
    label,
    n,
    served: run.served,
    makespanMs: makespan,
    minimumMs: minimum,
    ratio: makespan / minimum,
    fromFirstPostMs: makespan - firstArrival,
    firstPostMs: firstArrival,
    posts: all.length,
    admitted: admitted.length,
    refused429: refused.length,
    other: all.length - admitted.length - refused.length,
    requestsPerJobMean: all.length / n,
    requestsPerJobMax: run.requestsPerJob ? Math.max(...run.requestsPerJob) : all.length > 0 ? 1 : 0,
    wallMs: run.wallMs,
    failureKinds
  }
}

// ---- main ---------------------------------------------------------------------------------------

const options = parseArgs(process.argv.slice(2))
const intervalMs = (options.rate.endsWith('r/m') ? 60_000 : 1000) / Number(options.rate.slice(0, options.rate.indexOf('r')))
const theoretical = Math.max(0, options.n - options.burst - 1) * intervalMs
// Large enough for backoff to get the whole matrix through: 6 x the minimum, at least 2 min.
const maxWaitS = options.maxWaitS ?? Math.max(120, Math.ceil((6 * theoretical) / 1000) + 60)
const stepTimeoutMs = (maxWaitS + 120) * 1000 + theoretical
const info = machine()
const command = `node scripts/bench/burst.mjs ${process.argv.slice(2).join(' ')}`.trimEnd()

// Ctrl-C: exit through process.exit so that front.mjs and keystone.mjs kill their servers.
process.once('SIGINT', () => {
  console.error('burst: interrupted; stopping the servers')
  process.exit(130)
})
process.once('SIGTERM', () => process.exit(143))

console.log(`# Login burst: ${options.n} jobs at ${options.rate}, burst ${options.burst}\n`)
console.log(`Machine: ${info.cpu}, ${info.memory}, ${info.os}, node ${info.node}, load average at start ${info.loadavg}`)
console.log(`Command: ${command}`)
console.log(`Theoretical minimum makespan: ${s1(theoretical)} s ((N - burst - 1) x ${intervalMs} ms); action max-wait ${maxWaitS} s\n`)

const action = loadAction(ROOT)
const keystone = await startKeystone()
const fix = keystone.fixtures
const rows = []
const results = []
let probe
try {
  if (options.probe) {
    // Startup stagger: N main steps at once, one POST each (max-wait 0), nearly all 429 at once.
    const limiter = await startRateLimiter({ upstream: keystone.authUrl, rate: '1r/m', burst: 0, retryAfter: true })
    try {
      const run = await actionBurst({ action, fix, limiter, n: options.n, maxWaitS: 0, timeoutMs: 120_000 })
      await eventually(() => posts(limiter, run.t0).length >= options.n)
      const arrivals = posts(limiter, run.t0).map(p => p.arrival)
      probe = {
        n: arrivals.length,
        min: Math.min(...arrivals),
        median: quantile(arrivals, 0.5),
        p90: quantile(arrivals, 0.9),
        max: Math.max(...arrivals),
        wallMs: run.wallMs
      }
      console.error(
        `probe: ${options.n} main steps at once: first POST ${s1(probe.min)} s, median ${s1(probe.median)} s, last ${s1(probe.max)} s after the common start`
      )
    } finally {
      await limiter.stop()
    }
  }

  for (const mode of options.modes) {
    const limiter = await startRateLimiter({
      upstream: keystone.authUrl,
      rate: options.rate,
      burst: options.burst,
      retryAfter: mode !== 'no-retry-after'
    })
    const started = Date.now()
    let result
    try {
      if (mode === 'cli' || mode === 'cli-sync') {
        const gate = mode === 'cli-sync' ? await startGate(limiter.authUrl, options.n, 200_000) : undefined
        try {
          const run = await cliBurst({ fix, limiter, n: options.n, timeoutMs: 240_000, authUrl: gate?.url })
          result = summarise(`openstack token issue (CLI)${gate ? ', logins released together' : ''}`, limiter, options.n, run)
          const arrivals = posts(limiter, run.t0).map(p => p.arrival)
          result.cliArrivals = {
            min: Math.min(...arrivals),
            median: quantile(arrivals, 0.5),
            max: Math.max(...arrivals),
            gateReleasedMs: gate?.releasedAt() === undefined ? undefined : gate.releasedAt() - run.t0
          }
        } finally {
          await gate?.stop()
        }
      } else {
        const pacing = mode === 'pacing' ? rateLimitInput(options.rate, options.burst) : undefined
        const run = await actionBurst({ action, fix, limiter, n: options.n, maxWaitS, pacing, timeoutMs: stepTimeoutMs })
        const label =
          mode === 'pacing'
            ? `action, pacing "${pacing}", Retry-After ${limiter.retryAfterSeconds} s`
            : `action, backoff, ${limiter.retryAfterSeconds === undefined ? 'no Retry-After' : `Retry-After ${limiter.retryAfterSeconds} s`}`
        result = summarise(label, limiter, options.n, run)
      }
    } finally {
      await limiter.stop()
    }
    results.push({ mode, ...result })
    console.error(
      `${mode}: ${result.served}/${options.n} served, makespan ${s1(result.makespanMs)} s, ${result.posts} POSTs (${result.refused429} x 429) in ${s1(Date.now() - started)} s`
    )
    rows.push([
      result.label,
      `${result.served}/${options.n}`,
      s1(result.makespanMs),
      s1(result.minimumMs),
      r2(result.ratio),
      s1(result.fromFirstPostMs),
      String(result.posts),
      String(result.refused429),
      r2(result.requestsPerJobMean),
      String(result.requestsPerJobMax)
    ])
  }
} finally {
  await keystone.stop()
}

console.log(
  table(
    ['mode', 'jobs with a token', 'makespan s', 'minimum s', 'ratio', 'from 1st POST s', 'login POSTs', '429s', 'req/job mean', 'req/job max'],
    rows
  )
)
console.log(
  "\nmakespan: common start -> last 201 in nginx's log; minimum: (N - burst - 1) x interval; " +
    "from 1st POST: the first POST's arrival at nginx -> last 201 (the start-up delay left out)."
)
if (probe) {
  console.log(
    `Startup probe (${options.n} main steps spawned at once, max-wait 0): their POSTs reached nginx ${s1(probe.min)} s (first), ` +
      `${s1(probe.median)} s (median), ${s1(probe.p90)} s (p90), ${s1(probe.max)} s (last) after the common start.`
  )
}
for (const result of results) {
  if (result.cliArrivals) {
    console.log(
      `${result.mode}: its ${result.posts} POSTs reached nginx ${s1(result.cliArrivals.min)} s (first), ${s1(result.cliArrivals.median)} s (median), ` +
        `${s1(result.cliArrivals.max)} s (last) after the common start` +
        `${result.cliArrivals.gateReleasedMs === undefined ? '' : ` (the gate released them at ${s1(result.cliArrivals.gateReleasedMs)} s)`}.`
    )
  }
  for (const [kind, count] of Object.entries(result.failureKinds)) console.log(`${result.mode}: ${count} x ${kind}`)
}
console.log(
  `Load average at the end: ${loadavg()
    .map(x => x.toFixed(2))
    .join(' ')}`
)
if (options.json) {
  writeFileSync(
    options.json,
    JSON.stringify({ command, machine: info, options: { ...options, maxWaitS }, theoreticalMs: theoretical, probe, results }, null, 2)
  )
  console.log(`JSON: ${options.json}`)
}
