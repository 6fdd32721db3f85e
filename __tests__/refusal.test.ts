import nock from 'nock'
import type { Scope } from '../src/config/types.js'
import { KeystoneError } from '../src/errors.js'
import { Keystone } from '../src/keystone/client.js'
import type { LoginContext } from '../src/login/method.js'
import { logInWithIdentity } from '../src/login/refusal.js'
import { DEFAULT_RETRY_POLICY } from '../src/net/retry.js'
import { fakeClock } from './helpers/clock.js'
import { JSON_HEADERS, keystoneError, PROJ2, TOKEN, TOKEN_HEADERS, tokenBody, USER2 } from './helpers/keystone-fixtures.js'

/**
 * Keystone answers 401 alike to wrong credentials and to a scope the user has no role on. After a
 * scoped login's 401, one unscoped login with the same credentials (the probe, `diagnose-refusal`)
 * tells the two apart, and its token is revoked at once. These tests hold the sentence the user
 * reads for each family, and what happens when the probe cannot tell.
 */

const KEYSTONE = 'https://keystone.test'
const IDENTITY = { methods: ['password'], password: { user: { id: USER2.id, password: 'refusal-Pa55word' } } }
const CHECK = 'check the user and the password'
const PROBE_TOKEN = 'gAAAAAprobe-token-of-an-unscoped-login-0123456789'
const REFUSED = keystoneError(401, 'Unauthorized', 'The request you have made requires authentication.')
const BY_ID: Scope = { kind: 'project', project: { id: PROJ2.id } }

type Login = { auth: { scope?: unknown; identity?: unknown } }
const isProbe = (body: Login) => body.auth.scope === 'unscoped'
const isLogin = (body: Login) => !isProbe(body)
const posts = (match: (body: Login) => boolean) =>
  nock(KEYSTONE).post(p => p === '/v3/auth/tokens' || p === '/v3/auth/tokens?nocatalog', match as (body: object) => boolean)

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

/** The login as a method makes it; `events` holds the log lines and the masks, in order. */
async function logIn(scope: Scope, diagnoseRefusal = true) {
  const events: string[] = []
  const context: LoginContext = {
    core: {
      info: line => void events.push(`info: ${line}`),
      setSecret: secret => void events.push(`mask: ${secret}`),
      warning: line => void events.push(`warning: ${line}`),
      debug: () => undefined,
      getIDToken: () => Promise.reject(new Error('no ID token here'))
    },
    // One attempt per request: what a probe that fails does is the point of some tests below.
    keystone: new Keystone(`${KEYSTONE}/v3`, { timeoutMs: 1000 }),
    scope,
    catalog: false,
    diagnoseRefusal,
    retry: { policy: DEFAULT_RETRY_POLICY, clock: fakeClock(), log: () => undefined },
    timeoutMs: 1000
  }
  try {
    const token = await logInWithIdentity(IDENTITY, CHECK, context)
    return { token, events }
  } catch (error) {
    return { error: error as KeystoneError, events }
  }
}

test('accepted: the token, with no probe', async () => {
  posts(isLogin).reply(201, tokenBody(), TOKEN_HEADERS)
  const probe = posts(isProbe).reply(201, tokenBody({ scope: 'unscoped' }), TOKEN_HEADERS)
  const { token, error } = await logIn(BY_ID)
  expect(error).toBeUndefined()
  expect(token?.value).toBe(TOKEN)
  expect(probe.isDone()).toBe(false)
})

describe('a scoped login refused with 401', () => {
  test('the probe is refused too: the credentials themselves, and what to check for this method', async () => {
    posts(isLogin).reply(401, REFUSED, JSON_HEADERS)
    const probe = posts(isProbe).reply(401, REFUSED, JSON_HEADERS)
    const { error, events } = await logIn(BY_ID)
    expect(probe.isDone()).toBe(true)
    expect(error).toBeInstanceOf(KeystoneError)
    expect(error?.status).toBe(401)
    expect(error?.message).toMatch(
      /^Keystone answered HTTP 401 .* at https:\/\/keystone\.test\/v3\/auth\/tokens: Keystone refused the credentials themselves, also without a scope; check the user and the password\.$/
    )
    expect(events).toEqual([])
  })

  test('the probe gets a token: the scope was refused; that token is masked, then revoked, and the log says so', async () => {
    posts(isLogin).reply(401, REFUSED, JSON_HEADERS)
    posts(isProbe).reply(201, tokenBody({ scope: 'unscoped' }), { ...JSON_HEADERS, 'X-Subject-Token': PROBE_TOKEN })
    const revoked = nock(KEYSTONE).delete('/v3/auth/tokens').matchHeader('x-subject-token', PROBE_TOKEN).reply(204)
    const { error, events } = await logIn(BY_ID)
    expect(revoked.isDone()).toBe(true)
    expect(error?.status).toBe(401)
    expect(error?.message).toMatch(
      new RegExp(
        `: Keystone accepted the credentials but refused a token scoped to project ${PROJ2.id}; check that the project exists \\(project-id\\), and that the user has a role on it \\(openstack role assignment list --user <user> --names\\)\\.$`
      )
    )
    expect(events).toEqual([
      `mask: ${PROBE_TOKEN}`,
      'info: Keystone accepted the credentials without a scope (diagnose-refusal); that unscoped token is revoked.'
    ])
  })

  test('the probe sends the same identity, unscoped, and asks for no catalog', async () => {
    posts(isLogin).reply(401, REFUSED, JSON_HEADERS)
    let sent: Login | undefined
    nock(KEYSTONE)
      .post('/v3/auth/tokens?nocatalog', (body: Login) => isProbe(body) && Boolean((sent = body)))
      .reply(401, REFUSED, JSON_HEADERS)
    await logIn(BY_ID)
    expect(sent).toEqual({ auth: { identity: IDENTITY, scope: 'unscoped' } })
  })

  test.each<[string, Scope, RegExp]>([
    [
      'a project by name',
      { kind: 'project', project: { name: 'proj2', domain: { name: 'dom2' } } },
      /refused a token scoped to project proj2 in domain dom2; check that the project exists \(project-name\), that it is in the domain given \(project-domain-name or project-domain-id\), and that the user has a role on it/
    ],
    [
      'a domain',
      { kind: 'domain', domain: { id: 'dom-id' } },
      /refused a token scoped to domain dom-id; check that the domain exists \(domain-id or domain-name\) and that the user has a role on it/
    ],
    ['the system', { kind: 'system' }, /refused a token scoped to the system scope; check that the user has a role on the system scope/]
  ])('the scope refused names what to check for %s', async (_what, scope, message) => {
    posts(isLogin).reply(401, REFUSED, JSON_HEADERS)
    posts(isProbe).reply(201, tokenBody({ scope: 'unscoped' }), { ...JSON_HEADERS, 'X-Subject-Token': PROBE_TOKEN })
    nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)
    expect((await logIn(scope)).error?.message).toMatch(message)
  })

  test('the probe token cannot be revoked: the scope is still named, and the log says the revocation failed', async () => {
    posts(isLogin).reply(401, REFUSED, JSON_HEADERS)
    posts(isProbe).reply(201, tokenBody({ scope: 'unscoped' }), { ...JSON_HEADERS, 'X-Subject-Token': PROBE_TOKEN })
    nock(KEYSTONE)
      .delete('/v3/auth/tokens')
      .reply(503, keystoneError(503, 'Service Unavailable', 'down'), JSON_HEADERS)
    const { error, events } = await logIn(BY_ID)
    expect(error?.message).toMatch(/Keystone accepted the credentials but refused a token scoped to project/)
    expect(events[0]).toBe(`mask: ${PROBE_TOKEN}`)
    expect(events.slice(1)).toEqual([
      expect.stringMatching(/^info: Keystone accepted the credentials without a scope, but revoking that unscoped token failed: .*503/)
    ])
    for (const event of events.slice(1)) expect(event).not.toContain(PROBE_TOKEN)
  })

  test('the probe token was already revoked (404 to its DELETE): counted as revoked, the scope named', async () => {
    posts(isLogin).reply(401, REFUSED, JSON_HEADERS)
    posts(isProbe).reply(201, tokenBody({ scope: 'unscoped' }), { ...JSON_HEADERS, 'X-Subject-Token': PROBE_TOKEN })
    nock(KEYSTONE)
      .delete('/v3/auth/tokens')
      .reply(404, keystoneError(404, 'Not Found', 'Could not find token'), JSON_HEADERS)
    const { error, events } = await logIn(BY_ID)
    expect(error?.message).toMatch(/refused a token scoped to project/)
    expect(events).toContain('info: Keystone accepted the credentials without a scope (diagnose-refusal); that unscoped token is revoked.')
  })

  test.each([
    ['a 503', (scope: nock.Interceptor) => scope.reply(503, keystoneError(503, 'Service Unavailable', 'down'), JSON_HEADERS)],
    ['a 429', (scope: nock.Interceptor) => scope.reply(429, keystoneError(429, 'Too Many Requests', 'slow down'), JSON_HEADERS)],
    ['a broken connection', (scope: nock.Interceptor) => scope.replyWithError('socket hang up')]
  ])('the probe itself fails (%s): the first 401 is all there is to say, unchanged', async (_what, answer) => {
    posts(isLogin).reply(401, REFUSED, JSON_HEADERS)
    const probe = answer(posts(isProbe))
    const { error, events } = await logIn(BY_ID)
    expect(probe.isDone()).toBe(true)
    expect(error?.status).toBe(401)
    expect(error?.message).not.toMatch(/refused the credentials themselves|accepted the credentials/)
    expect(error?.message).toMatch(/HTTP 401/)
    expect(events).toEqual([])
  })

  test('diagnose-refusal: false: no probe, the 401 as Keystone gave it', async () => {
    posts(isLogin).reply(401, REFUSED, JSON_HEADERS)
    const probe = posts(isProbe).reply(201, tokenBody({ scope: 'unscoped' }), TOKEN_HEADERS)
    const { error } = await logIn(BY_ID, false)
    expect(probe.isDone()).toBe(false)
    expect(error?.status).toBe(401)
    expect(error?.message).not.toMatch(/refused the credentials themselves|accepted the credentials/)
  })
})

test('a login with no scope sent refused with 401: the credentials, without a probe (there is no scope to tell apart)', async () => {
  posts(isLogin).reply(401, REFUSED, JSON_HEADERS)
  const { error } = await logIn({ kind: 'default' })
  expect(nock.pendingMocks()).toEqual([])
  expect(error?.message).toMatch(/: Keystone refused the credentials themselves; check the user and the password\.$/)
  expect(error?.message).not.toContain('also without a scope')
})

test('a refusal that is not a 401 is left as it is, with no probe', async () => {
  posts(isLogin).reply(403, keystoneError(403, 'Forbidden', 'You are not authorized'), JSON_HEADERS)
  const probe = posts(isProbe).reply(201, tokenBody({ scope: 'unscoped' }), TOKEN_HEADERS)
  const { error } = await logIn(BY_ID)
  expect(probe.isDone()).toBe(false)
  expect(error?.status).toBe(403)
  expect(error?.message).not.toMatch(/refused the credentials themselves|accepted the credentials/)
})
