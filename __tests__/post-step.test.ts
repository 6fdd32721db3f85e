import nock from 'nock'
import { fakeClock } from './helpers/clock.js'
import type { StepRun } from './helpers/github.js'
import { expectNoLeak, restoreSteps, runPostStep, savedState, type StateField } from './helpers/steps.js'
import { JSON_HEADERS, keystoneError, TOKEN } from './helpers/keystone-fixtures.js'

const KEYSTONE = 'https://keystone.test'
const inAnHour = () => new Date(Date.now() + 3600_000).toISOString()

beforeAll(() => nock.disableNetConnect())
afterEach(() => {
  restoreSteps()
  nock.cleanAll()
})
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

function post(state: Record<string, string>, inputs: Record<string, string> = {}, clock = fakeClock()): Promise<StepRun> {
  return runPostStep(state, { inputs, timeoutMs: 1000, clock })
}

const saved = (extra: Partial<Record<StateField, string>> = {}) =>
  savedState({
    token: TOKEN,
    authUrl: `${KEYSTONE}/v3`,
    expiresAt: inAnHour(),
    revoke: 'true',
    ...extra
  })

function infoLines(run: StepRun): string[] {
  return run.lines.filter(l => !l.startsWith('::add-mask::'))
}

test('204: revoked, with the token as its own credential', async () => {
  const scope = nock(KEYSTONE).delete('/v3/auth/tokens').matchHeader('x-auth-token', TOKEN).matchHeader('x-subject-token', TOKEN).reply(204)
  const run = await post(saved())
  expect(scope.isDone()).toBe(true)
  expect(infoLines(run)).toEqual(['Token revoked.'])
  expect(run.exitCode()).toBe(0)
})

test.each([401, 404])('%i: already gone, not an error', async status => {
  nock(KEYSTONE)
    .delete('/v3/auth/tokens')
    .reply(status, keystoneError(status, 'x', 'y'), JSON_HEADERS)
  const run = await post(saved())
  expect(infoLines(run)).toEqual(['Token already revoked or expired: nothing to do.'])
  expect(run.exitCode()).toBe(0)
})

test.each([401, 404])(
  '%i for a token of an application credential with access rules: a warning that it stays valid, not "already gone"',
  async status => {
    nock(KEYSTONE)
      .delete('/v3/auth/tokens')
      .reply(status, keystoneError(status, 'x', 'y'), JSON_HEADERS)
    const run = await post(saved({ accessRules: 'true' }))
    const lines = infoLines(run)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^::warning::Keystone could not revoke this token: it comes from an application credential with access rules.* It stays valid until /
    )
    expect(run.exitCode()).toBe(0)
  }
)

test('a token of an application credential with access rules that Keystone does revoke: "Token revoked."', async () => {
  nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)
  const run = await post(saved({ accessRules: 'true' }))
  expect(infoLines(run)).toEqual(['Token revoked.'])
})

test('5xx: a warning that says until when the token stays valid, never a failed job', async () => {
  nock(KEYSTONE)
    .delete('/v3/auth/tokens')
    .reply(500, keystoneError(500, 'Internal Server Error', 'boom'), JSON_HEADERS)
  const expiresAt = inAnHour()
  const run = await post(saved({ expiresAt: expiresAt }))
  expect(run.exitCode()).toBe(0)
  expect(infoLines(run)).toEqual([
    `::warning::Could not revoke the token: Keystone answered HTTP 500 to the revocation at ${KEYSTONE}/v3/auth/tokens: "boom". It stays valid until ${expiresAt.replace(/\.\d{3}Z$/, 'Z')}.`
  ])
})

test('Keystone unreachable: a warning after the retries, never a failed job', async () => {
  const clock = fakeClock()
  const run = await post(saved({ authUrl: 'http://127.0.0.1:1/v3' }), {}, clock)
  expect(run.exitCode()).toBe(0)
  const warning = infoLines(run).find(l => l.startsWith('::warning::'))
  expect(warning).toMatch(
    /^::warning::Could not revoke the token: Gave up after \d+ attempts over .* \(outage-wait 30 s; a rate limit \(429\) gets max-wait\)\. Last answer: Could not revoke the token at 127.0.0.1:1: /
  )
  // Nothing answers there: the outage budget (30 s by default), not the post step's minute.
  expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(30_000)
})

test('a 503 is retried, then the revocation goes through', async () => {
  nock(KEYSTONE).delete('/v3/auth/tokens').reply(503, '', { 'Retry-After': '2' })
  nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)
  const clock = fakeClock()
  const run = await post(saved(), {}, clock)
  expect(clock.sleeps).toEqual([3000])
  expect(infoLines(run)).toEqual([
    'Keystone answered HTTP 503; retrying in 3 s (attempt 2, Retry-After 2 s plus jitter, up to outage-wait 30 s): Keystone is unavailable (restarting or in maintenance).',
    'Token revoked.'
  ])
})

test('max-wait: 0 means one attempt', async () => {
  nock(KEYSTONE).delete('/v3/auth/tokens').reply(503)
  const run = await post(saved(), { 'max-wait': '0' })
  expect(infoLines(run)[0]).toMatch(/^::warning::Could not revoke the token: Gave up after 1 attempt over 0 s \(max-wait 0 s\)/)
})

test("a token the runner's clock says has expired is still revoked: the clock may run fast", async () => {
  const revoked = nock(KEYSTONE).delete('/v3/auth/tokens').matchHeader('x-subject-token', TOKEN).reply(204)
  const run = await post(saved({ expiresAt: new Date(Date.now() - 1000).toISOString() }))
  expect(revoked.isDone()).toBe(true)
  expect(infoLines(run)).toEqual(['Token revoked.'])
})

test('an expired token costs a quiet 404', async () => {
  nock(KEYSTONE)
    .delete('/v3/auth/tokens')
    .reply(404, keystoneError(404, 'Not Found', 'Could not find token'), JSON_HEADERS)
  const run = await post(saved({ expiresAt: new Date(Date.now() - 1000).toISOString() }))
  expect(infoLines(run)).toEqual(['Token already revoked or expired: nothing to do.'])
  expect(run.exitCode()).toBe(0)
})

test('tokens left over by a failed or cancelled login are revoked, whatever revoke says of the main one', async () => {
  const revoked = ['left-over-1', 'left-over-2'].map(token =>
    nock(KEYSTONE).delete('/v3/auth/tokens').matchHeader('x-subject-token', token).reply(204)
  )
  const run = await post(saved({ token: '', others: 'left-over-1\nleft-over-2', revoke: 'false' }))
  for (const scope of revoked) expect(scope.isDone()).toBe(true)
  expect(infoLines(run)).toEqual([
    'A token Keystone issued during a failed or cancelled login revoked.',
    'A token Keystone issued during a failed or cancelled login revoked.'
  ])
  expect(run.lines.slice(0, 2)).toEqual(['::add-mask::left-over-1', '::add-mask::left-over-2'])
})

test('the CA saved in state is used, not a file a later step may have deleted', async () => {
  // A CA that is not PEM makes the TLS setup fail at once: proof that the saved text reached it.
  nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)
  const withFileOnly = await post(saved({ caFile: '/nonexistent/ca.pem' }))
  expect(infoLines(withFileOnly)).toEqual(['Token revoked.'])
})

test('no saved token (the main step failed early): nothing to do', async () => {
  const run = await post({})
  expect(run.lines).toEqual(['No token to revoke: the main step did not issue one, or already revoked it.'])
})

test('revoke: false is said in one line and sends nothing', async () => {
  const run = await post(saved({ revoke: 'false' }))
  expect(infoLines(run)).toEqual([expect.stringMatching(/^Token left valid until .*Z \(revoke: false\)\.$/)])
})

test('the token is masked again and never printed', async () => {
  nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)
  const run = await post(saved())
  expect(run.lines[0]).toBe(`::add-mask::${TOKEN}`)
  for (const line of run.lines.slice(1)) expect(line).not.toContain(TOKEN)
  expectNoLeak(run, TOKEN)
})

test('what the post step reads back from its saved state reaches the log on one bounded line, with no escape sequence or workflow command', async () => {
  const hostile = `\u001b]8;;https://evil.test\u0007click\n::error::forged${'x'.repeat(90_000)}`
  const run = await post(saved({ revoke: 'false', keptBecause: hostile, expiresAt: hostile }))
  const lines = infoLines(run)
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^Token left valid until /)
  expect(lines[0]!.length).toBeLessThan(400)
  // eslint-disable-next-line no-control-regex
  expect(lines[0]).not.toMatch(/[\u0000-\u001f]/)
  expect(run.lines.some(line => line.startsWith('::error::'))).toBe(false)
})
