import { jest } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { envSnapshot, runnerCommands, startKeystone, type HttpHandler, type KeystoneServer } from './helpers/hostile-server.js'
import { JSON_HEADERS, PROJ2, TOKEN, TOKEN_HEADERS, tokenBody, USER2 } from './helpers/keystone-fixtures.js'

/**
 * Values with line breaks or heredoc delimiters, from a hostile Keystone answer or from the inputs,
 * must not add or change any variable for later steps (GITHUB_ENV), any output (GITHUB_OUTPUT),
 * or slip a workflow command into the step's log. The command files are read back the way the
 * runner reads them (parseCommandFile), the log the way the runner scans it (runnerCommands).
 *
 * @actions/core writes every value as a heredoc with a random `ghadelimiter_<uuid>` delimiter and
 * throws when the value contains it. To test that last line of defence, crypto.randomUUID is made
 * predictable on demand (`forcedUuid`), so a hostile value can carry the very delimiter.
 */

const realCrypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')
let forcedUuid: string | undefined
jest.unstable_mockModule('crypto', () => ({
  ...realCrypto,
  default: realCrypto,
  randomUUID: () => forcedUuid ?? realCrypto.randomUUID()
}))
// After the mock: everything that loads @actions/core.
const { restoreSteps, runMainStep, savedField } = await import('./helpers/steps.js')
type StepRun = import('./helpers/github.js').StepRun

const PASSWORD = 'injection-Pa55word'

let keystone: KeystoneServer
beforeAll(async () => {
  keystone = await startKeystone()
})
afterAll(() => keystone?.close())

let restoreEnv: () => void
beforeEach(() => (restoreEnv = envSnapshot()))
afterEach(() => {
  restoreSteps()
  forcedUuid = undefined
  restoreEnv()
  keystone.reset()
})

/** A token document: the fixture's, with the parts a hostile Keystone chose. */
function tokenDoc({ user = {}, project = {}, extra = {} }: { user?: object; project?: object; extra?: object } = {}) {
  const body = tokenBody()
  return { token: { ...body.token, user: { ...USER2, ...user }, project: { ...PROJ2, ...project }, ...extra } }
}

const issuing =
  (doc: object): HttpHandler =>
  (_request, response) =>
    response.writeHead(201, TOKEN_HEADERS).end(JSON.stringify(doc))

/** A password login with no scope asked: Keystone's answer is taken as it comes and exported. */
async function main(doc: object, inputs: Record<string, string> = {}, env: Record<string, string> = {}): Promise<StepRun> {
  keystone.onPost(issuing(doc))
  return runMainStep(
    { 'auth-url': keystone.authUrl, 'user-id': USER2.id, password: PASSWORD, 'max-wait': '0', ...inputs },
    { env: { RUNNER_TEMP: runnerTemp, ...env }, timeoutMs: 1000 }
  )
}

/** One RUNNER_TEMP for every run: direct use's PYTHONPATH is then the same in each. */
const runnerTemp = mkdtempSync(join(tmpdir(), 'env-injection-runner-temp-'))
afterAll(() => rmSync(runnerTemp, { recursive: true, force: true }))

/** What a benign answer exports and outputs: the names every hostile run must match exactly. */
let baseline: { env: Record<string, string>; outputs: Record<string, string> }
beforeAll(async () => {
  const run = await main(tokenDoc())
  expect(run.exitCode()).toBe(0)
  baseline = { env: run.exported(), outputs: run.outputs() }
  restoreSteps()
  keystone.reset()
})

const names = (map: Record<string, string>) => Object.keys(map).sort()
const stdout = (run: StepRun) => run.lines.join('\n')
/**
 * The runner commands of a step's log, but for its own ::debug:: notes (token-use: direct lists the
 * catalog's services there, escaped by @actions/core): a forged command is never a debug line.
 */
const commandNames = (run: StepRun) =>
  runnerCommands(stdout(run))
    .map(c => c.name)
    .filter(name => name !== 'debug')

/** GITHUB_ENV and GITHUB_OUTPUT hold the usual names; the values given are exact, the rest unchanged. */
function expectFiles(run: StepRun, env: Record<string, string>, outputs: Record<string, string> = {}): void {
  const exported = run.exported()
  expect(names(exported)).toEqual(names(baseline.env))
  expect(exported).toEqual({ ...baseline.env, ...env })
  const written = run.outputs()
  expect(names(written)).toEqual(names(baseline.outputs))
  expect(written).toEqual({ ...baseline.outputs, 'expires-at': written['expires-at'], 'issued-at': written['issued-at'], ...outputs })
  for (const name of Object.keys(process.env)) expect(name).not.toMatch(/EVIL/)
}

describe('hostile values in the token document stay inside their own variable', () => {
  test('the baseline exports the usual OS_* set, and PYTHONPATH for the auth plugin (token-use: direct)', () => {
    expect(baseline.env.OS_TOKEN).toBe(TOKEN)
    expect(names(baseline.env).every(n => n.startsWith('OS_') || n === 'PYTHONPATH')).toBe(true)
    expect(names(baseline.outputs)).toEqual(['domain-id', 'expires-at', 'issued-at', 'project-id', 'token', 'user-id'])
  })

  test.each([
    ['a project name with a newline and an assignment', { name: 'x\nOS_EVIL=1' }],
    ['a project name with CRLF and an assignment', { name: 'x\r\nOS_EVIL=1' }],
    ['a project name that opens its own heredoc', { name: 'x\nOS_EVIL<<EOF\n1\nEOF' }],
    [
      'a project name with a guessed delimiter',
      { name: 'x\nghadelimiter_00000000-0000-0000-0000-000000000000\nOS_EVIL=1\nghadelimiter_00000000-0000-0000-0000-000000000000' }
    ],
    ['a project name with an empty line and a bare delimiter-looking line', { name: '\n\nghadelimiter_\nOS_EVIL=1' }]
  ])('%s', async (_what, project) => {
    const run = await main(tokenDoc({ project }))
    expect(run.exitCode()).toBe(0)
    expectFiles(run, { OS_PROJECT_NAME: project.name })
  })

  test('a project id and a project domain id with newlines: exported and output as they are, nothing more', async () => {
    const project = { id: 'p\nOS_EVIL_ID=1', domain: { id: 'd\r\nOS_EVIL_DOMAIN=1', name: 'dom\nOS_EVIL_DOMAIN_NAME=1' } }
    const run = await main(tokenDoc({ project }))
    expect(run.exitCode()).toBe(0)
    expectFiles(
      run,
      { OS_PROJECT_ID: project.id, OS_PROJECT_DOMAIN_ID: project.domain.id },
      { 'project-id': project.id, 'domain-id': project.domain.id }
    )
  })

  test('a user id with a newline and an output assignment: the user-id output holds it, nothing more', async () => {
    const user = { id: 'u\nEVIL_OUTPUT=1\ntoken=forged' }
    const run = await main(tokenDoc({ user }))
    expect(run.exitCode()).toBe(0)
    expectFiles(run, {}, { 'user-id': user.id })
    expect(run.outputs().token).toBe(TOKEN)
  })

  test('a domain-scoped token whose domain name carries a newline', async () => {
    const doc = { token: { ...tokenBody({ scope: 'domain' }).token, domain: { id: 'dom-id', name: 'dom\nOS_EVIL=1' } } }
    const run = await main(doc)
    expect(run.exitCode()).toBe(0)
    expect(names(run.exported())).toEqual(names(baseline.env))
    expect(run.exported().OS_DOMAIN_NAME).toBe('dom\nOS_EVIL=1')
    expect(run.exported().OS_PROJECT_NAME).toBe('')
  })
})

describe('a value that carries the very heredoc delimiter', () => {
  test('@actions/core refuses it: the step fails, the token is revoked, no variable is added and OS_TOKEN is not exported', async () => {
    forcedUuid = 'b7e151628aed2a6abf7158809cf4f3c7'
    const delimiter = `ghadelimiter_${forcedUuid}`
    const run = await main(tokenDoc({ project: { name: `x\n${delimiter}\nOS_EVIL=1\n${delimiter}` } }))
    expect(run.exitCode()).toBe(1)
    expect(run.lines.filter(l => l.startsWith('::error::'))).toHaveLength(1)
    const exported = run.exported()
    for (const name of Object.keys(exported)) expect(names(baseline.env)).toContain(name)
    expect(exported).not.toHaveProperty('OS_TOKEN')
    expect(exported).not.toHaveProperty('OS_EVIL')
    expect(keystone.received('DELETE').map(r => r.headers['x-subject-token'])).toEqual([TOKEN])
    expect(savedField(run, 'token')).toBe('')
  })
})

describe('hostile values reaching the log are not workflow commands', () => {
  const MASKS = ['add-mask', 'add-mask']

  test('the baseline log: the password and the token masked, one summary line', async () => {
    const run = await main(tokenDoc())
    expect(commandNames(run)).toEqual(MASKS)
  })

  test("Keystone's error message with line breaks and commands stays in one ::error:: line", async () => {
    const message = 'denied\n::set-output name=evil::1\r::add-mask::x\n##[set-output name=evil;]1'
    keystone.onPost((_request, response) =>
      response.writeHead(401, JSON_HEADERS).end(JSON.stringify({ error: { code: 401, message, title: 'Unauthorized' } }))
    )
    const step = await runMainStep({ 'auth-url': keystone.authUrl, 'user-id': USER2.id, password: PASSWORD, 'max-wait': '0' }, { timeoutMs: 1000 })
    expect(step.exitCode()).toBe(1)
    expect(commandNames(step)).toEqual(['add-mask', 'error'])
    expect(step.exported()).toEqual({})
  })

  test('a scope mismatch naming a hostile project stays in one ::error:: line', async () => {
    const run = await main(tokenDoc({ project: { id: 'other', name: 'evil\n::set-output name=evil::1\r::error::forged' } }), {
      'project-id': PROJ2.id
    })
    expect(run.exitCode()).toBe(1)
    expect(commandNames(run)).toEqual([...MASKS, 'error'])
    expect(run.exported()).toEqual({})
  })

  test('OS_CLOUD with a line break and a command is quoted inside one ::warning:: line', async () => {
    const run = await main(tokenDoc(), {}, { OS_CLOUD: 'ovh\n::set-output name=evil::1' })
    expect(run.exitCode()).toBe(0)
    expect(commandNames(run)).toEqual(['add-mask', 'warning', 'add-mask'])
  })

  // The summary line (core.info, which escapes nothing) prints Keystone's user, domain, project and
  // application credential names as they came. errors.ts has oneLine() for exactly this ("a
  // server-supplied text … before it reaches a log"), but summary() does not use it: a name with a
  // line break starts a new log line that the runner reads as a command. `##[…]` needs no line
  // break: the runner's legacy parser finds it anywhere in a line (actions/runner,
  // src/Runner.Common/ActionCommand.cs, TryParse: message.IndexOf("##[")).
  test.each([
    ['a user name with LF + ::set-output', { user: { name: 'user2\n::set-output name=evil::1' } }],
    ['a project name with a bare CR + ::error', { project: { name: 'proj2\r::error::forged failure' } }],
    ['a user domain name with LF + ::stop-commands', { user: { domain: { id: 'd', name: 'dom2\n::stop-commands::pause' } } }],
    ['an application credential name with LF + ::add-mask', { extra: { application_credential: { id: 'ac', name: 'ci\n::add-mask::Issued' } } }],
    ['a user name with the legacy ##[set-output] form and no line break', { user: { name: 'user2 ##[set-output name=evil;]1' } }]
  ])('[wrong today] %s', async (_what, parts) => {
    const run = await main(tokenDoc(parts))
    expect(commandNames(run)).toEqual(MASKS)
  })
})

describe('inputs with line breaks or delimiters', () => {
  test.each([
    ['region with CRLF', { region: 'GRA11\r\nOS_EVIL=1' }],
    ['region with a bare CR', { region: 'GRA11\rOS_EVIL=1' }],
    ['interface with LF', { interface: 'public\nOS_EVIL=1' }],
    ['project-id with LF', { 'project-id': `${PROJ2.id}\nOS_EVIL=1` }],
    ['user-id with a delimiter on its own line', { 'user-id': `${USER2.id}\nghadelimiter_0\nOS_EVIL=1` }]
  ])('%s: refused before any request, nothing written', async (_what, inputs) => {
    const run = await main(tokenDoc(), inputs)
    expect(run.exitCode()).toBe(1)
    expect(commandNames(run)).toEqual(['add-mask', 'error'])
    expect(run.exported()).toEqual({})
    expect(run.outputs()).toEqual({})
    expect(keystone.requests).toEqual([])
  })

  test('OS_REGION_NAME with LF in the job env: refused', async () => {
    const run = await main(tokenDoc(), {}, { OS_REGION_NAME: 'GRA11\nOS_EVIL=1' })
    expect(run.exitCode()).toBe(1)
    expect(run.exported()).toEqual({})
  })

  test('a single-line user name that contains ghadelimiter_… logs in and exports the usual set', async () => {
    const run = await main(tokenDoc(), {
      'user-id': '',
      username: 'ghadelimiter_00000000-0000-0000-0000-000000000000',
      'user-domain-name': 'Default'
    })
    expect(run.exitCode()).toBe(0)
    expectFiles(run, {})
    expect(JSON.parse(keystone.received('POST')[0]!.body).auth.identity.password.user.name).toBe('ghadelimiter_00000000-0000-0000-0000-000000000000')
  })

  test('a region that looks like an assignment stays the value of OS_REGION_NAME', async () => {
    // The catalog has that region: the value passes the region check and is exported as it is.
    const region = 'GRA11 OS_EVIL=1 <<EOF'
    const run = await main(
      tokenDoc({ extra: { catalog: [{ type: 'identity', endpoints: [{ interface: 'public', region_id: region, url: 'http://x/v3' }] }] } }),
      { region }
    )
    expect(run.exitCode()).toBe(0)
    expect(names(run.exported())).toEqual(names({ ...baseline.env, OS_REGION_NAME: '' }))
    expect(run.exported().OS_REGION_NAME).toBe('GRA11 OS_EVIL=1 <<EOF')
  })
})
