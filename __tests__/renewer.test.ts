import nock from 'nock'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Keystone } from '../src/keystone/client.js'
import type { RenewerHandover } from '../src/renew/handover.js'
import { ledgerPath, readLedger } from '../src/renew/ledger.js'
import { runRenewer } from '../src/renew/renewer.js'
import { KEYSTONEAUTH_MIN_LIFE_MS, renewAfterMs, renewDelayMs } from '../src/renew/schedule.js'
import { tokenStatePath } from '../src/handoff/direct-use.js'
import type { RetryClock } from '../src/net/retry.js'
import { JSON_HEADERS, keystoneError, keystoneTime, tokenBody } from './helpers/keystone-fixtures.js'

const KEYSTONE = 'https://keystone.test'
const AUTH_URL = `${KEYSTONE}/v3`
const FIRST = 'first-token-0000000000000000000000000000000'
const PASSWORD = 'renewer-unit-Pa55'
const MIN = 60_000
/** When the first token arrived, and where each test's clock starts. */
const START = Date.now()

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

describe('the schedule', () => {
  test.each([
    // [token life, renewed after]: two thirds, unless that falls inside keystoneauth's last 120 s plus the margin.
    [24 * 60 * MIN, 16 * 60 * MIN],
    [60 * MIN, 40 * MIN],
    [10 * MIN, (10 * MIN * 2) / 3],
    [5 * MIN, 2 * MIN],
    [4 * MIN, 1 * MIN]
  ])('a token of %i ms is renewed after %i ms', (life, after) => {
    expect(renewAfterMs(life)).toBe(after)
  })

  test('never inside keystoneauth’s last 120 s for any token that leaves room for it', () => {
    for (let life = 3.5 * MIN; life <= 48 * 60 * MIN; life += 60_013) {
      expect(life - renewAfterMs(life)).toBeGreaterThan(KEYSTONEAUTH_MIN_LIFE_MS)
      expect(renewAfterMs(life)).toBeLessThanOrEqual((life * 2) / 3)
    }
  })

  test('short tokens: at half their life, at most every 30 s, never in a loop', () => {
    expect(renewAfterMs(2 * MIN)).toBe(30_000)
    expect(renewAfterMs(40_000)).toBe(20_000)
    expect(renewAfterMs(0)).toBe(0)
  })

  test('counted from the arrival on the runner’s clock; time already gone is taken off', () => {
    const receivedAt = new Date('2026-12-06T04:00:00Z')
    expect(renewDelayMs({ validForMs: 5 * MIN, receivedAt }, new Date('2026-12-06T04:00:30Z'))).toBe(90_000)
    expect(renewDelayMs({ validForMs: 5 * MIN, receivedAt }, new Date('2026-12-06T05:00:00Z'))).toBe(0)
  })

  test.each([
    ['an hour ahead of', 3600_000],
    ['an hour behind', -3600_000]
  ])("Keystone's clock %s the runner's: the same schedule, by Keystone's own clock", async (_, skew) => {
    const keystoneNow = new Date(Date.now() + skew)
    const body = tokenBody()
    body.token.issued_at = keystoneTime(keystoneNow)
    body.token.expires_at = keystoneTime(new Date(keystoneNow.getTime() + 5 * MIN))
    nock(KEYSTONE)
      .post('/v3/auth/tokens')
      .reply(201, body, { ...JSON_HEADERS, 'X-Subject-Token': FIRST })
    const runnerNow = new Date()
    const token = await new Keystone(AUTH_URL, { timeoutMs: 1000, now: () => runnerNow }).issue({}, { catalog: true })
    expect(renewDelayMs(token, runnerNow)).toBe(2 * MIN)
  })
})

/** A clock whose sleeps return at once (moving its time on) until `stop` says the test has seen enough. */
function renewerClock(controller: AbortController, stop: (sleeps: number[]) => boolean): RetryClock & { sleeps: number[] } {
  let now = START
  const sleeps: number[] = []
  return {
    sleeps,
    now: () => now,
    random: () => 0.5,
    sleep: async ms => {
      if (stop(sleeps)) {
        controller.abort(new Error('stopped by the test'))
        throw new Error('aborted')
      }
      sleeps.push(ms)
      now += ms
    }
  }
}

let runnerTemp: string
beforeEach(() => {
  runnerTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'renewer-'))
  const state = tokenStatePath(runnerTemp, FIRST)
  fs.mkdirSync(path.dirname(state), { recursive: true })
  fs.writeFileSync(state, JSON.stringify({ auth_token: FIRST, body: tokenBody() }), { mode: 0o600 })
})
afterEach(() => fs.rmSync(runnerTemp, { recursive: true, force: true }))

function handover(extra: Partial<RenewerHandover> = {}): RenewerHandover {
  return {
    version: 1,
    nonce: 'n'.repeat(32),
    authUrl: AUTH_URL,
    credentials: { method: 'password', user: { id: 'u1' }, password: PASSWORD },
    scope: { kind: 'project', project: { id: 'p1' } },
    timing: { maxWaitMs: 300_000, outageWaitMs: 30_000, timeoutMs: 1000 },
    runnerTemp,
    first: { value: FIRST, validForMs: 5 * MIN, receivedAtMs: START },
    proxy: {},
    ...extra
  }
}

function issued(token: string, lifeMs = 5 * MIN) {
  return [201, tokenBody({ expiresInMs: lifeMs }), { ...JSON_HEADERS, 'X-Subject-Token': token }] as const
}

function run(h: RenewerHandover, stop: (sleeps: number[]) => boolean, getIDToken?: (audience?: string) => Promise<string>) {
  const controller = new AbortController()
  const clock = renewerClock(controller, stop)
  const done = runRenewer(h, {
    clock,
    now: () => new Date(clock.now()),
    signal: controller.signal,
    pid: 777,
    ...(getIDToken && { getIDToken })
  })
  return { clock, done }
}

const state = (token: string) => JSON.parse(fs.readFileSync(tokenStatePath(runnerTemp, token), 'utf8')) as Record<string, unknown>

test('a password login is renewed at its schedule, the state replaced under each name handed out, every token in the ledger', async () => {
  const logins = nock(KEYSTONE)
    .post('/v3/auth/tokens', body => JSON.stringify(body).includes(PASSWORD))
    .reply(...issued('renewed-1'))
    .post('/v3/auth/tokens', body => JSON.stringify(body).includes(PASSWORD))
    .reply(...issued('renewed-2'))
  const { clock, done } = run(handover(), sleeps => sleeps.length === 2 && logins.isDone())
  const ledger = await done
  expect(logins.isDone()).toBe(true)
  // 300 s tokens: each renewed 120 s after it arrived, out of keystoneauth's last 120 s with a minute to spare.
  expect(clock.sleeps).toEqual([2 * MIN, 2 * MIN])
  expect(state(FIRST)).toMatchObject({ auth_token: 'renewed-2', auth_url: AUTH_URL, valid_for: 300, body: { token: { catalog: expect.any(Array) } } })
  expect(state('renewed-1')).toMatchObject({ auth_token: 'renewed-2' })
  expect(fs.statSync(tokenStatePath(runnerTemp, FIRST)).mode & 0o777).toBe(0o600)
  expect(ledger).toMatchObject({ pid: 777, issued: ['renewed-1', 'renewed-2'], renewals: 2, failures: [] })
  expect(readLedger(ledgerPath(runnerTemp, FIRST))).toEqual(ledger)
  expect(fs.statSync(ledgerPath(runnerTemp, FIRST)).mode & 0o777).toBe(0o600)
  // No temporary file left beside the state.
  expect(fs.readdirSync(path.dirname(tokenStatePath(runnerTemp, FIRST))).filter(name => name.endsWith('.tmp'))).toEqual([])
  expect(fs.readFileSync(ledgerPath(runnerTemp, FIRST), 'utf8')).not.toContain(PASSWORD)
})

test('a rate limit that outlasts max-wait is recorded and tried again a minute later; the token then lands', async () => {
  const logins = nock(KEYSTONE)
    .post('/v3/auth/tokens')
    .reply(429, keystoneError(429, 'Too Many Requests', 'slow down'), JSON_HEADERS)
    .post('/v3/auth/tokens')
    .reply(...issued('renewed-1'))
  const { clock, done } = run(handover({ timing: { maxWaitMs: 0, outageWaitMs: 0, timeoutMs: 1000 } }), () => logins.isDone())
  const ledger = await done
  expect(clock.sleeps).toEqual([2 * MIN, MIN])
  expect(ledger.failures).toEqual([{ at: expect.any(String), message: expect.stringMatching(/^Gave up after 1 attempt .*HTTP 429/) }])
  expect(ledger.stopped).toBeUndefined()
  expect(ledger.issued).toEqual(['renewed-1'])
  expect(state(FIRST)).toMatchObject({ auth_token: 'renewed-1' })
})

test('an outage is retried within outage-wait before it counts as a failure', async () => {
  const logins = nock(KEYSTONE)
    .post('/v3/auth/tokens')
    .reply(503, 'down')
    .post('/v3/auth/tokens')
    .reply(...issued('renewed-1'))
  const { done } = run(handover(), () => logins.isDone())
  const ledger = await done
  expect(ledger).toMatchObject({ issued: ['renewed-1'], renewals: 1, failures: [] })
})

test('a refused credential (401) stops the renewer: more attempts would only count towards a lockout', async () => {
  nock(KEYSTONE)
    .post('/v3/auth/tokens')
    .reply(401, keystoneError(401, 'Unauthorized', 'The request you have made requires authentication.'), JSON_HEADERS)
  const { clock, done } = run(handover(), () => false)
  const ledger = await done
  expect(clock.sleeps).toEqual([2 * MIN])
  expect(ledger.stopped).toBe('a renewal failed in a way that trying again cannot fix')
  expect(ledger.failures).toEqual([{ at: expect.any(String), message: expect.stringMatching(/HTTP 401/) }])
  expect(state(FIRST)).toMatchObject({ auth_token: FIRST })
})

test('keyless: a fresh GitHub ID token is exchanged again; the unscoped token is revoked at once, the scoped one recorded', async () => {
  const asked: (string | undefined)[] = []
  const keystone = nock(KEYSTONE)
    .post('/v3/OS-FEDERATION/identity_providers/github/protocols/openid/auth')
    .matchHeader('authorization', 'Bearer fresh.id.token')
    .reply(201, tokenBody({ scope: 'unscoped' }), { ...JSON_HEADERS, 'X-Subject-Token': 'unscoped-1' })
    .post('/v3/auth/tokens', body => JSON.stringify(body).includes('unscoped-1'))
    .reply(...issued('scoped-1'))
    .delete('/v3/auth/tokens')
    .matchHeader('x-subject-token', 'unscoped-1')
    .reply(204)
  const { done } = run(
    handover({ credentials: { method: 'oidc', identityProvider: 'github', protocol: 'openid', audience: AUTH_URL } }),
    () => keystone.isDone(),
    async audience => {
      asked.push(audience)
      return 'fresh.id.token'
    }
  )
  const ledger = await done
  expect(asked).toEqual([AUTH_URL])
  expect(ledger.issued).toEqual(['scoped-1'])
  expect(state(FIRST)).toMatchObject({ auth_token: 'scoped-1' })
})

test('once the token state is gone (the job is over), it stops without logging in', async () => {
  fs.rmSync(tokenStatePath(runnerTemp, FIRST))
  const { done } = run(handover(), () => false)
  const ledger = await done
  expect(ledger.stopped).toMatch(/the token state is gone/)
  expect(ledger.issued).toEqual([])
})
