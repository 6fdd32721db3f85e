import nock from 'nock'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { writeLedger, type Ledger } from '../src/renew/ledger.js'
import { endRenewal, STOP_WAIT_MS, type ProcessControl } from '../src/renew/stop.js'
import { refreshEnvironment } from '../src/renew/refresh.js'
import { tokenStatePath } from '../src/handoff/direct-use.js'
import { runPost } from '../src/steps/post-step.js'
import { githubStep, type StepRun } from './helpers/github.js'
import { TOKEN } from './helpers/keystone-fixtures.js'

/** The post step ends the renewer, reports what went wrong while nobody could see it, and revokes every token it issued. */

const KEYSTONE = 'https://keystone.test'
const NONCE = 'a'.repeat(32)
const PID = 4321

let dir: string
let step: StepRun | undefined
beforeAll(() => nock.disableNetConnect())
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renew-post-'))
})
afterEach(() => {
  step?.restore()
  step = undefined
  nock.cleanAll()
  fs.rmSync(dir, { recursive: true, force: true })
})
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

function ledger(extra: Partial<Ledger> = {}): string {
  const file = path.join(dir, 'ledger.json')
  writeLedger(dir, file, { pid: PID, nonce: NONCE, issued: ['renewed-1', 'renewed-2'], renewals: 2, failures: [], ...extra })
  return file
}

/** A process table of one process, the renewer, that ends on SIGTERM unless told to ignore it. */
function processes({ ours = true, ignoresTerm = false } = {}): ProcessControl & { signals: string[] } {
  let alive = true
  const signals: string[] = []
  return {
    signals,
    commandLine: pid => (alive && pid === PID ? ['/usr/bin/node', '/a/dist/renew/index.js', ours ? NONCE : 'b'.repeat(32)] : undefined),
    kill: (pid, signal) => {
      if (!alive || pid !== PID) throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' })
      signals.push(signal)
      if (signal === 'SIGKILL' || !ignoresTerm) alive = false
    },
    sleep: async () => undefined
  }
}

function core(state: Record<string, string>) {
  const lines: string[] = []
  return {
    lines,
    getState: (name: string) => state[name] ?? '',
    info: (m: string) => void lines.push(m),
    warning: (m: string) => void lines.push(`::warning::${m}`),
    debug: () => undefined,
    setSecret: () => undefined
  }
}

const renewerState = (file: string) => ({ renewer: JSON.stringify({ pid: PID, nonce: NONCE, ledger: file }) })

test('ends the renewer with SIGTERM, returns every token it issued, removes its ledger', async () => {
  const file = ledger()
  const control = processes()
  const c = core(renewerState(file))
  expect(await endRenewal(c, control)).toEqual(['renewed-1', 'renewed-2'])
  expect(control.signals).toEqual(['SIGTERM'])
  expect(c.lines).toEqual(['Token renewals during the job: 2.'])
  expect(fs.existsSync(file)).toBe(false)
})

test('a renewer that ignores SIGTERM is killed after the bounded wait', async () => {
  const control = processes({ ignoresTerm: true })
  let waited = 0
  control.sleep = async ms => void (waited += ms)
  await endRenewal(core(renewerState(ledger())), control)
  expect(control.signals).toEqual(['SIGTERM', 'SIGKILL'])
  expect(waited).toBeGreaterThanOrEqual(STOP_WAIT_MS)
})

test('a pid that is no longer the renewer (another command line) is never signalled', async () => {
  const control = processes({ ours: false })
  const c = core(renewerState(ledger()))
  expect(await endRenewal(c, control)).toEqual(['renewed-1', 'renewed-2'])
  expect(control.signals).toEqual([])
  expect(c.lines).toEqual([
    expect.stringMatching(/^::warning::The token renewer had ended before the post step/),
    'Token renewals during the job: 2.'
  ])
})

test('failed renewals are reported as one warning, with the last reason and whether it gave up', async () => {
  const file = ledger({
    issued: ['renewed-1'],
    failures: [
      { at: '2026-12-06T04:10:00.000Z', message: 'Gave up after 3 attempts over 30 s (outage-wait 30 s). Last answer: HTTP 503.' },
      { at: '2026-12-06T04:11:00.000Z', message: 'Keystone answered HTTP 401 at https://keystone.test/v3/auth/tokens: check the password.' }
    ],
    stopped: 'a renewal failed in a way that trying again cannot fix'
  })
  const c = core(renewerState(file))
  await endRenewal(c, processes())
  expect(c.lines).toEqual([
    '::warning::Token renewal failed 2 times during the job (last at 2026-12-06T04:11:00.000Z): Keystone answered HTTP 401 at https://keystone.test/v3/auth/tokens: check the password. It stopped renewing: a renewal failed in a way that trying again cannot fix; later calls may have failed once the token expired.',
    'Token renewals during the job: 2.'
  ])
})

test('no ledger: the renewer never ran, and the post step says so', async () => {
  const c = core(renewerState(path.join(dir, 'none.json')))
  expect(await endRenewal(c, processes({ ours: false }))).toEqual([])
  expect(c.lines).toEqual(['::warning::The token renewer left no record: it did not start, so the token was not renewed.'])
})

test('the post step revokes the first token and every renewed one', async () => {
  const file = ledger()
  const revocations = [TOKEN, 'renewed-1', 'renewed-2'].map(token =>
    nock(KEYSTONE).delete('/v3/auth/tokens').matchHeader('x-subject-token', token).matchHeader('x-auth-token', token).reply(204)
  )
  step = githubStep({}, { token: TOKEN, 'auth-url': `${KEYSTONE}/v3`, revoke: 'true', ...renewerState(file) })
  // The pid is not a process of this machine's: the post step reads the ledger and signals nothing.
  await runPost({ core: step.core, env: {}, timeoutMs: 1000 })
  for (const revocation of revocations) expect(revocation.isDone()).toBe(true)
  expect(step.lines.filter(l => !l.startsWith('::add-mask::'))).toEqual([
    expect.stringMatching(/^::warning::The token renewer had ended before the post step/),
    'Token renewals during the job: 2.',
    'Token revoked.',
    'Renewed token revoked.',
    'Renewed token revoked.'
  ])
  expect(step.lines.filter(l => l.startsWith('::add-mask::'))).toEqual(expect.arrayContaining(['::add-mask::renewed-1', '::add-mask::renewed-2']))
})

describe('refresh-env: true', () => {
  function refreshCore() {
    const exported: Record<string, string> = {}
    const outputs: Record<string, string> = {}
    const lines: string[] = []
    return {
      exported,
      outputs,
      lines,
      setSecret: (s: string) => void lines.push(`::add-mask::${s}`),
      info: (m: string) => void lines.push(m),
      exportVariable: (n: string, v: string) => void (exported[n] = v),
      setOutput: (n: string, v: string) => void (outputs[n] = v)
    }
  }
  const writeState = (authToken: string) => {
    const file = tokenStatePath(dir, TOKEN)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, JSON.stringify({ auth_token: authToken, body: {} }))
  }

  test('hands on the renewed token as OS_TOKEN, OS_AUTH_TOKEN and the token output, masked first', async () => {
    writeState('renewed-3')
    const c = refreshCore()
    await refreshEnvironment(c, { OS_TOKEN: TOKEN, RUNNER_TEMP: dir })
    expect(c.exported).toEqual({ OS_TOKEN: 'renewed-3', OS_AUTH_TOKEN: 'renewed-3' })
    expect(c.outputs).toEqual({ token: 'renewed-3' })
    expect(c.lines[0]).toBe('::add-mask::renewed-3')
  })

  test('before any renewal: the same token, and says so', async () => {
    writeState(TOKEN)
    const c = refreshCore()
    await refreshEnvironment(c, { OS_TOKEN: TOKEN, RUNNER_TEMP: dir })
    expect(c.lines).toContain('The token has not been renewed yet: OS_TOKEN and OS_AUTH_TOKEN stay as they are.')
  })

  test.each([
    [{ RUNNER_TEMP: 'x' }, /OS_TOKEN is not set: run the action with your credentials in an earlier step/],
    [{ OS_TOKEN: TOKEN, RUNNER_TEMP: '' }, /RUNNER_TEMP is not set/],
    [
      { OS_TOKEN: 'another-token' },
      /found no token state for the job's OS_TOKEN under RUNNER_TEMP: the earlier openstack-token step used token-use: exchange or renew: false/
    ]
  ])('%j: one sentence saying what is missing', async (env, message) => {
    writeState('renewed-3')
    const e = { RUNNER_TEMP: dir, ...env }
    await expect(refreshEnvironment(refreshCore(), e)).rejects.toThrow(message)
  })
})
