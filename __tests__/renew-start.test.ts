import nock from 'nock'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { decodeHandover } from '../src/renew/handover.js'
import { startRenewal } from '../src/renew/start.js'
import { tokenStateFileName } from '../src/handoff/auth-plugin.js'
import { runMain } from '../src/steps/main-step.js'
import { loadRenewer } from '../src/runtime/state.js'
import { githubStep, type StepRun } from './helpers/github.js'
import { TOKEN, TOKEN_HEADERS, tokenBody } from './helpers/keystone-fixtures.js'
import { fakeSpawn } from './helpers/spawn.js'

/** The main step starts the renewer: what it starts, with which environment, and what goes through its stdin. */

const KEYSTONE = 'https://keystone.test'
const PASSWORD = 'renew-start-Pa55'
const ID_TOKEN_REQUEST_TOKEN = 'runtime-request-token-secret'

/** A job's environment, secrets and all, as the main step's process has it. */
const JOB_ENV = {
  OS_AUTH_URL: `${KEYSTONE}/v3`,
  OS_USERNAME: 'user2',
  OS_PASSWORD: PASSWORD,
  OS_USER_DOMAIN_NAME: 'dom2',
  OS_PROJECT_NAME: 'proj2',
  OS_PROJECT_DOMAIN_NAME: 'dom2',
  INPUT_PASSWORD: PASSWORD,
  GITHUB_TOKEN: 'ghs_job-token',
  ACTIONS_RUNTIME_TOKEN: 'runtime-token',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions.test/issue?api-version=2.0',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: ID_TOKEN_REQUEST_TOKEN,
  https_proxy: 'http://proxyuser:proxy-pass@proxy.test:3128',
  NODE_OPTIONS: '--require /tmp/evil.js',
  RUNNER_TRACKING_ID: 'github_0a1b2c',
  PATH: '/usr/bin'
}

let step: StepRun
let runnerTemp: string
beforeAll(() => nock.disableNetConnect())
beforeEach(() => {
  runnerTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'renew-start-'))
})
afterEach(() => {
  step?.restore()
  nock.cleanAll()
  fs.rmSync(runnerTemp, { recursive: true, force: true })
})
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

async function main(inputs: Record<string, string>, env: Record<string, string> = JOB_ENV) {
  const spawn = fakeSpawn(31337)
  step = githubStep({ 'token-use': 'direct', ...inputs })
  nock(KEYSTONE).post('/v3/auth/tokens').reply(201, tokenBody(), TOKEN_HEADERS)
  await runMain({ core: step.core, env: { ...env, RUNNER_TEMP: runnerTemp }, timeoutMs: 1000, spawn })
  return { run: step, spawn }
}

test('with the defaults, a direct-use login starts the renewer: detached, stdio closed, the credentials on its stdin only', async () => {
  const { run, spawn } = await main({})
  expect(run.exitCode()).toBe(0)
  expect(spawn.started).toHaveLength(1)
  const started = spawn.started[0]!
  expect(started.command).toBe(process.execPath)
  expect(started.args).toHaveLength(2)
  expect(started.args[0]).toMatch(/renew[\\/]index\.js$/)
  expect(started.args[1]).toMatch(/^[0-9a-f]{32}$/)
  expect(started.options).toMatchObject({ detached: true, stdio: ['pipe', 'ignore', 'ignore'] })
  // Stripped to what the runner needs to end it with the job; no secret, no NODE_OPTIONS, no proxy.
  expect(started.options.env).toEqual({ RUNNER_TRACKING_ID: 'github_0a1b2c' })

  const handover = decodeHandover(started.stdin())
  expect(handover).toMatchObject({
    nonce: started.args[1],
    authUrl: `${KEYSTONE}/v3`,
    credentials: { method: 'password', password: PASSWORD, user: { name: 'user2', domain: { name: 'dom2' } } },
    scope: { kind: 'project', project: { name: 'proj2', domain: { name: 'dom2' } } },
    runnerTemp,
    first: { value: TOKEN },
    proxy: { https_proxy: 'http://proxyuser:proxy-pass@proxy.test:3128' }
  })
  expect(handover.first.validForMs).toBeGreaterThan(3_500_000)
  expect(handover.idTokenRequest).toBeUndefined()

  // Nothing the step wrote or exported carries the password; the state names the process.
  expect(JSON.stringify([started.args, started.options])).not.toContain(PASSWORD)
  expect(JSON.stringify(run.exported())).not.toContain(PASSWORD)
  expect(JSON.stringify(run.state())).not.toContain(PASSWORD)
  expect(loadRenewer({ getState: name => run.state()[name] ?? '' })).toEqual({
    pid: 31337,
    nonce: started.args[1],
    ledger: path.join(runnerTemp, 'openstack-token', 'renew', tokenStateFileName(TOKEN))
  })
  expect(run.lines).toContainEqual(expect.stringMatching(/^The token is renewed 40 min after each login, in the background/))
})

test('renew: false starts nothing', async () => {
  const { run, spawn } = await main({ renew: 'false' })
  expect(run.exitCode()).toBe(0)
  expect(spawn.started).toEqual([])
  expect(run.state().renewer).toBeUndefined()
})

test('token-use: exchange starts nothing: later steps do not read a token state a renewal could replace', async () => {
  const { spawn } = await main({ 'token-use': 'exchange' })
  expect(spawn.started).toEqual([])
})

test('renew: maybe is refused in one sentence', async () => {
  const { run, spawn } = await main({ renew: 'maybe' })
  expect(spawn.started).toEqual([])
  expect(run.lines.filter(l => l.startsWith('::error::'))).toEqual(['::error::input `renew` is "maybe": use true or false.'])
})

function core(state: Record<string, string> = {}) {
  const lines: string[] = []
  return {
    lines,
    state,
    info: (m: string) => void lines.push(m),
    warning: (m: string) => void lines.push(`::warning::${m}`),
    debug: (m: string) => void lines.push(`::debug::${m}`),
    saveState: (name: string, value: string) => void (state[name] = value)
  }
}

const KEYLESS = {
  authUrl: `${KEYSTONE}/v3`,
  credentials: { method: 'oidc' as const, identityProvider: 'github', protocol: 'openid', audience: `${KEYSTONE}/v3` },
  scope: { kind: 'project' as const, project: { id: 'p1' } },
  timing: { maxWaitMs: 300_000, outageWaitMs: 30_000, timeoutMs: 30_000 }
}

test("keyless: the runner's ID-token request goes through stdin, not the environment", async () => {
  const spawn = fakeSpawn()
  const c = core()
  await startRenewal({
    core: c,
    env: JOB_ENV,
    source: { input: () => '', env: JOB_ENV },
    config: KEYLESS,
    token: { value: TOKEN, validForMs: 3_600_000, receivedAt: new Date() },
    tls: {},
    runnerTemp,
    spawn,
    platform: 'linux'
  })
  const started = spawn.started[0]!
  expect(started.options.env).toEqual({ RUNNER_TRACKING_ID: 'github_0a1b2c' })
  expect(decodeHandover(started.stdin()).idTokenRequest).toEqual({ url: JOB_ENV.ACTIONS_ID_TOKEN_REQUEST_URL, token: ID_TOKEN_REQUEST_TOKEN })
})

test('Windows: not renewed, and said so', async () => {
  const spawn = fakeSpawn()
  const c = core()
  await startRenewal({
    core: c,
    env: JOB_ENV,
    source: { input: () => '', env: JOB_ENV },
    config: KEYLESS,
    token: { value: TOKEN, validForMs: 3_600_000, receivedAt: new Date() },
    tls: {},
    runnerTemp,
    spawn,
    platform: 'win32'
  })
  expect(spawn.started).toEqual([])
  expect(c.lines).toEqual(['The token is not renewed on this runner (win32): renewal needs Linux or macOS.'])
})

test('a renewer that cannot be started is a warning, not a failed step, and leaves no state', async () => {
  const c = core()
  await startRenewal({
    core: c,
    env: JOB_ENV,
    source: { input: () => '', env: JOB_ENV },
    config: KEYLESS,
    token: { value: TOKEN, validForMs: 3_600_000, receivedAt: new Date() },
    tls: {},
    runnerTemp,
    script: path.join(runnerTemp, 'missing', 'index.js'),
    platform: 'linux'
  })
  expect(c.lines).toEqual([
    expect.stringMatching(/^::warning::Could not start the token renewer \(.*missing.* is missing\): the token is not renewed/)
  ])
  expect(c.state).toEqual({})
})
