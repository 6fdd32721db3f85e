// Shared helpers of scripts/bench/bench.mjs and scripts/bench/breakdown.mjs: statistics, process
// timing the way the runner emulator does it, the local Keystone with the fixture credentials, the
// machine description, and a round-robin scheduler. Loopback traffic only; every loop is bounded.

import { spawn, execFileSync } from 'node:child_process'
import { cpSync, readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { cpus } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
export const ROOT = resolve(BENCH_DIR, '..', '..')

// ---- arguments --------------------------------------------------------------------------------

/** `--runs N` (default `fallback`, bounded to 1..500) and the flags given, e.g. `--profile`. */
export function parseArgs(argv, fallback) {
  const args = { runs: fallback, flags: new Set(), values: {} }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (name === '--runs' || name === '--out' || name === '--baseline') {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
      if (value === undefined) throw new Error(`${name} needs a value`)
      args.values[name.slice(2)] = value
    } else if (arg.startsWith('--')) {
      args.flags.add(arg.slice(2))
    } else {
      throw new Error(`unexpected argument ${arg}`)
    }
  }
  if (args.values.runs !== undefined) {
    const n = Number(args.values.runs)
    if (!Number.isInteger(n) || n < 1 || n > 500) throw new Error(`--runs must be an integer 1..500, got ${args.values.runs}`)
    args.runs = n
  }
  return args
}

// ---- statistics -------------------------------------------------------------------------------

/** Linear-interpolated quantile of sorted numbers. */
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

/** median, p10, p90, min, max of a list of milliseconds. */
export function stats(samples) {
  const sorted = [...samples].filter(Number.isFinite).sort((a, b) => a - b)
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    p10: quantile(sorted, 0.1),
    p90: quantile(sorted, 0.9),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN
  }
}

export const ms = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a')
export const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a')

// ---- processes --------------------------------------------------------------------------------

/**
 * Runs a command the way scripts/emulator/runner.mjs runs a step (own process group, stdin ignored,
 * stdout/stderr piped) and times it with performance.now() from just before spawn() to 'close'.
 * The runner emulator's StepResult.durationMs is the same span (Date.now() before spawn → 'close').
 */
export function timeProcess(command, args, { env, cwd = ROOT, timeoutMs = 60_000 } = {}) {
  return new Promise(resolvePromise => {
    const stdout = []
    const stderr = []
    const spawnEpoch = performance.timeOrigin + performance.now()
    const started = performance.now()
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        /* gone */
      }
    }, timeoutMs)
    child.stdout.on('data', chunk => stdout.push(chunk))
    child.stderr.on('data', chunk => stderr.push(chunk))
    let exitAt = NaN
    child.on('exit', () => {
      exitAt = performance.now()
    })
    child.on('error', error => {
      clearTimeout(timer)
      resolvePromise({ ms: NaN, code: null, stdout: '', stderr: String(error), spawnEpoch, exitMs: NaN })
    })
    child.on('close', code => {
      const elapsed = performance.now() - started
      clearTimeout(timer)
      resolvePromise({
        ms: elapsed,
        exitMs: exitAt - started,
        code,
        spawnEpoch,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8')
      })
    })
  })
}

/** A minimal environment for commands that are not action steps (no OS_* of the developer). */
export function baseEnv(extra = {}) {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', ...extra }
}

// ---- round robin ------------------------------------------------------------------------------

/**
 * Runs `rounds` rounds; in each, every task once. A task is { name, run(round) → Promise<number> },
 * its result in ms (NaN when that run failed). Tasks are grouped in phases (e.g. issue, then revoke
 * what was issued in the same round); the order inside each phase is rotated by one every round,
 * so no command always follows the same neighbour and slow drift (other engineers' load, Keystone's
 * growing revocation list) hits every command alike. `warmup` extra rounds first are not counted.
 */
export async function roundRobin(phases, { rounds, warmup = 1, onRound } = {}) {
  /** @type {Record<string, number[]>} */
  const samples = {}
  /** @type {Record<string, number>} */
  const failures = {}
  for (const phase of phases)
    for (const task of phase) {
      samples[task.name] = []
      failures[task.name] = 0
    }
  for (let round = -warmup; round < rounds; round++) {
    for (const phase of phases) {
      const offset = ((round % phase.length) + phase.length) % phase.length
      const ordered = [...phase.slice(offset), ...phase.slice(0, offset)]
      for (const task of ordered) {
        let value = NaN
        try {
          value = await task.run(round)
        } catch (error) {
          if (round >= 0 || warmup === 0) console.error(`  ${task.name}: ${error.message.split('\n')[0]}`)
        }
        if (round < 0) continue
        if (Number.isFinite(value)) samples[task.name].push(value)
        else failures[task.name]++
      }
    }
    if (round >= 0 && onRound) onRound(round)
  }
  return { samples, failures }
}

// ---- the local Keystone -----------------------------------------------------------------------

/** The fixture login the brief asks for: user2 in dom2, password, project proj2 (in dom2). */
export function fixtureLogin(keystone) {
  const fix = keystone.fixtures
  return {
    authUrl: keystone.authUrl,
    user: fix.FIX_USER2_NAME,
    password: fix.FIX_USER2_PASSWORD,
    domain: fix.FIX_DOM2_NAME,
    project: fix.FIX_PROJ2_NAME,
    // The body src/login/auth-request.ts + src/login/password.ts build for these inputs.
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: fix.FIX_USER2_NAME, domain: { name: fix.FIX_DOM2_NAME }, password: fix.FIX_USER2_PASSWORD } }
        },
        scope: { project: { name: fix.FIX_PROJ2_NAME, domain: { name: fix.FIX_DOM2_NAME } } }
      }
    })
  }
}

/** The action's `with:` for that login. */
export function actionInputs(login) {
  return {
    'auth-url': login.authUrl,
    username: login.user,
    password: login.password,
    'user-domain-name': login.domain,
    'project-name': login.project,
    'project-domain-name': login.domain
  }
}

/** The OS_* variables the openstack CLI reads for the same login. */
export function cliEnv(login) {
  return baseEnv({
    OS_AUTH_URL: login.authUrl,
    OS_AUTH_TYPE: 'password',
    OS_IDENTITY_API_VERSION: '3',
    OS_USERNAME: login.user,
    OS_PASSWORD: login.password,
    OS_USER_DOMAIN_NAME: login.domain,
    OS_PROJECT_NAME: login.project,
    OS_PROJECT_DOMAIN_NAME: login.domain,
    OS_INTERFACE: 'public'
  })
}

/** X-Subject-Token out of a `curl -D -` header dump. */
function subjectToken(headers) {
  const match = /^x-subject-token:\s*(\S+)\s*$/im.exec(headers)
  return match ? match[1] : undefined
}

/**
 * The curl floor of the main step: one POST of the action's login body, ?nocatalog, as the action
 * sends it. Returns the time and the token issued (undefined when curl or Keystone failed).
 */
export async function curlLogin(login) {
  const r = await timeProcess(
    'curl',
    [
      '-sS',
      '-o',
      '/dev/null',
      '-D',
      '-',
      '-X',
      'POST',
      '-H',
      'Content-Type: application/json',
      '-H',
      'Accept: application/json',
      '--data-binary',
      login.body,
      `${login.authUrl}/auth/tokens?nocatalog`
    ],
    { env: baseEnv() }
  )
  return { ms: r.ms, token: r.code === 0 ? subjectToken(r.stdout) : undefined, output: r.stdout + r.stderr }
}

/** The curl floor of the post step: one DELETE of a token, with itself as the credential. */
export async function curlRevoke(login, token) {
  const r = await timeProcess(
    'curl',
    [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'DELETE',
      '-H',
      `X-Auth-Token: ${token}`,
      '-H',
      `X-Subject-Token: ${token}`,
      `${login.authUrl}/auth/tokens`
    ],
    { env: baseEnv() }
  )
  return { ms: r.ms, status: r.stdout.trim(), output: r.stdout + r.stderr }
}

// ---- an action definition for floor scripts ---------------------------------------------------

/**
 * A loaded action definition (as scripts/emulator/runner.mjs's loadAction returns) whose main/post
 * are arbitrary files, so floor scripts and candidate bundles run through exactly the same runStep
 * path (same env, same file commands, same spawn) as the real action.
 */
export function fakeAction(dir, main, post = main, inputs = {}) {
  return {
    dir,
    file: join(dir, 'action.yml'),
    name: 'bench',
    description: 'bench',
    inputs,
    outputs: {},
    runs: { using: 'node24', main, post, postIf: 'always()' }
  }
}

/**
 * Copies dist/ (the bundles and their package.json) into `tmp`: other people rebuild dist/ while the
 * bench runs, and every run must time the same bytes. Returns the copy's paths and a short sha256.
 */
export function snapshotDist(tmp) {
  cpSync(join(ROOT, 'dist'), join(tmp, 'dist'), { recursive: true })
  const main = join(tmp, 'dist', 'main', 'index.js')
  const post = join(tmp, 'dist', 'post', 'index.js')
  const sha = file => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12)
  return { dir: tmp, main, post, sha: { main: sha(main), post: sha(post) } }
}

// ---- the machine ------------------------------------------------------------------------------

function tryRun(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).trim()
  } catch {
    return ''
  }
}

export function machineInfo() {
  let cpuModel = cpus()[0]?.model ?? 'unknown'
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find(l => l.startsWith('model name'))
    if (line) cpuModel = line.split(':').slice(1).join(':').trim()
  } catch {
    /* not Linux */
  }
  const keystone = tryRun('/usr/bin/python3', ['-c', 'import importlib.metadata as m; print(m.version("keystone"))'])
  const keystonePkg = tryRun('dpkg-query', ['-W', '-f', '${Version}', 'python3-keystone'])
  const cli = tryRun('/usr/bin/openstack', ['--version']).replace(/^openstack\s*/, '')
  const cliPkg = tryRun('dpkg-query', ['-W', '-f', '${Version}', 'python3-openstackclient'])
  const curl = tryRun('curl', ['--version']).split('\n')[0].split(' ').slice(0, 2).join(' ')
  const python = tryRun('/usr/bin/python3', ['--version'])
  const load = (() => {
    try {
      return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
    } catch {
      return ''
    }
  })()
  return {
    cpu: cpuModel,
    cores: cpus().length,
    node: process.version,
    keystone: keystone ? `${keystone} (Debian python3-keystone ${keystonePkg}, gunicorn 1 worker 1 thread, bcrypt rounds 4, fernet)` : 'unknown',
    cli: cli ? `openstack ${cli} (Debian python3-openstackclient ${cliPkg}, ${python})` : 'not found',
    curl,
    kernel: tryRun('uname', ['-sr']),
    load
  }
}

export function printMachine(info) {
  console.log(`- CPU: ${info.cpu}, ${info.cores} cores (shared: other work runs on this machine too; load average at start ${info.load})`)
  console.log(`- Node: ${info.node} (GitHub runs the action on node24; this machine has node20)`)
  console.log(`- Keystone: ${info.keystone}, on 127.0.0.1`)
  console.log(`- CLI: ${info.cli}`)
  console.log(`- ${info.curl}; ${info.kernel}`)
}

/** The command line that produced this output, for the report. */
export function commandLine() {
  const script = process.argv[1] ? process.argv[1].replace(`${ROOT}/`, '') : ''
  return ['node', script, ...process.argv.slice(2)].join(' ')
}
