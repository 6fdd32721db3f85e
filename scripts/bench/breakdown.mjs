#!/usr/bin/env node
// node scripts/bench/breakdown.mjs [--runs N] [--profile] [--keep] [--out FILE.json]
// Where the main (and post) step's time goes, and what candidate cuts would gain, measured against
// the project's local Keystone (127.0.0.1) WITHOUT editing src/ or dist/: candidates are built from a
// copy of src/ into a temp dir (scripts/bench/variants.mjs says what each one changes).
//
// 1. Candidate bundles side by side: every variant's main (full login) and post (revoke) steps, and
//    its cold start (main with no inputs: fails at configuration, no request), all run by the runner
//    emulator's runStep exactly as the action is, alternating round-robin with the floors
//    (node+POST / node+DELETE / empty ESM file through runStep; node -e '' and curl POST / DELETE
//    spawned directly; see bench.mjs) in the same rounds. StepResult.durationMs for runStep.
//    Also the bundles' composition by package (ncc --stats-out of the base build).
// 2. Phases inside one main step, by scripts/bench/marks.mjs (a wrapper that imports the bundle with
//    performance.now() marks from Node's own timeOrigin): Node bootstrap, bundle load, configuration,
//    HTTP (connect, Keystone's answer), what follows the answer (outputs, env, state, job summary),
//    exit, and the count of Node builtin modules loaded; for dist/ as built, the eager variant (the
//    previous release's module graph) and the node:http floor script (main, post, and the cold runs
//    that give "load").
// 3. Node-level options that the action itself cannot set (the runner starts `node <file>` with no
//    flags; NODE_OPTIONS can only come from the workflow's env): --max-semi-space-size, a V8 code
//    cache (ncc --v8-cache), module.enableCompileCache.
// --profile: one --cpu-prof run of dist/main (spawned directly with the env runStep gave it, since
//    NODE_OPTIONS refuses --cpu-prof), self time by category.
// dist/ and src/ are copied once at the start (others rebuild/edit them meanwhile).
// --keep: keep the temp dir with the variants (printed).

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { loadAction, parseFileCommand, runStep } from '../emulator/runner.mjs'
import { startKeystone } from '../keystone/keystone.mjs'
import {
  BENCH_DIR,
  ROOT,
  actionInputs,
  commandLine,
  curlLogin,
  curlRevoke,
  fakeAction,
  fixtureLogin,
  machineInfo,
  ms,
  parseArgs,
  printMachine,
  roundRobin,
  snapshotDist,
  stats,
  timeProcess,
  baseEnv
} from './lib.mjs'
import { VARIANTS, buildVariant, composition } from './variants.mjs'

const args = parseArgs(process.argv.slice(2), 20)
const RUNS = args.runs
const info = machineInfo()
const action = loadAction(ROOT)
const tmpRoot = mkdtempSync(join(tmpdir(), 'openstack-token-bench-'))

// ---- build --------------------------------------------------------------------------------------
// dist/ as it is now, copied aside (others may rebuild it during the run); src/ is copied by the
// first buildVariant call, right after.
const snap = snapshotDist(join(tmpRoot, 'dist-snapshot'))
const dist = { name: 'dist/ (as built)', main: snap.main, post: snap.post, out: join(tmpRoot, 'dist-snapshot', 'dist') }
const distDef = fakeAction(dist.out, 'main/index.js', 'post/index.js', action.inputs)
console.error(`Building ${Object.keys(VARIANTS).length} variants from a copy of src/ in ${tmpRoot}…`)
const built = []
const buildErrors = []
for (const name of Object.keys(VARIANTS)) {
  const t = performance.now()
  const v = buildVariant(tmpRoot, name)
  if (v.error) {
    buildErrors.push(`${name}: ${v.error}`)
    console.error(`  ${name}: FAILED ${v.error}`)
    continue
  }
  v.buildMs = performance.now() - t
  v.files = { main: readdirSync(join(v.out, 'main')), post: readdirSync(join(v.out, 'post')) }
  built.push(v)
  console.error(`  ${name}: main ${statSync(v.main).size} B, post ${statSync(v.post).size} B (${(v.buildMs / 1000).toFixed(1)} s)`)
}
const base = built.find(v => v.name === 'base')
const baseEqualsDist = base && readFileSync(base.main).equals(readFileSync(dist.main)) && readFileSync(base.post).equals(readFileSync(dist.post))

console.error('Starting the local Keystone (scripts/keystone)…')
const keystone = await startKeystone()
process.on('SIGINT', () => {
  keystone.stop().finally(() => process.exit(130))
})
const results = { command: commandLine(), machine: info, runs: RUNS }

try {
  const login = fixtureLogin(keystone)
  const inputs = actionInputs(login)
  const floorEnv = { BENCH_URL: login.authUrl, BENCH_BODY: login.body }
  const floor = fakeAction(BENCH_DIR, 'floor-request.mjs')
  const empty = fakeAction(BENCH_DIR, 'floor-empty.mjs')
  const marks = fakeAction(BENCH_DIR, 'marks.mjs', 'marks.mjs', action.inputs)

  // ---- 1. variants side by side ---------------------------------------------------------------
  const variants = [...(baseEqualsDist ? [] : [dist]), ...built].map(v => ({
    ...v,
    def: fakeAction(v.out, 'main/index.js', 'post/index.js', action.inputs)
  }))
  const states = {}
  const floorToken = {}
  const issuePhase = [
    ...variants.map(v => ({
      name: `${v.name} main`,
      run: async () => {
        const step = await runStep({ action: v.def, stage: 'main', inputs, secrets: [login.password] })
        states[v.name] = step.state.token ? step.state : undefined
        if (step.status !== 'success' || !step.state.token)
          throw new Error(`${v.name} main failed: ${[...step.stdout, ...step.stderr].slice(-3).join(' | ')}`)
        return step.durationMs
      }
    })),
    ...variants.map(v => ({
      name: `${v.name} cold`,
      run: async () => {
        const step = await runStep({ action: v.def, stage: 'main' })
        if (!(step.exitCode === 1 && step.commands.some(c => c.name === 'error'))) throw new Error(`${v.name} cold: expected a configuration error`)
        return step.durationMs
      }
    })),
    {
      name: 'floor node+POST',
      run: async () => {
        const step = await runStep({ action: floor, stage: 'main', env: floorEnv })
        floorToken.value = step.state.token
        return step.status === 'success' ? step.durationMs : NaN
      }
    },
    { name: 'floor empty.mjs', run: async () => (await runStep({ action: empty, stage: 'main' })).durationMs },
    {
      name: "floor node -e ''",
      run: async () => {
        const r = await timeProcess(process.execPath, ['-e', ''], { env: baseEnv() })
        return r.code === 0 ? r.ms : NaN
      }
    },
    {
      name: 'floor curl POST',
      run: async () => {
        const r = await curlLogin(login)
        floorToken.curl = r.token
        return r.token ? r.ms : NaN
      }
    }
  ]
  const revokePhase = [
    ...variants.map(v => ({
      name: `${v.name} post`,
      run: async () => {
        if (!states[v.name]) throw new Error(`${v.name}: no token to revoke`)
        const step = await runStep({ action: v.def, stage: 'post', inputs, state: states[v.name], secrets: [login.password] })
        states[v.name] = undefined
        if (step.status !== 'success' || !step.stdout.some(l => /Token revoked\./.test(l)))
          throw new Error(`${v.name} post failed: ${step.stdout.slice(-2).join(' | ')}`)
        return step.durationMs
      }
    })),
    {
      name: 'floor node+DELETE',
      run: async () => {
        const step = await runStep({ action: floor, stage: 'post', env: floorEnv, state: { token: floorToken.value } })
        return step.status === 'success' ? step.durationMs : NaN
      }
    },
    {
      name: 'floor curl DELETE',
      run: async () => {
        const r = await curlRevoke(login, floorToken.curl)
        return r.status === '204' ? r.ms : NaN
      }
    }
  ]
  console.error(`Part 1: ${RUNS} rounds (+1 warm-up) of ${issuePhase.length + revokePhase.length} commands, alternating…`)
  const t1 = Date.now()
  const part1 = await roundRobin([issuePhase, revokePhase], {
    rounds: RUNS,
    onRound: r => {
      if ((r + 1) % 5 === 0 || r + 1 === RUNS) console.error(`  round ${r + 1}/${RUNS} (${((Date.now() - t1) / 1000).toFixed(0)} s)`)
    }
  })
  const s1 = Object.fromEntries(Object.entries(part1.samples).map(([k, v]) => [k, stats(v)]))
  results.part1 = { samples: part1.samples, failures: part1.failures }

  // ---- 2. phases inside one step --------------------------------------------------------------
  const marksOut = join(tmpRoot, 'marks.json')
  const marked = [
    { name: 'dist/', main: dist.main, post: dist.post },
    ...built.filter(v => v.name === 'eager').map(v => ({ name: v.name, main: v.main, post: v.post })),
    { name: 'floor', main: join(BENCH_DIR, 'floor-request.mjs'), post: join(BENCH_DIR, 'floor-request.mjs') }
  ]
  /** @type {Record<string, any[]>} */
  const markRuns = {}
  const runMarked = async (key, bundle, stage, extra) => {
    rmSync(marksOut, { force: true })
    const step = await runStep({ action: marks, stage, ...extra, env: { ...(extra.env ?? {}), BENCH_BUNDLE: bundle, BENCH_MARKS_OUT: marksOut } })
    if (!existsSync(marksOut)) throw new Error(`${key}: no marks (${step.stderr.slice(-2).join(' | ')})`)
    const m = JSON.parse(readFileSync(marksOut, 'utf8'))
    m.durationMs = step.durationMs
    ;(markRuns[key] ??= []).push(m)
    return step
  }
  const markState = {}
  const phase2Issue = marked.flatMap(b => [
    {
      name: `${b.name} main (marks)`,
      run: async () => {
        const step = await runMarked(`${b.name} main`, b.main, 'main', b.name === 'floor' ? { env: floorEnv } : { inputs, secrets: [login.password] })
        markState[b.name] = step.state.token ? step.state : undefined
        return step.state.token ? step.durationMs : NaN
      }
    },
    ...(b.name === 'floor'
      ? []
      : [
          {
            name: `${b.name} cold (marks)`,
            run: async () => (await runMarked(`${b.name} cold`, b.main, 'main', {})).durationMs
          },
          {
            name: `${b.name} post cold (marks)`,
            run: async () => (await runMarked(`${b.name} postcold`, b.post, 'post', {})).durationMs
          }
        ])
  ])
  const phase2Revoke = marked.map(b => ({
    name: `${b.name} post (marks)`,
    run: async () => {
      if (!markState[b.name]) return NaN
      const step = await runMarked(
        `${b.name} post`,
        b.post,
        'post',
        b.name === 'floor' ? { env: floorEnv, state: markState[b.name] } : { inputs, state: markState[b.name] }
      )
      markState[b.name] = undefined
      return step.durationMs
    }
  }))
  console.error(`Part 2: ${RUNS} rounds of the marks wrapper…`)
  await roundRobin([phase2Issue, phase2Revoke], { rounds: RUNS })
  results.marks = markRuns

  // ---- 3. Node options the action cannot set ----------------------------------------------------
  // Cold start of dist/main with no inputs, spawned directly so flags can be given; alternating.
  const coldEnv = baseEnv()
  const flagCases = [
    { name: "node -e ''", argv: ['-e', ''] },
    { name: 'node dist/main', argv: [dist.main] },
    { name: 'node --max-semi-space-size=16 dist/main', argv: ['--max-semi-space-size=16', dist.main] },
    { name: 'node --single-threaded dist/main', argv: ['--single-threaded', dist.main] }
  ]
  const v8cache = built.find(v => v.name === 'v8-cache')
  const v8cacheEmitted = v8cache ? v8cache.files.main.filter(f => /cache/.test(f)) : []
  console.error('Part 3: node flags, snapshot…')
  const part3 = await roundRobin(
    [
      flagCases.map(c => ({
        name: c.name,
        run: async () => {
          const r = await timeProcess(process.execPath, c.argv, { env: coldEnv })
          return c.argv[0] === '-e' ? (r.code === 0 ? r.ms : NaN) : r.code === 1 ? r.ms : NaN
        }
      }))
    ],
    { rounds: RUNS }
  )
  const s3 = Object.fromEntries(Object.entries(part3.samples).map(([k, v]) => [k, stats(v)]))
  const compileCache = typeof (await import('node:module')).default.enableCompileCache === 'function'

  // ---- 4. CPU profile --------------------------------------------------------------------------
  let profile
  if (args.flags.has('profile')) {
    // --cpu-prof is refused in NODE_OPTIONS, so the bundle is spawned directly, with the env a
    // runStep gave it (its file-command files recreated in a temp dir).
    const dir = join(tmpRoot, 'prof')
    mkdirSync(dir)
    const ref = await runStep({ action: distDef, stage: 'main', inputs, secrets: [login.password] })
    if (ref.state.token) await runStep({ action: distDef, stage: 'post', inputs, state: ref.state })
    const env = { ...ref.env, RUNNER_TEMP: dir, GITHUB_WORKSPACE: dir }
    for (const name of ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STATE', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY']) {
      env[name] = join(dir, name)
      writeFileSync(env[name], '')
    }
    const run = await timeProcess(process.execPath, ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${dir}`, dist.main], { env, cwd: dir })
    const state = Object.fromEntries(parseFileCommand(readFileSync(env.GITHUB_STATE, 'utf8')))
    if (state.token) await runStep({ action: distDef, stage: 'post', inputs, state })
    const file = readdirSync(dir).find(f => f.endsWith('.cpuprofile'))
    profile = file && run.code === 0 ? summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), dist.main) : undefined
    if (profile) profile.wallMs = run.ms
  }

  // ---- report -------------------------------------------------------------------------------------
  const m = name => s1[name]?.median ?? NaN
  console.log(`\n## Where the main step's time goes, and what to cut\n`)
  console.log(`Command: \`${commandLine()}\` (${RUNS} runs each, alternating round-robin, 1 warm-up round not counted).\n`)
  printMachine(info)
  console.log(
    `- src/ and dist/ as of the start of this run, copied to ${tmpRoot}; the "base" rebuild of that src/ ${baseEqualsDist ? 'is byte-identical to dist/' : 'differs from dist/ (src/ changed since the last build), so dist/ is measured too'} (dist/main sha256 ${snap.sha.main}…).`
  )
  if (buildErrors.length) console.log(`- Variants that did not build: ${buildErrors.join('; ')}`)
  console.log('')
  console.log('### 1. Candidate bundles, through the runner emulator (StepResult.durationMs, ms)\n')
  const baseMain = m('base main')
  const baseCold = m('base cold')
  const basePost = m('base post')
  const floorMain = m("floor node -e ''") + m('floor curl POST')
  const floorPost = m("floor node -e ''") + m('floor curl DELETE')
  console.log(
    '| Variant | main bytes | post bytes | main median (p10–p90) | post median (p10–p90) | cold start median | main Δ vs base | main / node+POST | post / node+DELETE | main / (node -e + curl POST) | post / (node -e + curl DELETE) |'
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const v of variants) {
    const mm = s1[`${v.name} main`]
    const pp = s1[`${v.name} post`]
    const cc = s1[`${v.name} cold`]
    console.log(
      `| ${v.name} | ${bundleBytes(v.main)} | ${bundleBytes(v.post)} | ${ms(mm.median)} (${ms(mm.p10)}–${ms(mm.p90)}) | ${ms(pp.median)} (${ms(pp.p10)}–${ms(pp.p90)}) | ${ms(cc.median)} | ${v.name === 'base' ? '—' : `${mm.median - baseMain >= 0 ? '+' : ''}${ms(mm.median - baseMain)}`} | ${(mm.median / m('floor node+POST')).toFixed(2)}x | ${(pp.median / m('floor node+DELETE')).toFixed(2)}x | ${(mm.median / floorMain).toFixed(2)}x | ${(pp.median / floorPost).toFixed(2)}x |`
    )
  }
  console.log(
    `| floor node+POST / node+DELETE | | | ${ms(m('floor node+POST'))} (${ms(s1['floor node+POST'].p10)}–${ms(s1['floor node+POST'].p90)}) | ${ms(m('floor node+DELETE'))} (${ms(s1['floor node+DELETE'].p10)}–${ms(s1['floor node+DELETE'].p90)}) | ${ms(m('floor empty.mjs'))} (empty.mjs) | | 1.00x | 1.00x | | |`
  )
  console.log(
    `| floor node -e '' + curl POST / DELETE | | | ${ms(floorMain)} (${ms(m("floor node -e ''"))} + ${ms(m('floor curl POST'))}) | ${ms(floorPost)} (${ms(m("floor node -e ''"))} + ${ms(m('floor curl DELETE'))}) | | | | | 1.00x | 1.00x |`
  )
  const failed = Object.entries(part1.failures).filter(([, n]) => n > 0)
  if (failed.length) console.log(`\nFailed runs (not in the medians): ${failed.map(([k, n]) => `${k} ${n}`).join(', ')}`)
  console.log(
    `\nCold start = main with no inputs (fails at configuration, before any request). Base: main ${ms(baseMain)}, post ${ms(basePost)}, cold ${ms(baseCold)} ms.`
  )

  if (base) {
    const [cm, cp] = [composition(base, 'main'), composition(base, 'post')]
    if (cm && cp) {
      const post = Object.fromEntries(cp)
      console.log('\nWhat the base bundles hold (bytes of source before minification, ncc --stats-out):\n')
      console.log('| Package | main | post |')
      console.log('| --- | ---: | ---: |')
      for (const [pkg, bytes] of cm) console.log(`| ${pkg} | ${bytes} | ${post[pkg] ?? 0} |`)
      for (const [pkg, bytes] of cp) if (!cm.some(([p]) => p === pkg)) console.log(`| ${pkg} | 0 | ${bytes} |`)
    }
  }

  console.log("\n### 2. Phases of one step (marks.mjs; medians, ms from Node's timeOrigin)\n")
  console.log('| Phase | ' + marked.map(b => `${b.name} main`).join(' | ') + ' | ' + marked.map(b => `${b.name} post`).join(' | ') + ' |')
  console.log('| --- |' + ' ---: |'.repeat(marked.length * 2))
  const phaseRows = phaseTable(markRuns, marked)
  for (const [label, cells] of phaseRows) console.log(`| ${label} | ${cells.join(' | ')} |`)
  const builtinsOf = key => new Set(markRuns[key]?.[0]?.builtins ?? [])
  const floorBuiltins = builtinsOf('floor main')
  const extra = [...builtinsOf('dist/ main')].filter(b => !floorBuiltins.has(b) && !b.startsWith('internal/'))
  if (extra.length) console.log(`\nPublic builtin modules dist/ main loads that the floor does not: ${extra.join(', ')}.`)
  console.log(
    `\nload = import() of the bundle until its first stdout write in a cold run (no inputs: configuration fails at once), so it is read + compile + evaluate;` +
      ` configuration = (first request − import start) − load. "outside Node's clock" = durationMs − the 'exit' mark: fork/exec before Node's timeOrigin,` +
      ` teardown after 'exit', pipes closing.`
  )

  console.log('\n### 3. Node-level options (the action cannot set them: the runner runs `node <file>`)\n')
  console.log('| Cold start, direct spawn | median ms (p10–p90) |')
  console.log('| --- | ---: |')
  for (const c of flagCases) console.log(`| ${c.name} | ${ms(s3[c.name].median)} (${ms(s3[c.name].p10)}–${ms(s3[c.name].p90)}) |`)
  console.log(
    `\n- ncc --v8-cache: ${v8cacheEmitted.length ? `emitted ${v8cacheEmitted.join(', ')}` : 'emitted no cache file for this ESM build (the option only works for CommonJS output); the bundle is otherwise the same as base'}.`
  )
  console.log(
    `- module.enableCompileCache(): ${compileCache ? 'available' : `not in Node ${process.version} (Node 22.1+); not measured`}. On GitHub every job starts with an empty cache dir, and main and post are different files, so the first and only load of each bundle would compile anyway.`
  )
  if (profile) {
    console.log(
      `\n### 4. CPU profile of one main step (dist/main, --cpu-prof, 100 µs sampling, self time; that run took ${ms(profile.wallMs)} ms with the profiler)\n`
    )
    console.log('| Category | ms | share |')
    console.log('| --- | ---: | ---: |')
    for (const [k, v] of profile.rows) console.log(`| ${k} | ${v.toFixed(1)} | ${((v / profile.total) * 100).toFixed(0)}% |`)
  }
  results.stats = { part1: s1, part3: s3 }
  if (args.values.out) writeFileSync(args.values.out, JSON.stringify(results, null, 2))
} finally {
  await keystone.stop().catch(() => {})
  if (args.flags.has('keep')) console.error(`Kept ${tmpRoot}`)
  else rmSync(tmpRoot, { recursive: true, force: true })
}

// ---- helpers ----------------------------------------------------------------------------------------

/** An entry's bytes, and those of the chunks beside it that it may load on demand. */
function bundleBytes(entry) {
  const dir = dirname(entry)
  const chunks = readdirSync(dir).filter(name => /^\d+\.index\.js$/.test(name))
  const chunkBytes = chunks.reduce((sum, name) => sum + statSync(join(dir, name)).size, 0)
  return chunks.length ? `${statSync(entry).size} + ${chunkBytes} in ${chunks.length} chunks` : String(statSync(entry).size)
}

function med(values) {
  return stats(values.filter(Number.isFinite)).median
}

/** When the step's own work ended: the module's top-level await, the answer, or the last file write. */
function done(r) {
  return Math.max(
    r.afterImport,
    Number.isFinite(r.bodyEnd) ? r.bodyEnd : -Infinity,
    Number.isFinite(r.fileWrites.last) ? r.fileWrites.last : -Infinity
  )
}

/** Rows of the phase table: each cell the median over runs of one difference between marks. */
function phaseTable(runs, bundles) {
  const cols = [...bundles.map(b => [`${b.name} main`, `${b.name} cold`]), ...bundles.map(b => [`${b.name} post`, `${b.name} postcold`])]
  const cell = (key, f) => {
    const list = runs[key] ?? []
    const v = med(list.map(f))
    return ms(v, 1)
  }
  const loadOf = coldKey => med((runs[coldKey] ?? []).map(r => r.firstWrite - r.beforeImport))
  const rows = [
    ["outside Node's clock (exec, teardown)", ([k]) => cell(k, r => r.durationMs - r.exit)],
    ['Node bootstrap → wrapper running', ([k]) => cell(k, r => r.wrapperStart)],
    ['bundle load (cold run)', ([, c]) => (runs[c] ? ms(loadOf(c), 1) : 'n/a')],
    ['import start → first request (load + config)', ([k]) => cell(k, r => r.request - r.beforeImport)],
    ['  of which configuration', ([k, c]) => (runs[c] ? ms(med((runs[k] ?? []).map(r => r.request - r.beforeImport)) - loadOf(c), 1) : 'n/a')],
    ['request → connected', ([k]) => cell(k, r => r.connect - r.request)],
    ['request → answer headers (Keystone)', ([k]) => cell(k, r => r.response - r.request)],
    ['answer headers → body end', ([k]) => cell(k, r => r.bodyEnd - r.response)],
    ['body end → step code done (outputs, env, state, summary)', ([k]) => cell(k, r => done(r) - r.bodyEnd)],
    ['  of which appendFileSync (calls)', ([k]) => `${cell(k, r => r.fileWrites.ms)} (${med((runs[k] ?? []).map(r => r.fileWrites.count))})`],
    [
      '  of which fs.promises, first call → last settled (job summary)',
      ([k]) => cell(k, r => (r.asyncFs?.count ? r.asyncFs.last - r.asyncFs.first : 0))
    ],
    ["done → 'exit' event", ([k]) => cell(k, r => r.exit - done(r))],
    ['total in Node (timeOrigin → exit)', ([k]) => cell(k, r => r.exit)],
    ['Node builtin modules loaded (count)', ([k]) => ms(med((runs[k] ?? []).map(r => r.builtins?.length ?? NaN)))],
    ['step durationMs', ([k]) => cell(k, r => r.durationMs)]
  ]
  return rows.map(([label, f]) => [label, cols.map(c => f(c))])
}

/** Self time of a .cpuprofile by category. */
function summarizeProfile(prof, bundlePath) {
  const byId = new Map(prof.nodes.map(n => [n.id, n]))
  const self = new Map()
  const dt = prof.timeDeltas
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0) / 1000)
  const cats = {}
  for (const [id, t] of self) {
    const node = byId.get(id)
    const { url, functionName } = node.callFrame
    let cat
    if (!url) cat = /^\((idle|program|garbage collector)\)$/.test(functionName) ? functionName : 'native (compile, read, stat, …)'
    else if (url.includes(bundlePath) || url.endsWith('/index.js')) cat = 'bundle code (module evaluation + step code)'
    else if (/node:internal\/modules|internal\/modules/.test(url)) cat = 'Node module loader'
    else if (/node:internal\/bootstrap|internal\/main/.test(url)) cat = 'Node bootstrap'
    else if (url.startsWith('node:')) cat = 'Node builtins (http, net, streams, fs, …)'
    else cat = 'other JS'
    cats[cat] = (cats[cat] ?? 0) + t
  }
  const rows = Object.entries(cats).sort((a, b) => b[1] - a[1])
  return { rows, total: rows.reduce((s, [, v]) => s + v, 0) }
}
