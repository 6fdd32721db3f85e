#!/usr/bin/env node
// `npm run bench` (node scripts/bench/bench.mjs [--runs N] [--baseline REV] [--install-cost] [--out FILE.json]):
// the action's speed, side by side with its floor and with the openstack CLI, against the project's
// local Keystone (scripts/keystone, 127.0.0.1 only), in ONE run.
//
// What is timed (every command runs N times, default 20, after one warm-up round that is not
// counted; the commands ALTERNATE round-robin, the order rotated every round, so drift from other
// work on this shared machine hits all of them alike):
//   action main      dist/main/index.js run by scripts/emulator/runner.mjs runStep (stage main; dist/ is
//                    copied to a temp dir first, so that a rebuild by someone else mid-run changes nothing),
//                    inputs: the fixture login (user2 in dom2, password, project proj2 in dom2)
//   action post      dist/post/index.js by runStep (stage post) with the state that main saved
//   node+POST        scripts/bench/floor-request.mjs through the same runStep: Node + one node:http
//                    POST ?nocatalog with the action's body (+ one appendFileSync of the token)
//   node+DELETE      the same script as a post step: Node + one node:http DELETE
//   node -e ''       Node's own start and exit, nothing loaded
//   node empty.mjs   scripts/bench/floor-empty.mjs through runStep: Node + ESM loader + runner plumbing
//   curl POST        one curl POST {auth-url}/auth/tokens?nocatalog, same body and headers
//   curl DELETE      one curl DELETE /auth/tokens of the token curl got
//   CLI issue        /usr/bin/openstack token issue -f value -c id (same login, OS_* variables)
//   CLI revoke       /usr/bin/openstack token revoke <the token the CLI issued>
//   main, no input   dist/main/index.js by runStep with no inputs and no OS_*: fails at configuration,
//                    before any request = the bundle's cold start (Node + module load + config)
//   post, no state   dist/post/index.js by runStep with no state: "No token to revoke", no request
//
// Timing: the steps run through runStep are timed with StepResult.durationMs (the emulator's own
// Date.now() from just before spawn() to the child's 'close', so 1 ms resolution); the other commands
// with performance.now() around the same kind of spawn (own process group, stdout/stderr piped),
// see lib.mjs timeProcess. Floors: "node -e '' + curl" is the sum of the two medians (the brief's
// floor: Node start + one request); "node+POST" is the same work in one Node process, started the
// way the runner starts the action, which is the fairer floor for a JavaScript action.
//
// --install-cost also downloads (into a temp dir, removed afterwards) the Debian packages the CLI
// needs beyond python3 and times download, unpack (dpkg-deb -x) and byte-compilation; nothing is
// installed or removed on this machine. Without it only the sizes are reported (dpkg/apt-cache).
// --install-cost-only: that part alone, no Keystone, no timing runs.
//
// Where the main step's time goes and what to cut: scripts/bench/breakdown.mjs.

import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { loadAction, runStep } from '../emulator/runner.mjs'
import { startKeystone } from '../keystone/keystone.mjs'
import {
  BENCH_DIR,
  ROOT,
  actionInputs,
  baseEnv,
  cliEnv,
  curlLogin,
  curlRevoke,
  commandLine,
  fakeAction,
  fixtureLogin,
  machineInfo,
  ms,
  parseArgs,
  printMachine,
  ratio,
  roundRobin,
  snapshotDist,
  stats,
  timeProcess
} from './lib.mjs'

/** What a chunk of dist/ holds, told by what only that package contains, and when the step loads it. */
function chunkRole(text, entry) {
  if (text.includes('ghadelimiter_')) {
    return {
      holds: '@actions/core',
      loaded: entry === 'main' ? 'main step, while its first request is in flight (src/runtime/lazy-core.ts)' : 'never (the post step only logs)'
    }
  }
  if (text.includes('ProxyAgent')) return { holds: '@actions/http-client, undici, tunnel', loaded: 'with @actions/core; or when a proxy applies' }
  if (text.includes('YAMLParseError')) return { holds: 'yaml', loaded: 'only for a clouds.yaml' }
  if (text.includes('parseCloudsYaml')) return { holds: 'src/credential-files/clouds-yaml.ts', loaded: 'only for a clouds.yaml' }
  return { holds: '?', loaded: '?' }
}

const args = parseArgs(process.argv.slice(2), 20)
const RUNS = args.runs
if (args.flags.has('install-cost-only')) {
  await reportInstallCost(true)
  process.exit(0)
}

const info = machineInfo()
// dist/ is copied once, so that every run times the same bytes while others rebuild dist/; the copy
// runs through runStep with the inputs (and their defaults) of the project's action.yml.
const snapDir = mkdtempSync(join(tmpdir(), 'openstack-token-bench-dist-'))
const snap = snapshotDist(snapDir)
const action = fakeAction(snapDir, 'dist/main/index.js', 'dist/post/index.js', loadAction(ROOT).inputs)
const floor = fakeAction(BENCH_DIR, 'floor-request.mjs')
// --baseline REV: the dist/ committed at REV (a tag, a commit), timed in the same rounds, so that a
// change can show it is no slower than what it replaces (ratios of one run, not numbers of two).
const baselineRev = args.values.baseline
const baselineDir = baselineRev ? mkdtempSync(join(tmpdir(), 'openstack-token-bench-baseline-')) : undefined
if (baselineRev && baselineDir) {
  execFileSync('sh', ['-c', `git -C "$0" archive "$1" dist | tar -x -C "$2"`, ROOT, baselineRev, baselineDir])
}
const baseline = baselineDir ? fakeAction(baselineDir, 'dist/main/index.js', 'dist/post/index.js', loadAction(ROOT).inputs) : undefined
const empty = fakeAction(BENCH_DIR, 'floor-empty.mjs')

console.error(`Starting the local Keystone (scripts/keystone)…`)
const keystone = await startKeystone()
let stopping = false
const stop = async () => {
  if (!stopping) {
    stopping = true
    await keystone.stop().catch(() => {})
  }
}
process.on('SIGINT', () => {
  stop().finally(() => process.exit(130))
})

try {
  const login = fixtureLogin(keystone)
  const inputs = actionInputs(login)
  const osEnv = cliEnv(login)
  const floorEnv = { BENCH_URL: login.authUrl, BENCH_BODY: login.body }

  // Tokens issued in the current round, revoked by the matching command in the same round.
  const issued = { main: undefined, baseline: undefined, floor: undefined, curl: undefined, cli: undefined }

  const stepMs = (step, ok) => (ok ? step.durationMs : NaN)
  const failed = (what, detail) => {
    throw new Error(`${what}: ${String(detail).trim().split('\n').slice(-3).join(' | ')}`)
  }

  const issuePhase = [
    {
      name: 'action main',
      run: async () => {
        const step = await runStep({ action, stage: 'main', inputs, secrets: [login.password] })
        issued.main = step.status === 'success' ? step.state : undefined
        if (!step.state.token) failed('action main', [...step.stdout, ...step.stderr].join('\n'))
        return stepMs(step, step.status === 'success')
      }
    },
    ...(baseline
      ? [
          {
            name: 'baseline main',
            run: async () => {
              const step = await runStep({ action: baseline, stage: 'main', inputs, secrets: [login.password] })
              issued.baseline = step.status === 'success' ? step.state : undefined
              if (!step.state.token) failed('baseline main', [...step.stdout, ...step.stderr].join('\n'))
              return stepMs(step, step.status === 'success')
            }
          }
        ]
      : []),
    {
      name: 'node+POST',
      run: async () => {
        const step = await runStep({ action: floor, stage: 'main', env: floorEnv })
        issued.floor = step.state.token
        if (!step.state.token) failed('node+POST', step.stderr.join('\n'))
        return stepMs(step, step.status === 'success')
      }
    },
    {
      name: "node -e ''",
      run: async () => {
        const r = await timeProcess(process.execPath, ['-e', ''], { env: baseEnv() })
        return r.code === 0 ? r.ms : NaN
      }
    },
    {
      name: 'node empty.mjs',
      run: async () => {
        const step = await runStep({ action: empty, stage: 'main' })
        return stepMs(step, step.status === 'success')
      }
    },
    {
      name: 'curl POST',
      run: async () => {
        const r = await curlLogin(login)
        issued.curl = r.token
        if (!issued.curl) failed('curl POST', r.output)
        return r.ms
      }
    },
    {
      name: 'CLI issue',
      run: async () => {
        const r = await timeProcess('/usr/bin/openstack', ['token', 'issue', '-f', 'value', '-c', 'id'], { env: osEnv })
        issued.cli = r.code === 0 ? r.stdout.trim() : undefined
        if (!issued.cli) failed('CLI issue', r.stderr)
        return r.ms
      }
    },
    {
      name: 'main, no input',
      run: async () => {
        const step = await runStep({ action, stage: 'main' })
        // Must fail at configuration (no auth-url), having sent nothing.
        const configError = step.exitCode === 1 && step.commands.some(c => c.name === 'error')
        return stepMs(step, configError)
      }
    },
    {
      name: 'post, no state',
      run: async () => {
        const step = await runStep({ action, stage: 'post' })
        return stepMs(step, step.status === 'success' && step.stdout.some(l => /No token to revoke/.test(l)))
      }
    }
  ]
  const revokePhase = [
    {
      name: 'action post',
      run: async () => {
        if (!issued.main) failed('action post', 'no token from main')
        const step = await runStep({ action, stage: 'post', inputs, state: issued.main, secrets: [login.password] })
        issued.main = undefined
        const ok = step.status === 'success' && step.stdout.some(l => /Token revoked\./.test(l))
        if (!ok) failed('action post', [...step.stdout, ...step.stderr].join('\n'))
        return step.durationMs
      }
    },
    ...(baseline
      ? [
          {
            name: 'baseline post',
            run: async () => {
              if (!issued.baseline) failed('baseline post', 'no token from baseline main')
              const step = await runStep({ action: baseline, stage: 'post', inputs, state: issued.baseline, secrets: [login.password] })
              issued.baseline = undefined
              const ok = step.status === 'success' && step.stdout.some(l => /Token revoked\./.test(l))
              if (!ok) failed('baseline post', [...step.stdout, ...step.stderr].join('\n'))
              return step.durationMs
            }
          }
        ]
      : []),
    {
      name: 'node+DELETE',
      run: async () => {
        if (!issued.floor) failed('node+DELETE', 'no token')
        const step = await runStep({ action: floor, stage: 'post', env: floorEnv, state: { token: issued.floor } })
        issued.floor = undefined
        return stepMs(step, step.status === 'success')
      }
    },
    {
      name: 'curl DELETE',
      run: async () => {
        if (!issued.curl) failed('curl DELETE', 'no token')
        const r = await curlRevoke(login, issued.curl)
        issued.curl = undefined
        if (r.status !== '204') failed('curl DELETE', `HTTP ${r.output}`)
        return r.ms
      }
    },
    {
      name: 'CLI revoke',
      run: async () => {
        if (!issued.cli) failed('CLI revoke', 'no token')
        const r = await timeProcess('/usr/bin/openstack', ['token', 'revoke', issued.cli], { env: osEnv })
        issued.cli = undefined
        if (r.code !== 0) failed('CLI revoke', r.stderr)
        return r.ms
      }
    }
  ]

  console.error(`Running ${RUNS} rounds (+1 warm-up) of ${issuePhase.length + revokePhase.length} commands, alternating…`)
  const started = Date.now()
  const { samples, failures } = await roundRobin([issuePhase, revokePhase], {
    rounds: RUNS,
    onRound: round => {
      if ((round + 1) % 5 === 0 || round + 1 === RUNS) console.error(`  round ${round + 1}/${RUNS} (${((Date.now() - started) / 1000).toFixed(0)} s)`)
    }
  })
  const s = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, stats(values)]))

  // ---- report ---------------------------------------------------------------------------------
  const rows = [
    [
      'action main',
      'dist/main/index.js via runner emulator (durationMs): 1 POST (with the catalog: later steps need OS_STORAGE_URL), outputs, env, state'
    ],
    ['action post', 'dist/post/index.js via runner emulator (durationMs): 1 DELETE'],
    ...(baseline
      ? [
          ['baseline main', `dist/main/index.js as committed at ${baselineRev}, same inputs`],
          ['baseline post', `dist/post/index.js as committed at ${baselineRev}`]
        ]
      : []),
    ['node+POST', 'floor: Node + 1 node:http POST ?nocatalog, via runner emulator (durationMs)'],
    ['node+DELETE', 'floor: Node + 1 node:http DELETE, via runner emulator (durationMs)'],
    ["node -e ''", 'floor: Node start and exit'],
    ['node empty.mjs', 'floor: Node + empty ESM file, via runner emulator (durationMs)'],
    ['curl POST', 'floor: 1 curl POST ?nocatalog, same body'],
    ['curl DELETE', 'floor: 1 curl DELETE'],
    ['CLI issue', '`openstack token issue` (same login)'],
    ['CLI revoke', '`openstack token revoke <token>`'],
    ['main, no input', 'dist/main/index.js, no inputs: fails at config, no request (cold start)'],
    ['post, no state', 'dist/post/index.js, no state: nothing to revoke, no request (cold start)']
  ]
  const fmt = name => {
    const x = s[name]
    const fail = failures[name] ? ` (${failures[name]} failed)` : ''
    return `${ms(x.median)} | ${ms(x.p10)}–${ms(x.p90)} | ${ms(x.min)}–${ms(x.max)} | ${x.n}${fail}`
  }

  const floorMainSum = s["node -e ''"].median + s['curl POST'].median
  const floorPostSum = s["node -e ''"].median + s['curl DELETE'].median
  const verdict = (value, target, atMost) => (Number.isFinite(value) ? ((atMost ? value <= target : value >= target) ? 'met' : 'not met') : 'n/a')
  const q = (a, b) => a / b

  console.log(`\n## openstack-token speed, side by side\n`)
  console.log(`Command: \`${commandLine()}\` (${RUNS} runs each, alternating round-robin, 1 warm-up round not counted).\n`)
  printMachine(info)
  console.log(
    `- Bundles timed: dist/ as it was when the run started (main sha256 ${snap.sha.main}…, post ${snap.sha.post}…), copied aside so that rebuilds during the run do not mix in.`
  )
  console.log('')
  console.log('| Command | What | Median ms | p10–p90 ms | min–max ms | Runs |')
  console.log('| --- | --- | ---: | ---: | ---: | ---: |')
  for (const [name, what] of rows) console.log(`| ${name} | ${what} | ${fmt(name)} |`)
  console.log('')
  console.log('| Ratio (medians) | Value | Goal | |')
  console.log('| --- | ---: | --- | --- |')
  const r1 = q(s['action main'].median, floorMainSum)
  const r2 = q(s['action main'].median, s['node+POST'].median)
  const r3 = q(s['action post'].median, floorPostSum)
  const r4 = q(s['action post'].median, s['node+DELETE'].median)
  const r5 = q(s['CLI issue'].median, s['action main'].median)
  console.log(
    `| action main / (node -e '' + curl POST) = ${ms(s['action main'].median)} / ${ms(floorMainSum)} | ${ratio(s['action main'].median, floorMainSum)} | ≤ 1.3x | ${verdict(r1, 1.3, true)} |`
  )
  console.log(
    `| action main / node+POST = ${ms(s['action main'].median)} / ${ms(s['node+POST'].median)} | ${ratio(s['action main'].median, s['node+POST'].median)} | ≤ 1.3x | ${verdict(r2, 1.3, true)} |`
  )
  console.log(
    `| action post / (node -e '' + curl DELETE) = ${ms(s['action post'].median)} / ${ms(floorPostSum)} | ${ratio(s['action post'].median, floorPostSum)} | ≤ 1.3x | ${verdict(r3, 1.3, true)} |`
  )
  console.log(
    `| action post / node+DELETE = ${ms(s['action post'].median)} / ${ms(s['node+DELETE'].median)} | ${ratio(s['action post'].median, s['node+DELETE'].median)} | ≤ 1.3x | ${verdict(r4, 1.3, true)} |`
  )
  if (baseline) {
    for (const step of ['main', 'post']) {
      const now = s[`action ${step}`].median
      const then = s[`baseline ${step}`].median
      console.log(
        `| action ${step} / baseline ${step} (${baselineRev}) = ${ms(now)} / ${ms(then)} | ${ratio(now, then)} | (no slower: ≤ 1.05x) | ${verdict(now / then, 1.05, true)} |`
      )
    }
  }
  console.log(
    `| CLI issue / action main = ${ms(s['CLI issue'].median)} / ${ms(s['action main'].median)} | ${ratio(s['CLI issue'].median, s['action main'].median)} | ≥ 5x | ${verdict(r5, 5, false)} |`
  )
  console.log(
    `| CLI revoke / action post = ${ms(s['CLI revoke'].median)} / ${ms(s['action post'].median)} | ${ratio(s['CLI revoke'].median, s['action post'].median)} | (info) | |`
  )
  console.log(
    `| (action main + post) / (CLI issue + revoke) | ${ratio(s['action main'].median + s['action post'].median, s['CLI issue'].median + s['CLI revoke'].median)} | (info) | |`
  )

  // Bundles: size, and cold start = the no-input runs above, against the two Node floors.
  console.log('')
  console.log("| dist/ entry | Bytes | gzip bytes | Cold start median ms (p10–p90) | − node empty.mjs | − node -e '' |")
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const [entry, row, file] of [
    ['dist/main/index.js', 'main, no input', snap.main],
    ['dist/post/index.js', 'post, no state', snap.post]
  ]) {
    const bytes = readFileSync(file)
    const x = s[row]
    console.log(
      `| ${entry} | ${bytes.length} | ${gzipSync(bytes).length} | ${ms(x.median)} (${ms(x.p10)}–${ms(x.p90)}) | +${ms(x.median - s['node empty.mjs'].median)} | +${ms(x.median - s["node -e ''"].median)} |`
    )
  }
  // The chunks each entry loads on demand (webpack splits at every dynamic import()).
  console.log('')
  console.log('| dist/ chunk | Bytes | gzip bytes | Holds | Loaded |')
  console.log('| --- | ---: | ---: | --- | --- |')
  for (const entry of ['main', 'post']) {
    const dir = join(snapDir, 'dist', entry)
    for (const file of readdirSync(dir).filter(name => /^\d+\.index\.js$/.test(name))) {
      const bytes = readFileSync(join(dir, file))
      const { holds, loaded } = chunkRole(bytes.toString('utf8'), entry)
      console.log(`| dist/${entry}/${file} | ${bytes.length} | ${gzipSync(bytes).length} | ${holds} | ${loaded} |`)
    }
  }
  console.log(
    `\nCold start method: the bundle run by the runner emulator with no inputs and no OS_* (main fails at\n` +
      `configuration, post finds no state): Node start + module load + config + one ::error:: or one log line, no request.\n` +
      `"− node empty.mjs" is what the bundle adds over an empty ESM file run the same way (load + config + output).`
  )

  if (args.values.out) {
    writeFileSync(args.values.out, JSON.stringify({ command: commandLine(), machine: info, runs: RUNS, samples, failures, stats: s }, null, 2))
    console.error(`Raw samples written to ${args.values.out}`)
  }

  await reportInstallCost(args.flags.has('install-cost'))
} finally {
  await stop()
  rmSync(snapDir, { recursive: true, force: true })
  if (baselineDir) rmSync(baselineDir, { recursive: true, force: true })
}

// ---- what a fresh runner pays before the CLI's first call -----------------------------------------

function sh(command, argv, options = {}) {
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, timeout: 600_000, ...options })
}

/**
 * The packages `apt-get install --no-install-recommends` would install on a machine that has none
 * (a simulation, -s, against an empty dpkg status file in a temp dir: nothing is installed/removed).
 */
function simulateInstall(emptyStatus, pkgs) {
  const out = sh('apt-get', ['-s', '-o', `Dir::State::status=${emptyStatus}`, 'install', '--no-install-recommends', ...pkgs])
  return new Set(
    out
      .split('\n')
      .filter(l => l.startsWith('Inst '))
      .map(l => l.split(' ')[1])
  )
}

async function reportInstallCost(measure) {
  console.log("\n### What a fresh runner pays before the CLI's first call\n")
  const dir = mkdtempSync(join(tmpdir(), 'bench-apt-'))
  try {
    const emptyStatus = join(dir, 'status')
    writeFileSync(emptyStatus, '')
    // The base a runner certainly has: python3 and Debian's required/important packages (those of
    // this machine); what python3-openstackclient needs beyond that is what a runner must install.
    const base = sh('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}|${Priority}|${Package}\\n'])
      .split('\n')
      .map(l => l.split('|'))
      .filter(([st, prio]) => st?.startsWith('ii') && (prio === 'required' || prio === 'important'))
      .map(([, , p]) => p)
    const baseSet = simulateInstall(emptyStatus, ['python3', ...base])
    const withCli = simulateInstall(emptyStatus, ['python3-openstackclient', 'python3', ...base])
    const extra = [...withCli].filter(p => !baseSet.has(p)).sort()
    let installedKiB = 0
    for (const line of sh('dpkg-query', ['-W', '-f', '${Installed-Size}\\n', ...extra], { stdio: ['ignore', 'pipe', 'ignore'] }).split('\n'))
      installedKiB += Number(line) || 0
    let download = 0
    for (const m of sh('apt-cache', ['show', '--no-all-versions', ...extra]).matchAll(/^Size:\s*(\d+)/gm)) download += Number(m[1])
    console.log(
      `- \`apt-get install --no-install-recommends python3-openstackclient\` on a Debian 12 base that has python3 (simulated with apt-get -s` +
        ` against an empty dpkg status): ${extra.length} packages, ${(download / 1048576).toFixed(1)} MiB to download (apt-cache Size),` +
        ` ${(installedKiB / 1024).toFixed(1)} MiB installed (dpkg Installed-Size of the same packages here). Ubuntu runners do not ship the CLI either;` +
        ' `pip install python-openstackclient` could not be measured (no PyPI here).'
    )
    if (!measure) {
      console.log('- Time to install: not measured in this run (add --install-cost: download + unpack + byte-compile into a temp dir).')
      return
    }
    const debDir = join(dir, 'debs')
    mkdirSync(debDir)
    let t = performance.now()
    sh('apt-get', ['download', '-q', ...extra], { cwd: debDir })
    const downloadMs = performance.now() - t
    const debs = readdirSync(debDir).filter(f => f.endsWith('.deb'))
    const bytes = debs.reduce((sum, f) => sum + statSync(join(debDir, f)).size, 0)
    t = performance.now()
    for (const deb of debs) sh('dpkg-deb', ['-x', join(debDir, deb), join(dir, 'root')])
    const unpackMs = performance.now() - t
    t = performance.now()
    const pyDir = join(dir, 'root', 'usr/lib/python3/dist-packages')
    if (existsSync(pyDir)) sh('/usr/bin/python3', ['-m', 'compileall', '-q', '-j', '0', pyDir])
    const compileMs = performance.now() - t
    console.log(
      `- Measured, throw-away (into a temp dir, nothing installed): \`apt-get download\` of the ${debs.length} .deb, ${(bytes / 1048576).toFixed(1)} MiB,` +
        ` ${(downloadMs / 1000).toFixed(1)} s (this machine's path to the Debian mirror; apt-get update not counted);` +
        ` unpack with dpkg-deb -x ${(unpackMs / 1000).toFixed(1)} s; byte-compile (what py3compile does in postinst) ${(compileMs / 1000).toFixed(1)} s.` +
        ` Sum ${((downloadMs + unpackMs + compileMs) / 1000).toFixed(1)} s: a lower bound of the install, without apt-get update, dpkg's bookkeeping and triggers.`
    )
  } catch (error) {
    console.log(`- Could not be measured: ${error.message.split('\n')[0]}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
