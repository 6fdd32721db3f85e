import nock from 'nock'
import { resolveConfig as resolveConfigWith } from '../src/config/config.js'
import type { ConfigSource } from '../src/config/inputs.js'
import { LOGIN_METHODS } from '../src/login/methods.js'
import { runMain } from '../src/steps/main-step.js'
import { source } from './helpers/config-source.js'
import { fakeClock } from './helpers/clock.js'
import { fakeSpawn } from './helpers/spawn.js'
import { githubStep, type StepRun } from './helpers/github.js'
import { JSON_HEADERS, keystoneError, PROJ2, TOKEN, TOKEN_HEADERS, tokenBody } from './helpers/keystone-fixtures.js'

const resolveConfig = (source: ConfigSource) => resolveConfigWith(source, LOGIN_METHODS)

/**
 * An OIDC client (auth-method oidc-client, keystoneauth's v3oidcclientcredentials) through the
 * whole main step, with the provider and Keystone answering as nock says: what is asked of each,
 * what later steps get, and that the client's secret and the provider's token reach no line and
 * no exported variable.
 */

const KEYSTONE = 'https://keystone.test'
const AUTH_URL = `${KEYSTONE}/v3`
const IDP = 'https://iam.test'
const DISCOVERY = `${IDP}/role-adapter/pci/.well-known/openid-configuration`
const TOKEN_ENDPOINT = `${IDP}/role-adapter/pci/oauth2/token`
const FEDERATION_PATH = '/v3/OS-FEDERATION/identity_providers/ovhcloud-emea/protocols/openid/auth'
const CLIENT_ID = 'EU.8c5a6e5f2ab34b52'
const CLIENT_SECRET = 'c1ient-S3cret+/with=odd&chars'
const BASIC = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`

function jwt(claims: Record<string, unknown> = {}): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const payload = { iss: IDP, sub: 'service-account-ci', azp: CLIENT_ID, aud: CLIENT_ID, exp: 1_900_000_000, ...claims }
  return `${part({ typ: 'JWT', alg: 'RS256', kid: 'k1' })}.${part(payload)}.c2lnbmF0dXJl`
}
const ID_TOKEN = jwt()
const ACCESS_TOKEN = jwt({ aud: 'account', typ: 'Bearer' })
const UNSCOPED =
  'gAAAAABrDO_s1YjG8jNy3b7cMCO8oEvYKIbn89a0LnMytXKt5DEK2IPBTXZBuxW_am5RbeQ-w8p6I6F6yP9yyjKxSsEfCuGpUciUIM3JgzPXAz6OjIWPqquZyrIL_BGRi7wjHJxaGEpA0yRlldrjg4v88JnNCY6WT0x5a1uNJUd4qnr2xGFtldt'

/** OVHcloud's guide, as a user would paste it into the job's env. */
const OVH_ENV = {
  OS_AUTH_TYPE: 'v3oidcclientcredentials',
  OS_PROTOCOL: 'openid',
  OS_ACCESS_TOKEN_TYPE: 'id_token',
  OS_AUTH_URL: AUTH_URL,
  OS_IDENTITY_PROVIDER: 'ovhcloud-emea',
  OS_DISCOVERY_ENDPOINT: DISCOVERY,
  OS_PROJECT_ID: PROJ2.id,
  OS_CLIENT_ID: CLIENT_ID,
  OS_CLIENT_SECRET: CLIENT_SECRET,
  OS_REGION_NAME: 'GRA11'
}

let step: StepRun
beforeAll(() => nock.disableNetConnect())
afterEach(() => {
  step?.restore()
  nock.cleanAll()
})
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

async function main(inputs: Record<string, string>, env: Record<string, string> = {}, clock = fakeClock()): Promise<StepRun> {
  step = githubStep({ revoke: 'true', 'export-env': 'true', ...inputs })
  await runMain({ core: step.core, env, timeoutMs: 1000, clock, spawn: fakeSpawn() })
  return step
}

function discovery(document: object = { issuer: IDP, token_endpoint: TOKEN_ENDPOINT, grant_types_supported: ['client_credentials'] }) {
  return nock(IDP).get('/role-adapter/pci/.well-known/openid-configuration').reply(200, document, JSON_HEADERS)
}

/** The grant, with what it was sent. */
function grant(status = 200, answer: object = { access_token: ACCESS_TOKEN, id_token: ID_TOKEN, token_type: 'Bearer', expires_in: 300 }) {
  const sent: { body?: string; authorization?: string } = {}
  const scope = nock(IDP)
    .matchHeader('authorization', value => {
      sent.authorization = value
      return true
    })
    .post('/role-adapter/pci/oauth2/token', body => {
      sent.body = typeof body === 'string' ? body : new URLSearchParams(body as Record<string, string>).toString()
      return true
    })
    .reply(status, answer, JSON_HEADERS)
  return { scope, sent }
}

function federation(status = 201, reply: object = tokenBody({ scope: 'unscoped' })) {
  let authorization: string | undefined
  const scope = nock(KEYSTONE)
    .matchHeader('authorization', value => {
      authorization = value
      return true
    })
    .post(FEDERATION_PATH)
    .reply(status, reply, status === 201 ? { ...JSON_HEADERS, 'X-Subject-Token': UNSCOPED } : JSON_HEADERS)
  return { scope, bearer: () => authorization }
}

function rescope() {
  let sent: unknown
  const scope = nock(KEYSTONE)
    .post(
      path => path.startsWith('/v3/auth/tokens'),
      body => {
        sent = body
        return true
      }
    )
    .reply(201, tokenBody({ scope: 'project' }), TOKEN_HEADERS)
  return { scope, sent: () => sent }
}

function revokeUnscoped() {
  return nock(KEYSTONE).delete('/v3/auth/tokens').matchHeader('x-subject-token', UNSCOPED).reply(204)
}

function errorLines(run: StepRun): string[] {
  return run.lines.filter(line => line.startsWith('::error::'))
}

/** No line shows a secret but the ::add-mask:: that registers it; no exported value or state holds one. */
function expectNothingLeaked(run: StepRun, ...secrets: string[]): void {
  for (const line of run.lines) {
    if (line.startsWith('::add-mask::')) continue
    for (const secret of secrets) expect(line).not.toContain(secret)
  }
  const handedOn = JSON.stringify([run.exported(), run.outputs(), run.state()])
  for (const secret of [...secrets, Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')]) expect(handedOn).not.toContain(secret)
}

describe("OVHcloud's service account, its variables in the job env", () => {
  test('discovery, the grant (HTTP Basic), the federation with the id_token, the rescope: one token exported, the unscoped one revoked', async () => {
    const found = discovery()
    const { scope: granted, sent } = grant()
    const federated = federation()
    const rescoped = rescope()
    const revoked = revokeUnscoped()

    const run = await main({}, OVH_ENV)

    expect(errorLines(run)).toEqual([])
    for (const scope of [found, granted, federated.scope, rescoped.scope, revoked]) expect(scope.isDone()).toBe(true)
    // The provider got the client's id and secret as keystoneauth sends them, and the scope it asks.
    expect(sent.authorization).toBe(BASIC)
    expect(new URLSearchParams(sent.body)).toEqual(new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid profile' }))
    // Keystone got the id_token (OS_ACCESS_TOKEN_TYPE), never the secret.
    expect(federated.bearer()).toBe(`Bearer ${ID_TOKEN}`)
    expect(rescoped.sent()).toEqual({
      auth: { identity: { methods: ['token'], token: { id: UNSCOPED } }, scope: { project: { id: PROJ2.id } } }
    })
    // Later steps: the token, and the login's variables blanked (the secret above all).
    expect(run.exported()).toMatchObject({
      OS_TOKEN: TOKEN,
      OS_AUTH_TYPE: 'openstack-token',
      OS_PROJECT_ID: PROJ2.id,
      OS_CLIENT_SECRET: '',
      OS_CLIENT_ID: '',
      OS_IDENTITY_PROVIDER: '',
      OS_DISCOVERY_ENDPOINT: '',
      OS_ACCESS_TOKEN_TYPE: ''
    })
    // The secret is masked before the first line; the provider's and Keystone's tokens as they arrive.
    expect(run.lines[0]).toBe(`::add-mask::${CLIENT_SECRET}`)
    const masks = run.lines.filter(line => line.startsWith('::add-mask::')).map(line => line.slice('::add-mask::'.length))
    expect(masks).toEqual(expect.arrayContaining([CLIENT_SECRET, ID_TOKEN, UNSCOPED, TOKEN]))
    expectNothingLeaked(run, CLIENT_SECRET, ID_TOKEN, UNSCOPED)
    expect(run.lines.join('\n')).toContain(`Got an id_token from the OIDC provider for client ${CLIENT_ID}: sub service-account-ci, azp ${CLIENT_ID}`)
    // The post step revokes the scoped token; the unscoped one is already gone.
    expect(run.state()).toMatchObject({ token: TOKEN, 'other-tokens': '' })
  })

  test('OS_AUTH_TYPE v3oidcclientcredentials without a secret asks for the client secret, never for a GitHub ID token', async () => {
    const run = await main({}, { ...OVH_ENV, OS_CLIENT_SECRET: '' })
    expect(errorLines(run)).toEqual([
      '::error::auth-method is oidc-client but no client secret is set: set `client-secret` (OS_CLIENT_SECRET) from a secret, with `client-id` (OS_CLIENT_ID).'
    ])
    expect(run.lines.join('\n')).not.toMatch(/id-token: write|GitHub ID token/)
  })
})

describe('the inputs, keystoneauth option by option', () => {
  const INPUTS = {
    'auth-url': AUTH_URL,
    'client-id': CLIENT_ID,
    'client-secret': CLIENT_SECRET,
    'identity-provider': 'ovhcloud-emea',
    'discovery-endpoint': DISCOVERY,
    'project-id': PROJ2.id
  }

  test('access_token by default (keystoneauth): the client secret alone chooses the method', async () => {
    discovery()
    grant()
    const federated = federation()
    rescope()
    revokeUnscoped()
    const run = await main(INPUTS)
    expect(errorLines(run)).toEqual([])
    expect(federated.bearer()).toBe(`Bearer ${ACCESS_TOKEN}`)
    expectNothingLeaked(run, CLIENT_SECRET, ACCESS_TOKEN, UNSCOPED)
  })

  test('access-token-endpoint: no discovery document asked; openid-scope and protocol as given', async () => {
    const { sent } = grant()
    const federated = nock(KEYSTONE)
      .post('/v3/OS-FEDERATION/identity_providers/ovhcloud-emea/protocols/oidc/auth')
      .reply(201, tokenBody({ scope: 'unscoped' }), { ...JSON_HEADERS, 'X-Subject-Token': UNSCOPED })
    rescope()
    revokeUnscoped()
    const { 'discovery-endpoint': _, ...inputs } = INPUTS
    const run = await main({
      ...inputs,
      'access-token-endpoint': TOKEN_ENDPOINT,
      'openid-scope': 'openid',
      protocol: 'oidc',
      'auth-method': 'oidc-client'
    })
    expect(errorLines(run)).toEqual([])
    expect(federated.isDone()).toBe(true)
    expect(new URLSearchParams(sent.body).get('scope')).toBe('openid')
  })

  test('a clouds.yaml with auth_type v3oidcclientcredentials (the secret in it is masked first)', async () => {
    discovery()
    const { sent } = grant()
    federation()
    rescope()
    revokeUnscoped()
    const clouds = [
      'clouds:',
      '  ovh:',
      '    auth_type: v3oidcclientcredentials',
      '    auth:',
      `      auth_url: ${AUTH_URL}`,
      '      identity_provider: ovhcloud-emea',
      '      protocol: openid',
      `      discovery_endpoint: ${DISCOVERY}`,
      `      client_id: ${CLIENT_ID}`,
      `      client_secret: "${CLIENT_SECRET}"`,
      '      access_token_type: id_token',
      `      project_id: ${PROJ2.id}`
    ].join('\n')
    const run = await main({ 'clouds-yaml': clouds, cloud: 'ovh' })
    expect(errorLines(run)).toEqual([])
    expect(sent.authorization).toBe(BASIC)
    expect(run.lines.find(line => !line.startsWith('::add-mask::'))).toBeDefined()
    const firstOther = run.lines.findIndex(line => !line.startsWith('::add-mask::'))
    expect(run.lines.slice(0, firstOther)).toContain(`::add-mask::${CLIENT_SECRET}`)
    expectNothingLeaked(run, CLIENT_SECRET, ID_TOKEN, UNSCOPED)
  })

  test.each([
    ['no client id', { 'client-id': '' }, /`client-secret` is set without the client it belongs to: set `client-id` \(OS_CLIENT_ID\)/],
    ['no identity provider', { 'identity-provider': '' }, /needs Keystone's identity provider: set `identity-provider`/],
    ['no discovery endpoint', { 'discovery-endpoint': '' }, /needs the provider's discovery document: set `discovery-endpoint`/],
    ['a token type keystoneauth does not know', { 'access-token-type': 'jwt' }, /input `access-token-type` is "jwt": use id_token or access_token/],
    [
      'plain http to another host',
      { 'discovery-endpoint': 'http://iam.test/.well-known/openid-configuration' },
      /uses plain http to iam.test: the client secret/
    ],
    ['no scope', { 'project-id': '' }, /auth-method oidc-client needs a scope: a federated user has no default project/]
  ])('%s: one error, and nothing asked of the provider or Keystone', async (_name, override, message) => {
    const run = await main({ ...INPUTS, ...override })
    expect(errorLines(run)).toHaveLength(1)
    expect(errorLines(run)[0]).toMatch(message)
    expect(nock.pendingMocks()).toEqual([])
    expect(run.exported()).toEqual({})
    expectNothingLeaked(run, CLIENT_SECRET)
  })
})

describe('what goes wrong, one sentence each; no token left behind', () => {
  const INPUTS = {
    'auth-url': AUTH_URL,
    'client-id': CLIENT_ID,
    'client-secret': CLIENT_SECRET,
    'identity-provider': 'ovhcloud-emea',
    'discovery-endpoint': DISCOVERY,
    'project-id': PROJ2.id,
    'access-token-type': 'id_token',
    'outage-wait': '0s'
  }

  async function failing(setUp: () => void, inputs: Record<string, string> = {}): Promise<string> {
    setUp()
    const run = await main({ ...INPUTS, ...inputs })
    const lines = errorLines(run)
    expect(lines).toHaveLength(1)
    expect(run.exported()).toEqual({})
    expectNothingLeaked(run, CLIENT_SECRET, ID_TOKEN)
    return lines[0]!
  }

  test('the discovery document unreachable', async () => {
    const line = await failing(() =>
      nock(IDP)
        .get(/openid-configuration/)
        .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
    )
    expect(line).toMatch(/Could not reach the OIDC provider at iam.test: connection refused; check discovery-endpoint/)
  })

  test('the discovery document missing (404)', async () => {
    const line = await failing(() =>
      nock(IDP)
        .get(/openid-configuration/)
        .reply(404, 'Not Found')
    )
    expect(line).toMatch(/The OIDC provider answered HTTP 404 to the discovery document at .*: check discovery-endpoint/)
  })

  test('the discovery document not JSON', async () => {
    const line = await failing(() =>
      nock(IDP)
        .get(/openid-configuration/)
        .reply(200, '<html>login</html>')
    )
    expect(line).toMatch(/The discovery document at .* is not a JSON object: check discovery-endpoint/)
  })

  test('the discovery document without token_endpoint', async () => {
    const line = await failing(() => discovery({ issuer: IDP }))
    expect(line).toMatch(/has no token_endpoint: check discovery-endpoint, or give the token endpoint in access-token-endpoint/)
  })

  test('a provider that does not offer the client_credentials grant', async () => {
    const line = await failing(() => discovery({ token_endpoint: TOKEN_ENDPOINT, grant_types_supported: ['authorization_code', 'refresh_token'] }))
    expect(line).toMatch(/does not offer the client_credentials grant \(grant_types_supported: authorization_code, refresh_token\)/)
  })

  test('a redirect is not followed with the secret', async () => {
    const line = await failing(() => {
      discovery()
      nock(IDP).post('/role-adapter/pci/oauth2/token').reply(302, '', { Location: 'https://elsewhere.test/token' })
    })
    expect(line).toMatch(/redirecting to https:\/\/elsewhere.test\/token: the action never follows a redirect with the client's secret/)
  })

  test.each([
    [401, 'invalid_client', /refused the client EU.8c5a6e5f2ab34b52 .* HTTP 401 \(invalid_client: .*\): check client-id and client-secret/],
    [400, 'unauthorized_client', /HTTP 400 \(unauthorized_client: .*\): this client may not use the client_credentials grant/],
    [400, 'invalid_scope', /HTTP 400 \(invalid_scope: .*\): set openid-scope to scopes this client may request \(now "openid profile"\)/]
  ])('the provider refusing the client: %i %s', async (status, code, message) => {
    const line = await failing(() => {
      discovery()
      grant(status, { error: code, error_description: 'said the provider' })
    })
    expect(line).toMatch(message)
  })

  test('the token type missing from the answer: names the one that is there', async () => {
    const line = await failing(() => {
      discovery()
      grant(200, { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 300 })
    })
    expect(line).toBe(
      "::error::The OIDC provider's answer has no id_token (it has access_token, token_type, expires_in): set access-token-type to access_token, the one the cloud operator's federation expects."
    )
    expect(line).not.toContain(ACCESS_TOKEN)
  })

  test("Keystone's mapping refusing the token: keyless login's words, with the client to admit", async () => {
    const line = await failing(() => {
      discovery()
      grant()
      federation(401, keystoneError(401, 'Unauthorized', 'The request you have made requires authentication.'))
    })
    expect(line).toMatch(
      /Keystone's mapping for identity provider ovhcloud-emea \(protocol openid\) admits no user for the provider's id_token \(sub service-account-ci, azp EU.8c5a6e5f2ab34b52.*\)\. Ask the cloud operator to admit this client in the mapping/
    )
  })

  test('a provider that rate-limits: Retry-After honoured through the retry budgets, then the login goes on', async () => {
    discovery()
    nock(IDP)
      .post('/role-adapter/pci/oauth2/token')
      .reply(429, { error: 'slow_down' }, { ...JSON_HEADERS, 'Retry-After': '3' })
    grant()
    federation()
    rescope()
    revokeUnscoped()
    const clock = fakeClock()
    const run = await main(INPUTS, {}, clock)
    expect(errorLines(run)).toEqual([])
    expect(clock.sleeps).toHaveLength(1)
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(3000)
    expect(run.lines.join('\n')).toMatch(
      /The OIDC provider answered HTTP 429; retrying in \d+ s \(attempt 2, Retry-After 3 s plus jitter, up to max-wait 5 min\): the OIDC provider is rate-limiting\./
    )
  })

  test('a provider that keeps rate-limiting: gives up at max-wait, saying so', async () => {
    discovery()
    nock(IDP)
      .post('/role-adapter/pci/oauth2/token')
      .times(100)
      .reply(429, { error: 'slow_down' }, { ...JSON_HEADERS, 'Retry-After': '20' })
    const run = await main({ ...INPUTS, 'max-wait': '1m' })
    expect(errorLines(run)).toEqual([
      expect.stringMatching(
        /^::error::Gave up after \d+ attempts over .* \(max-wait 60 s; the next attempt, after Retry-After: 20, would start past it\)\. Last answer: The OIDC provider answered HTTP 429 to the client-credentials grant at .*: it is rate-limiting; raise max-wait/
      )
    ])
  })

  test('Keystone rate-limiting the federation: retried like any login', async () => {
    discovery()
    grant()
    nock(KEYSTONE)
      .post(FEDERATION_PATH)
      .reply(429, keystoneError(429, 'Too Many Requests', 'Too Many Requests'), { ...JSON_HEADERS, 'Retry-After': '2' })
    const federated = federation()
    rescope()
    revokeUnscoped()
    const run = await main(INPUTS)
    expect(errorLines(run)).toEqual([])
    expect(federated.scope.isDone()).toBe(true)
  })
})

test('resolveConfig: a plain serializable credentials object, with keystoneauth defaults', () => {
  const config = resolveConfig(source({}, { ...OVH_ENV, OS_ACCESS_TOKEN_TYPE: '', OS_PROTOCOL: '' }))
  expect(config.credentials).toEqual({
    method: 'oidc-client',
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    identityProvider: 'ovhcloud-emea',
    protocol: 'openid',
    discoveryEndpoint: DISCOVERY,
    accessTokenType: 'access_token',
    openidScope: 'openid profile',
    allowInsecureHttp: false
  })
  expect(JSON.parse(JSON.stringify(config.credentials))).toEqual(config.credentials)
  expect(config.tokenUse).toBe('direct')
})

describe('which method the configuration means', () => {
  const BASE = { OS_AUTH_URL: AUTH_URL, OS_PROJECT_ID: PROJ2.id, OS_IDENTITY_PROVIDER: 'ovhcloud-emea', OS_DISCOVERY_ENDPOINT: DISCOVERY }

  test('a client id with an identity provider is the client (before keyless login), and asks for its secret', () => {
    expect(() => resolveConfig(source({}, { ...BASE, OS_CLIENT_ID: CLIENT_ID }))).toThrow(/auth-method is oidc-client but no client secret is set/)
  })

  test('an identity provider alone is still keyless login', () => {
    expect(resolveConfig(source({}, BASE)).credentials.method).toBe('oidc')
  })

  test('a client secret and a password: a contradiction, named', () => {
    expect(() =>
      resolveConfig(source({}, { ...BASE, OS_CLIENT_ID: CLIENT_ID, OS_CLIENT_SECRET: CLIENT_SECRET, OS_USERNAME: 'u', OS_PASSWORD: 'p' }))
    ).toThrow(/Both a password \(OS_PASSWORD\) and an OIDC client secret \(OS_CLIENT_SECRET\) are set: choose one with the `auth-method` input/)
  })

  test('auth-method oidc-client over an OS_AUTH_TYPE that says password', () => {
    const config = resolveConfig(
      source({ 'auth-method': 'oidc-client' }, { ...BASE, OS_AUTH_TYPE: 'password', OS_CLIENT_ID: CLIENT_ID, OS_CLIENT_SECRET: CLIENT_SECRET })
    )
    expect(config.credentials.method).toBe('oidc-client')
  })
})
