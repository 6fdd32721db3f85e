#!/usr/bin/env node
// node scripts/bench/simulate-burst.mjs [--n 100] [--seeds 200] [--rate 60/min] [--burst 60]
//   [--start-jitter 1000] [--rtt 100] [--max-wait 300] [--grid-seeds 200] [--no-grid]
//   [--bases 1,2,5] [--caps 15,30,60,120] [--json FILE]
//
// A discrete-event SIMULATION of a matrix of N jobs that start together and each log in once
// through a rate limiter: no network, a simulated clock, a seeded PRNG (mulberry32), so a run is
// reproducible and takes seconds. The jobs run the action's REAL policy code: src/net/retry.ts
// (withRetries, backoffDelay, parseRetryAfter, DEFAULT_RETRY_POLICY) and src/net/pacing.ts
// (parseRateLimit, slotDelay) are transpiled on the fly with the project's own TypeScript
// (typescript.transpileModule, types stripped, nothing else changed) into a temp dir and imported,
// then driven with a simulated RetryClock. Nothing is reimplemented: when src/ changes, the
// simulation follows. The only model of main-step.ts is its order: wait for the pacing slot
// (not counted against max-wait), then withRetries around one POST /v3/auth/tokens.
//
// Limiters (each fresh per run):
//   bucket   nginx limit_req semantics (a GCRA / token bucket): rate r (interval T = window/count),
//            burst b with nodelay: b + 1 admitted at once, then one per T; a refused request does
//            not count. Retry-After (when sent) = T rounded up to whole seconds, at least 1, like
//            scripts/front/start.sh --retry-after auto.
//   window   a fixed 60-s window as many API gateways count: at most `count` admissions per
//            window, windows aligned to the gateway's clock (a random phase per seed relative to
//            the matrix start). Retry-After (when sent) = seconds until the window resets.
//
// Jobs: job i (0..N-1, its strategy.job-index) starts at a uniform random offset in
// [0, start-jitter) ms ("100 logins in one second"); a request reaches the limiter rtt/2 after it
// is sent and its answer comes back rtt/2 later; the admitted ones are the tokens.
//
// Measures per run: jobs served (token within max-wait), makespan = from the common start (t=0)
// to the last admission, the theoretical minimum = the makespan of a clairvoyant FIFO that sends
// every job's request exactly when the limiter would admit it (the same arrivals, no 429 at all;
// for simultaneous starts it is scripts/front's minimumMakespanMs(N) = (N - b - 1) * T), requests
// sent per job (1 = no 429). Aggregated over the seeds: median and p90 of makespan / minimum,
// mean and max of requests per job.
//
// Tables: (1) every mode against three limiters at --rate: a bucket with burst 0, a bucket with
// burst --burst (nodelay), a fixed window; (2) unless --no-grid, the backoff constants
// (baseDelayMs x maxDelayMs from --bases x --caps, seconds) for both backoff modes, the rest of
// the policy unchanged; (3) the same modes with jobs that start 0, 1, 5, 20 s apart.

import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '..', '..')

// ---- arguments --------------------------------------------------------------------------------

function parseArgs(argv) {
  const options = {
    n: 100,
    seeds: 200,
    rate: '60/min',
    burst: 60,
    startJitterMs: 1000,
    rttMs: 100,
    maxWaitS: 300,
    grid: true,
    gridSeeds: undefined,
    json: undefined
  }
  const numeric = {
    '--n': 'n',
    '--seeds': 'seeds',
    '--burst': 'burst',
    '--start-jitter': 'startJitterMs',
    '--rtt': 'rttMs',
    '--max-wait': 'maxWaitS',
    '--grid-seeds': 'gridSeeds'
  }
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], undefined]
    const value = () => inline ?? argv[++i] ?? fail(`${name} needs a value`)
    if (name in numeric) {
      const v = Number(value())
      if (!Number.isFinite(v) || v < 0) fail(`${name} must be a non-negative number`)
      options[numeric[name]] = v
    } else if (name === '--rate') options.rate = value()
    else if (name === '--json') options.json = value()
    else if (name === '--bases' || name === '--caps') {
      const list = value().split(',').map(Number)
      if (list.length === 0 || list.some(x => !(x > 0 && x <= 3600))) fail(`${name} takes seconds, e.g. 1,2,5`)
      options[name.slice(2)] = list
    } else if (name === '--no-grid') options.grid = false
    else if (name === '--help' || name === '-h') {
      console.log(
        readFileSync(fileURLToPath(import.meta.url), 'utf8')
          .split('\n')
          .slice(1, 4)
          .join('\n')
      )
      process.exit(0)
    } else fail(`unknown argument ${argv[i]}`)
  }
  if (!Number.isInteger(options.n) || options.n < 1 || options.n > 2000) fail('--n must be an integer 1..2000')
  if (!Number.isInteger(options.seeds) || options.seeds < 1 || options.seeds > 5000) fail('--seeds must be an integer 1..5000')
  options.gridSeeds = Math.min(options.gridSeeds ?? options.seeds, options.seeds)
  return options
}

function fail(message) {
  console.error(`simulate-burst: ${message}`)
  process.exit(2)
}

// ---- the action's own policy code, transpiled from src/ -----------------------------------------

/**
 * Transpiles `entries` (paths under src/) and every relative module they import into a temp dir
 * with the project's TypeScript (types stripped, ES2022 modules), and imports them.
 */
async function loadPolicy(entries) {
  const require = createRequire(join(ROOT, 'package.json'))
  const ts = require('typescript')
  const out = mkdtempSync(join(tmpdir(), 'simulate-burst-'))
  const hash = createHash('sha256')
  const done = new Set()
  const queue = entries.map(entry => resolve(ROOT, entry))
  try {
    while (queue.length > 0) {
      const source = queue.shift()
      if (done.has(source)) continue
      done.add(source)
      const text = readFileSync(source, 'utf8')
      hash.update(relative(ROOT, source)).update('\0').update(text).update('\0')
      const js = ts.transpileModule(text, {
        fileName: source,
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false, isolatedModules: true }
      }).outputText
      const target = join(out, relative(join(ROOT, 'src'), source)).replace(/\.ts$/, '.js')
      mkdirSync(dirname(target), { recursive: true })
      writeFileSync(target, js)
      // What survived transpilation (type-only imports are gone) is what the module needs at run time.
      for (const match of js.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        queue.push(resolve(dirname(source), match[1].replace(/\.js$/, '.ts')))
      }
    }
    const modules = {}
    for (const entry of entries) {
      const target = join(out, relative('src', entry)).replace(/\.ts$/, '.js')
      modules[entry] = await import(pathToFileURL(target).href)
    }
    return { modules, files: [...done].map(file => relative(ROOT, file)), digest: hash.digest('hex').slice(0, 12) }
  } finally {
    // The modules are loaded: the files are no longer needed.
    rmSync(out, { recursive: true, force: true })
  }
}

const { modules, files: policyFiles, digest: policyDigest } = await loadPolicy(['src/net/retry.ts', 'src/net/pacing.ts', 'src/errors.ts'])
const { withRetries, DEFAULT_RETRY_POLICY } = modules['src/net/retry.ts']
const { parseRateLimit, slotDelay } = modules['src/net/pacing.ts']
const { KeystoneError } = modules['src/errors.ts']

// ---- PRNG, heap ---------------------------------------------------------------------------------

/** mulberry32: a small, fast, seedable PRNG, uniform in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Min-heap of events ordered by (time, seq): simultaneous events keep their scheduling order. */
class EventQueue {
  items = []
  seq = 0
  get size() {
    return this.items.length
  }
  push(time, fn) {
    const item = { time, seq: this.seq++, fn }
    const a = this.items
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (less(a[p], item)) break
      a[i] = a[p]
      i = p
    }
    a[i] = item
  }
  pop() {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = l
        if (l >= a.length) break
        if (r < a.length && less(a[r], a[l])) m = r
        if (less(last, a[m])) break
        a[i] = a[m]
        i = m
      }
      a[i] = last
    }
    return top
  }
}
const less = (x, y) => x.time < y.time || (x.time === y.time && x.seq < y.seq)

// ---- limiters -----------------------------------------------------------------------------------

/** nginx limit_req (rate, burst nodelay) as a GCRA: admitted when t >= TAT - burst * T. */
class BucketLimiter {
  constructor({ count, windowMs, burst, retryAfter }) {
    this.interval = windowMs / count
    this.burst = burst
    this.tat = -Infinity
    this.retryAfterSeconds = retryAfter ? Math.max(1, Math.ceil(this.interval / 1000)) : undefined
  }
  earliest(t) {
    return Math.max(t, this.tat - this.burst * this.interval)
  }
  tryAdmit(t) {
    if (t < this.tat - this.burst * this.interval) return false
    this.tat = Math.max(this.tat, t) + this.interval
    return true
  }
  retryAfter() {
    return this.retryAfterSeconds === undefined ? undefined : String(this.retryAfterSeconds)
  }
}

/** At most `count` admissions per fixed window [k W - phase, (k+1) W - phase). */
class WindowLimiter {
  constructor({ count, windowMs, phaseMs, retryAfter }) {
    this.count = count
    this.windowMs = windowMs
    this.phase = phaseMs
    this.used = new Map()
    this.sendRetryAfter = retryAfter
  }
  key(t) {
    return Math.floor((t + this.phase) / this.windowMs)
  }
  earliest(t) {
    for (let guard = 0; guard < 1e6; guard++) {
      const k = this.key(t)
      if ((this.used.get(k) ?? 0) < this.count) return t
      t = (k + 1) * this.windowMs - this.phase
    }
    throw new Error('window limiter: no capacity')
  }
  tryAdmit(t) {
    const k = this.key(t)
    const used = this.used.get(k) ?? 0
    if (used >= this.count) return false
    this.used.set(k, used + 1)
    return true
  }
  retryAfter(t) {
    if (!this.sendRetryAfter) return undefined
    const left = (this.key(t) + 1) * this.windowMs - this.phase - t
    return String(Math.max(1, Math.ceil(left / 1000)))
  }
}

// ---- one simulated matrix -----------------------------------------------------------------------

const flush = () => new Promise(resolvePromise => setImmediate(resolvePromise))

/**
 * @param {{ n: number, seed: number, limiter: { kind: 'bucket'|'window', count: number, windowMs: number, burst: number },
 *           retryAfter: boolean, pacing?: string, policy: object, startJitterMs: number, rttMs: number }} run
 */
async function simulate(run) {
  const rng = mulberry32(run.seed)
  const phaseMs = Math.floor(rng() * run.limiter.windowMs)
  const makeLimiter = retryAfter =>
    run.limiter.kind === 'bucket' ? new BucketLimiter({ ...run.limiter, retryAfter }) : new WindowLimiter({ ...run.limiter, phaseMs, retryAfter })
  const limiter = makeLimiter(run.retryAfter)
  const starts = Array.from({ length: run.n }, () => Math.floor(rng() * run.startJitterMs))
  const half = run.rttMs / 2

  // The clairvoyant minimum: the same arrivals, each admitted as soon as the limiter allows.
  const ideal = makeLimiter(false)
  let minimum = 0
  for (const arrival of starts.map(s => s + half).sort((a, b) => a - b)) {
    const at = ideal.earliest(arrival)
    if (!ideal.tryAdmit(at)) throw new Error('ideal schedule refused')
    minimum = Math.max(minimum, at)
  }

  const events = new EventQueue()
  let now = 0
  const clock = {
    now: () => now,
    sleep: ms => new Promise(resolvePromise => events.push(now + Math.max(0, ms), resolvePromise)),
    random: rng
  }
  const pacingRate = run.pacing ? parseRateLimit(run.pacing, 'simulated rate-limit') : undefined
  const requests = new Array(run.n).fill(0)
  const admittedAt = new Array(run.n).fill(undefined)
  let refused = 0

  const attempt = job => () =>
    new Promise((resolvePromise, reject) => {
      requests[job]++
      events.push(now + half, () => {
        const ok = limiter.tryAdmit(now)
        if (ok) admittedAt[job] = now
        else refused++
        const retryAfter = ok ? undefined : limiter.retryAfter(now)
        events.push(now + half, () => {
          if (ok) resolvePromise()
          else reject(new KeystoneError('Keystone answered HTTP 429 Too Many Requests', { status: 429, retryAfter }))
        })
      })
    })

  const jobs = starts.map(async (start, job) => {
    await clock.sleep(start)
    // main-step.ts: the slot wait first (outside max-wait), then withRetries around the login.
    if (pacingRate) await clock.sleep(slotDelay({ jobIndex: job, jobTotal: run.n, rate: pacingRate }))
    try {
      await withRetries(attempt(job), { policy: run.policy, clock, log: () => {} })
      return true
    } catch (error) {
      if (!(error instanceof KeystoneError)) throw error
      return false
    }
  })
  let settled = false
  const all = Promise.all(jobs).then(result => {
    settled = true
    return result
  })

  // The event loop of the simulated clock: one event at a time, then every promise continuation
  // it caused (a macrotask turn drains the microtasks), so the PRNG is drawn in a fixed order.
  await flush()
  for (let guard = 0; events.size > 0; guard++) {
    if (guard > 5_000_000) throw new Error('simulation did not settle')
    const event = events.pop()
    now = event.time
    event.fn()
    await flush()
  }
  const served = await all
  if (!settled) throw new Error('jobs left waiting with no event queued')
  const admitted = admittedAt.filter(t => t !== undefined)
  return {
    served: served.filter(Boolean).length,
    makespan: admitted.length ? Math.max(...admitted) : NaN,
    minimum,
    requests,
    refused
  }
}

// ---- statistics and tables ----------------------------------------------------------------------

function quantile(values, q) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

async function scenario(base, seeds) {
  const runs = []
  for (let s = 0; s < seeds; s++) runs.push(await simulate({ ...base, seed: 1000 + s }))
  const n = base.n
  const allRequests = runs.flatMap(r => r.requests)
  return {
    servedPct: (100 * runs.reduce((sum, r) => sum + r.served, 0)) / (runs.length * n),
    allServedRuns: runs.filter(r => r.served === n).length,
    makespanMedian: quantile(
      runs.map(r => r.makespan),
      0.5
    ),
    makespanP90: quantile(
      runs.map(r => r.makespan),
      0.9
    ),
    minimumMedian: quantile(
      runs.map(r => r.minimum),
      0.5
    ),
    ratioMedian: quantile(
      runs.map(r => r.makespan / r.minimum),
      0.5
    ),
    ratioP90: quantile(
      runs.map(r => r.makespan / r.minimum),
      0.9
    ),
    excessMedian: quantile(
      runs.map(r => r.makespan - r.minimum),
      0.5
    ),
    excessP90: quantile(
      runs.map(r => r.makespan - r.minimum),
      0.9
    ),
    requestsMean: allRequests.reduce((a, b) => a + b, 0) / allRequests.length,
    requestsMax: Math.max(...allRequests),
    runs: runs.length
  }
}

const s1 = ms => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : 'n/a')
const r2 = x => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')
const pct = x => (x === 100 ? '100' : x.toFixed(2))

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map(row => `| ${row.join(' | ')} |`)].join('\n')
}

// ---- main ---------------------------------------------------------------------------------------

const options = parseArgs(process.argv.slice(2))
const rate = parseRateLimit(options.rate, '--rate')
const policy = { ...DEFAULT_RETRY_POLICY, maxWaitMs: options.maxWaitS * 1000 }
const intervalS = rate.windowMs / rate.count / 1000
const common = { n: options.n, startJitterMs: options.startJitterMs, rttMs: options.rttMs }
const perMin = `${rate.count}/${rate.windowMs === 60_000 ? 'min' : `${rate.windowMs / 1000}s`}`
const margin = `${Math.floor(rate.count * 0.9)}/${rate.windowMs === 60_000 ? 'min' : `${rate.windowMs / 1000}s`}`

const limiters = [
  {
    label: `token bucket ${perMin}, burst 0 (nginx limit_req)`,
    short: 'bucket b=0',
    limiter: { kind: 'bucket', count: rate.count, windowMs: rate.windowMs, burst: 0 }
  },
  {
    label: `token bucket ${perMin}, burst ${options.burst} nodelay`,
    short: `bucket b=${options.burst}`,
    limiter: { kind: 'bucket', count: rate.count, windowMs: rate.windowMs, burst: options.burst }
  },
  {
    label: `fixed window: ${rate.count} per ${rate.windowMs / 1000} s`,
    short: 'fixed window',
    limiter: { kind: 'window', count: rate.count, windowMs: rate.windowMs, burst: 0 }
  }
]

function modesFor(limiter) {
  const modes = [
    { mode: 'backoff, no Retry-After', retryAfter: false },
    { mode: 'backoff, Retry-After', retryAfter: true }
  ]
  if (limiter.kind === 'bucket') {
    const accurate = limiter.burst > 0 ? `${perMin} burst ${limiter.burst}` : perMin
    modes.push({ mode: `pacing "${accurate}" (accurate)`, retryAfter: true, pacing: accurate })
    if (limiter.burst > 0) modes.push({ mode: `pacing "${perMin}" (burst not told)`, retryAfter: true, pacing: perMin })
    else modes.push({ mode: `pacing "${perMin} burst 10" (burst overstated)`, retryAfter: true, pacing: `${perMin} burst 10` })
    modes.push({
      mode: `pacing "${limiter.burst > 0 ? `${margin} burst ${limiter.burst}` : margin}" (10% margin)`,
      retryAfter: true,
      pacing: limiter.burst > 0 ? `${margin} burst ${limiter.burst}` : margin
    })
  } else {
    modes.push({ mode: `pacing "${perMin}"`, retryAfter: true, pacing: perMin })
    modes.push({
      mode: `pacing "${perMin} burst ${rate.count - 1}" (window read as a burst)`,
      retryAfter: true,
      pacing: `${perMin} burst ${rate.count - 1}`
    })
  }
  return modes
}

const started = Date.now()
console.log(`# Burst simulation: ${options.n} jobs, ${options.seeds} seeds\n`)
console.log(
  `Policy code: ${policyFiles.join(', ')} (transpiled from the working tree, sha256 ${policyDigest}); ` +
    `DEFAULT_RETRY_POLICY base ${DEFAULT_RETRY_POLICY.baseDelayMs} ms, cap ${DEFAULT_RETRY_POLICY.rateLimitMaxDelayMs} ms after a 429 (${DEFAULT_RETRY_POLICY.maxDelayMs} ms after an outage); max-wait ${options.maxWaitS} s.`
)
console.log(
  `Jobs start uniformly within ${options.startJitterMs} ms; round trip ${options.rttMs} ms; rate ${rate.text} (interval ${intervalS} s). ` +
    `Minimum = clairvoyant FIFO on the same arrivals (for simultaneous starts: (N - burst - 1) x interval).\n`
)

const results = []
const rows = []
for (const { label, short, limiter } of limiters) {
  for (const mode of modesFor(limiter)) {
    const r = await scenario({ ...common, limiter, retryAfter: mode.retryAfter, pacing: mode.pacing, policy }, options.seeds)
    results.push({ limiter: label, ...mode, ...r })
    rows.push([
      short,
      mode.mode,
      pct(r.servedPct),
      s1(r.minimumMedian),
      s1(r.makespanMedian),
      s1(r.makespanP90),
      r2(r.ratioMedian),
      r2(r.ratioP90),
      s1(r.excessMedian),
      r2(r.requestsMean),
      String(r.requestsMax)
    ])
  }
}
console.log(
  table(
    [
      'limiter',
      'mode',
      'served %',
      'min s (med)',
      'makespan s (med)',
      'makespan s (p90)',
      'ratio med',
      'ratio p90',
      'excess s (med)',
      'req/job mean',
      'req/job max'
    ],
    rows
  )
)
console.log(
  `\nLimiters: ${limiters.map(l => l.label).join('; ')}. Retry-After: bucket ${Math.max(1, Math.ceil(intervalS))} s (interval rounded up), window: seconds until it resets. ` +
    'ratio = makespan / minimum per seed; excess = makespan - minimum.'
)

const grid = []
if (options.grid) {
  console.log(`\n## Backoff constants (${options.gridSeeds} seeds each; * = the current default)\n`)
  const gridRows = []
  for (const baseDelayMs of options.bases.map(x => x * 1000)) {
    for (const maxDelayMs of options.caps.map(x => x * 1000)) {
      // Every refusal here is a 429: the grid's cap is the rate-limit cap.
      const candidate = { ...policy, baseDelayMs, rateLimitMaxDelayMs: maxDelayMs }
      const isDefault = baseDelayMs === DEFAULT_RETRY_POLICY.baseDelayMs && maxDelayMs === DEFAULT_RETRY_POLICY.rateLimitMaxDelayMs
      for (const { short, limiter } of limiters) {
        for (const retryAfter of [false, true]) {
          const r = await scenario({ ...common, limiter, retryAfter, policy: candidate }, options.gridSeeds)
          grid.push({ baseDelayMs, maxDelayMs, limiter: short, retryAfter, ...r })
        }
      }
      const cells = grid.filter(g => g.baseDelayMs === baseDelayMs && g.maxDelayMs === maxDelayMs)
      gridRows.push([
        `${baseDelayMs / 1000} s${isDefault ? ' *' : ''}`,
        `${maxDelayMs / 1000} s`,
        ...cells.map(g => `${g.servedPct === 100 ? '' : `${pct(g.servedPct)}% `}${r2(g.ratioMedian)}/${r2(g.ratioP90)} · ${r2(g.requestsMean)}`)
      ])
    }
  }
  const columns = limiters.flatMap(l => [`${l.short}, no RA`, `${l.short}, RA`])
  console.log(table(['base', 'cap', ...columns], gridRows))
  console.log('\nCell: ratio median/p90 (makespan / minimum) · requests per job (mean); a served % is shown when below 100.')
}

const sensitivity = []
if (options.grid) {
  console.log(`\n## Start jitter (${options.gridSeeds} seeds each): how far apart the jobs start\n`)
  const jitters = [0, 1000, 5000, 20_000]
  const sensitivityRows = []
  for (const { short, limiter } of limiters.filter(l => l.limiter.kind === 'bucket')) {
    for (const mode of modesFor(limiter).slice(1, 3)) {
      const cells = []
      for (const startJitterMs of jitters) {
        const r = await scenario({ ...common, startJitterMs, limiter, retryAfter: mode.retryAfter, pacing: mode.pacing, policy }, options.gridSeeds)
        sensitivity.push({ limiter: short, mode: mode.mode, startJitterMs, ...r })
        cells.push(`${r.servedPct === 100 ? '' : `${pct(r.servedPct)}% `}${r2(r.ratioMedian)}/${r2(r.ratioP90)} · ${r2(r.requestsMean)}`)
      }
      sensitivityRows.push([short, mode.mode, ...cells])
    }
  }
  console.log(table(['limiter', 'mode', ...jitters.map(j => `starts within ${j / 1000} s`)], sensitivityRows))
  console.log('\nCell: ratio median/p90 · requests per job (mean); the minimum is the clairvoyant FIFO on the same arrivals.')
}

console.log(
  `\n${options.seeds} seeds x ${results.length} modes${options.grid ? ` + ${grid.length + sensitivity.length} x ${options.gridSeeds} grid runs` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
    `(node ${process.version}, ${cpus().length} cores). Command: node scripts/bench/simulate-burst.mjs ${process.argv.slice(2).join(' ')}`.trimEnd()
)
if (options.json) {
  writeFileSync(options.json, JSON.stringify({ options, policyFiles, policyDigest, results, grid, sensitivity }, null, 2))
  console.log(`JSON: ${options.json}`)
}
