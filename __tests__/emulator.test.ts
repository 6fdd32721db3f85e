// Tests of the GitHub Actions runner emulator itself (scripts/emulator/runner.mjs), with a tiny fake
// action written to a temp dir. The fake action uses the real @actions/core, so what is checked here
// is the emulator's handling of what @actions/core actually writes (heredoc GITHUB_ENV, add-mask …).

import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  evaluateCondition,
  inputEnvName,
  loadAction,
  maskLine,
  parseCommand,
  parseFileCommand,
  runJob,
  runStep
} from '../scripts/emulator/runner.mjs'

const REPO = process.cwd()
const RUNNER = join(REPO, 'scripts/emulator/runner.mjs')
const CORE = pathToFileURL(resolve(REPO, 'node_modules/@actions/core/lib/core.js')).href
const SECRET = 'tok-S3cr3t-4f9a'

const MAIN = `
import * as core from ${JSON.stringify(CORE)}
import { appendFileSync } from 'node:fs'

const mode = core.getInput('mode')
console.log('inputs=' + JSON.stringify({
  authUrl: process.env['INPUT_AUTH-URL'] ?? null,
  region: process.env.INPUT_REGION_NAME ?? null,
  retries: process.env.INPUT_RETRIES ?? null,
  noDefault: process.env['INPUT_NO-DEFAULT'] ?? null,
  viaCore: core.getInput('auth-url'),
}))
console.log('env=' + JSON.stringify({
  OS_PASSWORD: process.env.OS_PASSWORD ?? null,
  NODE_OPTIONS: process.env.NODE_OPTIONS ?? null,
  CI: process.env.CI, GITHUB_ACTIONS: process.env.GITHUB_ACTIONS, RUNNER_OS: process.env.RUNNER_OS,
  GITHUB_REPOSITORY: process.env.GITHUB_REPOSITORY, RUNNER_TEMP: process.env.RUNNER_TEMP,
  GITHUB_WORKSPACE: process.env.GITHUB_WORKSPACE, cwd: process.cwd(),
  JOB_LEVEL: process.env.JOB_LEVEL ?? null, ACTION_LEVEL: process.env.ACTION_LEVEL ?? null,
}))
console.log('token before mask: ${SECRET}')
core.setSecret('${SECRET}')
console.log('token after mask: ${SECRET}')
core.exportVariable('FAKE_TOKEN', '${SECRET}')
core.exportVariable('FAKE_MULTI', 'line one\\nline two')
appendFileSync(process.env.GITHUB_ENV, 'FAKE_PLAIN=a=b\\n\\n')
core.setOutput('token-id', 'id-123')
core.saveState('token', '${SECRET}')
appendFileSync(process.env.GITHUB_STATE, 'plain_state=ps\\n')
core.addPath('/opt/fake/bin')
core.warning('careful', { file: 'a.js', startLine: 3 })
core.notice('just so you know')
core.debug('debug detail')
core.startGroup('details'); console.log('inside'); core.endGroup()
process.stdout.write('::set-output name=legacy::old%0Astyle\\n')
console.error('to stderr')
appendFileSync(process.env.GITHUB_STEP_SUMMARY, '# summary\\n')
if (mode === 'fail') core.setFailed('main failed on purpose')
if (mode === 'slow') await new Promise((r) => setTimeout(r, 30000))
if (mode === 'badenv') appendFileSync(process.env.GITHUB_ENV, 'BROKEN<<EOF\\nno end\\n')
if (mode === 'nodeopts') appendFileSync(process.env.GITHUB_ENV, 'NODE_OPTIONS=--require /tmp/x.js\\n')
`

const POST = `
console.log('post=' + JSON.stringify({
  token: process.env.STATE_token ?? null,
  plain: process.env.STATE_plain_state ?? null,
  exported: process.env.FAKE_TOKEN ?? null,
  fromRun: process.env.FROM_RUN ?? null,
  authUrl: process.env['INPUT_AUTH-URL'] ?? null,
}))
console.log('revoking ${SECRET}')
`

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** Writes the fake action with the given post-if (undefined: no post-if key) into a fresh dir. */
function fakeAction(postIf?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fake-action-'))
  dirs.push(dir)
  writeFileSync(
    join(dir, 'action.yml'),
    [
      'name: fake',
      'description: a fake action for the emulator tests',
      'inputs:',
      '  auth-url:',
      '    description: required, no default',
      '    required: true',
      '  region name:',
      '    default: RegionOne',
      '  retries:',
      '    default: 3',
      '  no-default:',
      '    description: neither given nor defaulted',
      '  mode:',
      '    default: ok',
      '  old-input:',
      '    deprecationMessage: use auth-url',
      'outputs:',
      '  token-id:',
      '    description: an id',
      'runs:',
      '  using: node20',
      '  main: main.mjs',
      '  post: post.mjs',
      ...(postIf === undefined ? [] : [`  post-if: ${postIf}`]),
      ''
    ].join('\n')
  )
  writeFileSync(join(dir, 'main.mjs'), MAIN)
  writeFileSync(join(dir, 'post.mjs'), POST)
  return dir
}

function jsonLine(lines: string[], prefix: string): any {
  const line = lines.find(l => l.startsWith(prefix))
  if (!line) throw new Error(`no line starting with ${prefix} in:\n${lines.join('\n')}`)
  return JSON.parse(line.slice(prefix.length))
}

const ALWAYS = fakeAction('always()')

describe('pure parts', () => {
  test('INPUT_ names keep hyphens and replace spaces', () => {
    expect(inputEnvName('auth-url')).toBe('INPUT_AUTH-URL')
    expect(inputEnvName('region name')).toBe('INPUT_REGION_NAME')
  })

  test('loadAction reads inputs, defaults as strings, runs and post-if', () => {
    const action = loadAction(ALWAYS)
    expect(action.inputs['retries'].default).toBe('3')
    expect(action.inputs['auth-url']).toMatchObject({ required: true, default: undefined })
    expect(action.runs).toMatchObject({ using: 'node20', main: 'main.mjs', post: 'post.mjs', postIf: 'always()' })
  })

  test('loadAction refuses non-JavaScript actions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-action-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'action.yml'), 'name: x\nruns:\n  using: composite\n  steps: []\n')
    expect(() => loadAction(dir)).toThrow(/JavaScript/)
  })

  test('file commands: plain lines, heredocs, = in values, errors', () => {
    const text = 'A=1\n\nB=x=y\nM<<ghadelimiter_1\nline 1\nline 2\nghadelimiter_1\nE<<END\nEND\nA=2'
    expect(parseFileCommand(text)).toEqual([
      ['A', '1'],
      ['B', 'x=y'],
      ['M', 'line 1\nline 2'],
      ['E', ''],
      ['A', '2']
    ])
    expect(() => parseFileCommand('X<<EOF\nvalue\n')).toThrow(/delimiter not found/)
    expect(() => parseFileCommand('=value\n')).toThrow(/name must not be empty/)
    expect(() => parseFileCommand('JUSTANAME\n')).toThrow(/Invalid format/)
  })

  test('file commands as @actions/core writes them on Windows (CRLF): the runner takes CRLF there, and only there', () => {
    const text = 'A=1\r\nM<<ghadelimiter_1\r\nline 1\r\nline 2\r\nghadelimiter_1\r\nP=C:\\x;D:\\y\r\n'
    expect(parseFileCommand(text, { windows: true })).toEqual([
      ['A', '1'],
      ['M', 'line 1\r\nline 2'],
      ['P', 'C:\\x;D:\\y']
    ])
    // Elsewhere every CR stays, in the values and in the delimiter.
    expect(parseFileCommand(text)).toEqual([
      ['A', '1\r'],
      ['M', 'line 1\r\nline 2\r'],
      ['P', 'C:\\x;D:\\y\r']
    ])
  })

  test('workflow commands: properties, escapes, unknown names', () => {
    expect(parseCommand('  ::error file=a.js,line=3,title=x%3Ay%2Cz::bad%0Athing 100%25')).toEqual({
      name: 'error',
      properties: { file: 'a.js', line: '3', title: 'x:y,z' },
      message: 'bad\nthing 100%'
    })
    expect(parseCommand('::add-mask::s3cret')).toEqual({ name: 'add-mask', properties: {}, message: 's3cret' })
    expect(parseCommand('::not-a-command::x')).toBeNull()
    expect(parseCommand('text ::error::x')).toBeNull()
  })

  test('masking replaces every occurrence, merges overlaps, covers escaped forms', () => {
    expect(maskLine('a secret and secret', ['secret'])).toBe('a *** and ***')
    expect(maskLine('abcdef', ['abcd', 'cdef'])).toBe('***')
    expect(maskLine('{"v":"x\\"y"}', ['x"y'])).toBe('{"v":"***"}')
    expect(maskLine('nothing here', [])).toBe('nothing here')
  })

  test('conditions: status functions and implicit success()', () => {
    const table: Array<[string | undefined, string, boolean]> = [
      [undefined, 'success', true],
      [undefined, 'failure', false],
      [undefined, 'cancelled', false],
      ['always()', 'cancelled', true],
      ['${{ always() }}', 'failure', true],
      ['failure()', 'failure', true],
      ['failure()', 'cancelled', false],
      ['cancelled()', 'cancelled', true],
      ['!cancelled()', 'failure', true],
      ['success() || failure()', 'failure', true],
      ['true', 'failure', false],
      ['true', 'success', true]
    ]
    for (const [condition, status, expected] of table) {
      expect([condition, status, evaluateCondition(condition, status as 'success')]).toEqual([condition, status, expected])
    }
    expect(() => evaluateCondition("github.event_name == 'push'", 'success')).toThrow(/unsupported/)
  })
})

describe('runJob with the fake action', () => {
  const savedPassword = process.env.OS_PASSWORD
  beforeAll(() => {
    process.env.OS_PASSWORD = 'developer-password'
  })
  afterAll(() => {
    if (savedPassword === undefined) delete process.env.OS_PASSWORD
    else process.env.OS_PASSWORD = savedPassword
  })

  test('main, a run step and post: inputs, env, outputs, state, masks, PATH', async () => {
    const t = await runJob({
      actionDir: ALWAYS,
      inputs: { 'auth-url': 'http://127.0.0.1:5000/v3', 'old-input': 'x' },
      jobEnv: { JOB_LEVEL: 'job' },
      actionEnv: { ACTION_LEVEL: 'step' },
      steps: [
        {
          name: 'use it',
          run:
            'echo "seen=$FAKE_TOKEN"; echo "multi=$(echo "$FAKE_MULTI" | wc -l)"; echo "plain=$FAKE_PLAIN"\n' +
            'echo "path=${PATH%%:*}"; echo "job=$JOB_LEVEL"; echo "FROM_RUN=yes" >> "$GITHUB_ENV"',
          env: { JOB_LEVEL: 'overridden by the step' }
        }
      ]
    })
    expect(t.status).toBe('success')
    expect(t.failed).toBe(false)
    expect(t.steps.map(s => [s.stage, s.status])).toEqual([
      ['main', 'success'],
      ['run', 'success'],
      ['post', 'success']
    ])

    const main = t.main!
    expect(jsonLine(main.stdout, 'inputs=')).toEqual({
      authUrl: 'http://127.0.0.1:5000/v3',
      region: 'RegionOne',
      retries: '3',
      noDefault: '',
      viaCore: 'http://127.0.0.1:5000/v3'
    })
    const env = jsonLine(main.stdout, 'env=')
    expect(env).toMatchObject({
      OS_PASSWORD: null,
      NODE_OPTIONS: null,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      RUNNER_OS: 'Linux',
      GITHUB_REPOSITORY: 'octo-org/octo-repo',
      JOB_LEVEL: 'job',
      ACTION_LEVEL: 'step'
    })
    expect(env.cwd).toBe(env.GITHUB_WORKSPACE)
    expect(env.RUNNER_TEMP).toBeTruthy()

    expect(main.exportedEnv).toEqual({ FAKE_TOKEN: SECRET, FAKE_MULTI: 'line one\nline two', FAKE_PLAIN: 'a=b' })
    expect(main.outputs).toEqual({ 'token-id': 'id-123', legacy: 'old\nstyle' })
    expect(t.outputs).toEqual(main.outputs)
    expect(main.state).toEqual({ token: SECRET, plain_state: 'ps' })
    expect(main.path).toEqual(['/opt/fake/bin'])
    expect(main.summary).toBe('# summary\n')
    expect(main.stderr).toEqual(['to stderr'])

    expect(main.masks).toEqual([SECRET])
    expect(t.masks).toEqual([SECRET])
    // Raw output keeps the secret; the log shows it only where it was printed before ::add-mask::.
    expect(main.stdout).toContain(`token after mask: ${SECRET}`)
    const logged = main.log.filter(l => l.visible).map(l => l.masked)
    expect(logged).toContain(`token before mask: ${SECRET}`)
    expect(logged).toContain('token after mask: ***')
    expect(logged.some(l => l.startsWith('::add-mask::'))).toBe(false)
    expect(t.masked(`x ${SECRET} y`)).toBe('x *** y')

    const names = main.commands.map(c => c.name)
    expect(names).toEqual(expect.arrayContaining(['add-mask', 'warning', 'notice', 'debug', 'group', 'endgroup', 'set-output']))
    expect(main.annotations).toEqual(
      expect.arrayContaining([
        { level: 'warning', message: 'careful', properties: { file: 'a.js', line: '3' } },
        { level: 'notice', message: 'just so you know', properties: {} },
        expect.objectContaining({ level: 'warning', message: expect.stringMatching(/set-output. command is deprecated/) }),
        expect.objectContaining({ level: 'warning', message: expect.stringMatching(/Input 'old-input' has been deprecated/) })
      ])
    )

    const run = t.step('use it')!
    expect(run.stdout).toEqual([`seen=${SECRET}`, 'multi=2', 'plain=a=b', 'path=/opt/fake/bin', 'job=overridden by the step'])
    expect(run.log.map(l => l.masked)).toContain('seen=***')
    // The step header lists the job env, exported values included, masked.
    expect(run.header).toContain('  FAKE_TOKEN: ***')

    expect(jsonLine(t.post!.stdout, 'post=')).toEqual({
      token: SECRET,
      plain: 'ps',
      exported: SECRET,
      fromRun: 'yes',
      authUrl: 'http://127.0.0.1:5000/v3'
    })
    expect(t.post!.log.map(l => l.masked)).toContain('revoking ***')
    expect(t.env).toMatchObject({ JOB_LEVEL: 'job', FAKE_TOKEN: SECRET, FROM_RUN: 'yes', CI: 'true' })
  })

  test('a failing main still exports; later run steps are skipped; post with always() runs', async () => {
    const t = await runJob({
      actionDir: ALWAYS,
      inputs: { 'auth-url': 'u', mode: 'fail' },
      steps: [
        { name: 'skipped', run: 'echo never' },
        { name: 'cleanup', run: 'echo cleaning', if: 'always()' }
      ]
    })
    expect(t.failed).toBe(true)
    expect(t.status).toBe('failure')
    expect(t.main).toMatchObject({ status: 'failure', exitCode: 1 })
    expect(t.main!.annotations).toContainEqual({ level: 'error', message: 'main failed on purpose', properties: {} })
    expect(t.main!.exportedEnv.FAKE_TOKEN).toBe(SECRET)
    expect(t.step('skipped')).toMatchObject({ status: 'skipped', stdout: [] })
    expect(t.step('cleanup')!.stdout).toEqual(['cleaning'])
    expect(jsonLine(t.post!.stdout, 'post=').token).toBe(SECRET)
  })

  test('post-if: absent means always(); success() and failure() follow the job status', async () => {
    const ran = async (postIf: string | undefined, mode: string) => {
      const t = await runJob({ actionDir: fakeAction(postIf), inputs: { 'auth-url': 'u', mode } })
      return t.post?.status
    }
    expect(await ran(undefined, 'fail')).toBe('success')
    expect(await ran('success()', 'ok')).toBe('success')
    expect(await ran('success()', 'fail')).toBe('skipped')
    expect(await ran('failure()', 'ok')).toBe('skipped')
    expect(await ran('failure()', 'fail')).toBe('success')
  })

  test('a failing run step after main fails the job; post success() is skipped, always() runs', async () => {
    const steps = [{ name: 'breaks', run: 'false' }]
    const strict = await runJob({ actionDir: fakeAction('success()'), inputs: { 'auth-url': 'u' }, steps })
    expect(strict.step('breaks')).toMatchObject({ status: 'failure', exitCode: 1 })
    expect(strict.step('breaks')!.annotations[0].message).toBe('Process completed with exit code 1.')
    expect(strict.post!.status).toBe('skipped')
    const always = await runJob({ actionDir: ALWAYS, inputs: { 'auth-url': 'u' }, steps })
    expect(always.post!.status).toBe('success')
  })

  test('cancellation: later steps skipped, post with always() still runs, success() does not', async () => {
    const steps = [{ name: 'after', run: 'echo after' }]
    const t = await runJob({ actionDir: ALWAYS, inputs: { 'auth-url': 'u' }, steps, cancelled: true })
    expect(t.status).toBe('cancelled')
    expect(t.cancelled).toBe(true)
    expect(t.step('after')!.status).toBe('skipped')
    expect(t.post!.status).toBe('success')
    const strict = await runJob({ actionDir: fakeAction('success()'), inputs: { 'auth-url': 'u' }, cancelled: true })
    expect(strict.post!.status).toBe('skipped')
  })

  test('cancellation during main interrupts it with SIGINT; post still gets the state saved so far', async () => {
    const t = await runJob({
      actionDir: ALWAYS,
      inputs: { 'auth-url': 'u', mode: 'slow' },
      cancelled: { during: 'main', afterMs: 1500 }
    })
    expect(t.main).toMatchObject({ status: 'cancelled', signal: 'SIGINT', timedOut: false })
    expect(t.status).toBe('cancelled')
    expect(jsonLine(t.post!.stdout, 'post=').token).toBe(SECRET)
  }, 20_000)

  test('a step that exceeds its timeout is killed and reported', async () => {
    const started = Date.now()
    const t = await runJob({ actionDir: ALWAYS, inputs: { 'auth-url': 'u', mode: 'slow' }, timeoutMs: 1500 })
    expect(t.main).toMatchObject({ status: 'failure', timedOut: true, exitCode: null, signal: 'SIGKILL' })
    expect(t.failed).toBe(true)
    expect(Date.now() - started).toBeLessThan(10_000)
  }, 20_000)

  test('a malformed GITHUB_ENV fails the step; NODE_OPTIONS is refused', async () => {
    const bad = await runJob({ actionDir: ALWAYS, inputs: { 'auth-url': 'u', mode: 'badenv' } })
    expect(bad.main!.status).toBe('failure')
    expect(bad.main!.exitCode).toBe(0)
    expect(bad.main!.errors.join('\n')).toMatch(/Unable to process file command 'env'.*Matching delimiter not found 'EOF'/)

    const nodeOptions = await runJob({ actionDir: ALWAYS, inputs: { 'auth-url': 'u', mode: 'nodeopts' } })
    expect(nodeOptions.main!.status).toBe('success')
    expect(nodeOptions.env.NODE_OPTIONS).toBeUndefined()
    expect(nodeOptions.main!.annotations).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringMatching(/NODE_OPTIONS/) }))
  })

  test('unknown inputs are an error (catches typos in tests)', async () => {
    await expect(runJob({ actionDir: ALWAYS, inputs: { 'auth-ur': 'u' } })).rejects.toThrow(/Unexpected input 'auth-ur'/)
  })

  test('steps before the action, and test-code steps that read and export env', async () => {
    let seen: string | undefined
    const t = await runJob({
      actionDir: ALWAYS,
      inputs: { 'auth-url': 'u' },
      before: [{ name: 'prepare', run: 'echo "JOB_LEVEL=from-before" >> "$GITHUB_ENV"' }],
      steps: [
        {
          name: 'check',
          fn: ({ env }) => {
            seen = env.FAKE_TOKEN
            return { env: { FROM_RUN: 'fn' } }
          }
        }
      ]
    })
    expect(jsonLine(t.main!.stdout, 'env=').JOB_LEVEL).toBe('from-before')
    expect(seen).toBe(SECRET)
    expect(jsonLine(t.post!.stdout, 'post=').fromRun).toBe('fn')

    const failing = await runJob({
      actionDir: ALWAYS,
      inputs: { 'auth-url': 'u' },
      steps: [
        {
          name: 'assert',
          fn: () => {
            throw new Error('nope')
          }
        }
      ]
    })
    expect(failing.step('assert')).toMatchObject({ status: 'failure', stderr: ['nope'] })
    expect(failing.failed).toBe(true)
  })

  test('two uses: steps in one job: outputs through ${{ steps.ID.outputs.NAME }}, post steps in reverse order', async () => {
    const t = await runJob({
      actionDir: ALWAYS,
      id: 'first',
      inputs: { 'auth-url': 'first-url' },
      steps: [
        { name: 'second login', id: 'second', uses: { inputs: { 'auth-url': 'second-url', mode: '${{ steps.first.outputs.nothing }}ok' } } },
        {
          name: 'pick',
          run: 'echo "first=$A second=$B none=[${{ steps.nobody.outputs.token-id }}]"',
          env: { A: '${{ steps.first.outputs.token-id }}', B: '${{ steps.second.outputs.token-id }}' }
        }
      ]
    })
    expect(t.status).toBe('success')
    expect(t.steps.map(s => [s.name, s.stage])).toEqual([
      ['Run ./', 'main'],
      ['second login', 'main'],
      ['pick', 'run'],
      ['Post second login', 'post'],
      ['Post Run ./', 'post']
    ])
    expect(t.step('pick')!.stdout).toContain('first=id-123 second=id-123 none=[]')
    expect(jsonLine(t.step('Post second login')!.stdout, 'post=').authUrl).toBe('second-url')
    expect(jsonLine(t.post!.stdout, 'post=').authUrl).toBe('first-url')
  })

  test('a failing second uses: still gets its post step (always()); later run steps are skipped', async () => {
    const t = await runJob({
      actionDir: ALWAYS,
      inputs: { 'auth-url': 'u' },
      steps: [
        { name: 'second login', uses: { inputs: { 'auth-url': 'v', mode: 'fail' } } },
        { name: 'after', run: 'echo never' }
      ]
    })
    expect(t.steps.map(s => [s.name, s.status])).toEqual([
      ['Run ./', 'success'],
      ['second login', 'failure'],
      ['after', 'skipped'],
      ['Post second login', 'success'],
      ['Post Run ./', 'success']
    ])
  })

  test('node: the action steps run with the node binary given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-node-'))
    dirs.push(dir)
    const wrapper = join(dir, 'node')
    writeFileSync(wrapper, `#!/bin/sh\necho "wrapped node"\nexec ${JSON.stringify(process.execPath)} "$@"\n`, { mode: 0o755 })
    const t = await runJob({ actionDir: ALWAYS, inputs: { 'auth-url': 'u' }, node: wrapper, steps: [{ name: 'plain', run: 'echo plain' }] })
    expect(t.status).toBe('success')
    expect(t.main!.stdout[0]).toBe('wrapped node')
    expect(t.post!.stdout[0]).toBe('wrapped node')
    expect(t.step('plain')!.stdout).toEqual(['plain'])
  })

  test('RUNNER_OS Windows: file commands written with CRLF (as @actions/core does there) are read as the runner reads them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-crlf-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'action.yml'), 'name: crlf\nruns:\n  using: node20\n  main: main.mjs\n')
    writeFileSync(
      join(dir, 'main.mjs'),
      [
        "import { appendFileSync } from 'node:fs'",
        "appendFileSync(process.env.GITHUB_ENV, 'A<<ghadelimiter_1\\r\\nC:\\\\x;D:\\\\y\\r\\nghadelimiter_1\\r\\nB=b\\r\\n')",
        "appendFileSync(process.env.GITHUB_STATE, 'token=t\\r\\n')",
        "appendFileSync(process.env.GITHUB_PATH, 'C:\\\\tools\\r\\n')"
      ].join('\n')
    )
    const windows = await runJob({ actionDir: dir, runnerEnv: { RUNNER_OS: 'Windows' } })
    expect([windows.main!.exportedEnv, windows.state, windows.main!.path]).toEqual([{ A: 'C:\\x;D:\\y', B: 'b' }, { token: 't' }, ['C:\\tools']])
    // On Linux the runner keeps the CR in values (GITHUB_PATH is read line by line everywhere).
    const linux = await runJob({ actionDir: dir })
    expect([linux.main!.exportedEnv, linux.state, linux.main!.path]).toEqual([{ A: 'C:\\x;D:\\y\r', B: 'b\r' }, { token: 't\r' }, ['C:\\tools']])
  })

  test('runStep runs a single stage, e.g. post with given state', async () => {
    const post = await runStep({
      action: ALWAYS,
      stage: 'post',
      inputs: { 'auth-url': 'u' },
      state: { token: 'given' },
      env: { FAKE_TOKEN: 'x' }
    })
    expect(post.status).toBe('success')
    expect(jsonLine(post.stdout, 'post=')).toMatchObject({ token: 'given', exported: 'x', plain: null })
  })
})

describe('CLI', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [RUNNER, '--action', ALWAYS, ...args], { encoding: 'utf8', timeout: 30_000 })

  test('prints a masked log per step and exits 0 on success', () => {
    const r = cli('--input', 'auth-url=http://127.0.0.1:1/v3', '--run', 'echo "token is $FAKE_TOKEN"')
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^▶ Run \.\//m)
    expect(r.stdout).toMatch(/^▶ Post Run \.\//m)
    expect(r.stdout).toContain('token is ***')
    expect(r.stdout).toContain('Warning: careful')
    expect(r.stdout).toContain('Job succeeded')
    // Printed before ::add-mask:: (as the runner would show it), and nowhere else.
    expect(r.stdout.split(SECRET).length - 1).toBe(1)
  })

  test('exits 1 when the job failed, 2 on a usage error', () => {
    expect(cli('--input', 'auth-url=u', '--input', 'mode=fail').status).toBe(1)
    const usage = cli('--input', 'nope=1')
    expect(usage.status).toBe(2)
    expect(usage.stderr).toMatch(/Unexpected input 'nope'/)
  })
})

test('the fake action really uses @actions/core from this repo', () => {
  expect(existsSync(new URL(CORE))).toBe(true)
})
