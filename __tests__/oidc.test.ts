import { jest } from '@jest/globals'
import * as core from '@actions/core'
import nock from 'nock'
import type { IncomingHttpHeaders } from 'node:http'
import { KeystoneError, UserError } from '../src/errors.js'
import type { HttpResponse } from '../src/net/http.js'
import { Keystone } from '../src/keystone/client.js'
import { type Token } from '../src/keystone/token.js'
import type { RefusalExplainer } from '../src/keystone/answers.js'
import { describeRequestedScope } from '../src/keystone/answers.js'
import { federationAuthUrl, rescopeBody, type FederatingKeystone } from '../src/login/federation.js'
import { describeIdToken, ID_TOKEN_PERMISSIONS_YAML, idTokenClaims, idTokenError } from '../src/login/github-id-token.js'
import { exchangeIdToken, federationRefusal, keylessLogin, type KeylessLoginDeps, type OidcSettings } from '../src/login/oidc.js'
import { JSON_HEADERS, PROJ2, TOKEN, TOKEN_HEADERS, tokenBody } from './helpers/keystone-fixtures.js'

const AUTH = 'https://keystone.test/v3'
const FEDERATION_URL = `${AUTH}/OS-FEDERATION/identity_providers/github/protocols/openid/auth`
const SETTINGS: OidcSettings = { identityProvider: 'github', protocol: 'openid', audience: 'https://keystone.test/v3' }
const PROJECT_SCOPE = { kind: 'project', project: { id: PROJ2.id } } as const

/** A GitHub-shaped JWT (unsigned: nothing here verifies it, the cloud does). */
function jwt(claims: Record<string, unknown> = {}): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const payload = {
    sub: 'repo:acme/deploy:ref:refs/heads/main',
    aud: SETTINGS.audience,
    iss: 'https://token.actions.githubusercontent.com',
    repository: 'acme/deploy',
    repository_id: '7654321',
    repository_owner: 'acme',
    repository_owner_id: '1234567',
    ref: 'refs/heads/main',
    exp: 1_900_000_000,
    ...claims
  }
  return `${part({ typ: 'JWT', alg: 'RS256', kid: 'k1' })}.${part(payload)}.c2lnbmF0dXJl`
}
const JWT = jwt()

/** The unscoped token of a federated login, as Keystone 22 answered it (scripts/oidc). */
const UNSCOPED =
  'gAAAAABrDO_s1YjG8jNy3b7cMCO8oEvYKIbn89a0LnMytXKt5DEK2IPBTXZBuxW_am5RbeQ-w8p6I6F6yP9yyjKxSsEfCuGpUciUIM3JgzPXAz6OjIWPqquZyrIL_BGRi7wjHJxaGEpA0yRlldrjg4v88JnNCY6WT0x5a1uNJUd4qnr2xGFtldt'
const UNSCOPED_TOKEN: Token = {
  value: UNSCOPED,
  issuedAt: new Date(),
  expiresAt: new Date(Date.now() + 3600_000),
  validForMs: 3600_000,
  receivedAt: new Date(),
  methods: ['openid'],
  user: {
    id: 'e7756176490cf143bb416b538923efcdf2770b676250730cb3763a6b3d618096',
    name: 'repo:acme/deploy:ref:refs/heads/main',
    domain: { id: 'f1c3e15203774c55bde10e6a7d9d3cc2', name: 'fed' }
  },
  system: false
}

// The refusals as Apache 2.4.71 + mod_auth_openidc 2.4.12.3 + Keystone 22 sent them (scripts/oidc).
const APACHE_401_HTML =
  '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n<html><head>\n<title>401 Unauthorized</title>\n</head><body>\n<h1>Unauthorized</h1>\n<p>This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn\'t understand how to supply\nthe credentials required.</p>\n</body></html>\n'
const HTML = { 'content-type': 'text/html; charset=iso-8859-1' }
const KEYSTONE_JSON = { 'content-type': 'application/json' }
const RESPONSES: Record<string, HttpResponse> = {
  mapping: {
    status: 401,
    headers: { ...KEYSTONE_JSON, 'www-authenticate': 'Keystone uri="http://127.0.0.1:32716/v3"' },
    body: '{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}'
  },
  expired: {
    status: 401,
    headers: { ...HTML, 'www-authenticate': 'Bearer error="invalid_token", error_description="JWT token could not be validated"' },
    body: APACHE_401_HTML
  },
  audience: { status: 401, headers: HTML, body: APACHE_401_HTML },
  noBearer: {
    status: 401,
    headers: { ...HTML, 'www-authenticate': 'Bearer error="invalid_request", error_description="No bearer token found in the request"' },
    body: APACHE_401_HTML
  },
  unknownIdp: {
    status: 404,
    headers: KEYSTONE_JSON,
    body: '{"error":{"code":404,"message":"Could not find Identity Provider: gitlab.","title":"Not Found"}}'
  },
  unsupportedProtocol: {
    status: 401,
    headers: { ...KEYSTONE_JSON, 'www-authenticate': 'Keystone uri="http://127.0.0.1:32716/v3"' },
    body: '{"error":{"code":401,"identity":{"methods":["password","token","openid","application_credential"]},"message":"Attempted to authenticate with an unsupported method.","title":"Unauthorized"}}'
  },
  remoteId: {
    status: 403,
    headers: KEYSTONE_JSON,
    body: '{"error":{"code":403,"message":"You are not authorized to perform the requested action.","title":"Forbidden"}}'
  }
}

beforeAll(() => nock.disableNetConnect())
afterEach(() => {
  nock.cleanAll()
  jest.restoreAllMocks()
})
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

describe('federationAuthUrl', () => {
  test('the federation auth path of the identity provider and protocol', () => {
    expect(federationAuthUrl(AUTH, 'github', 'openid')).toBe(FEDERATION_URL)
    expect(federationAuthUrl(`${AUTH}/`, 'github')).toBe(FEDERATION_URL)
  })

  test('ids are encoded into one path segment each', () => {
    expect(federationAuthUrl(AUTH, 'git hub'.replace(' ', '%'), 'open#id')).toBe(
      `${AUTH}/OS-FEDERATION/identity_providers/git%25hub/protocols/open%23id/auth`
    )
  })

  test.each([
    ['', 'openid', /identity-provider "" is not a Keystone identity provider id/],
    ['git/hub', 'openid', /identity-provider "git\/hub"/],
    ['github ', 'openid', /identity-provider "github "/],
    ['x'.repeat(65), 'openid', /1 to 64 characters/],
    ['github', '', /protocol "" is not a Keystone federation protocol id/]
  ])('refuses identity-provider %j / protocol %j with a UserError', (idp, protocol, message) => {
    expect(() => federationAuthUrl(AUTH, idp, protocol)).toThrow(UserError)
    expect(() => federationAuthUrl(AUTH, idp, protocol)).toThrow(message)
  })
})

describe('rescopeBody', () => {
  test.each([
    [PROJECT_SCOPE, { project: { id: PROJ2.id } }],
    [{ kind: 'project', project: { name: 'fedproj', domain: { name: 'fed' } } } as const, { project: { name: 'fedproj', domain: { name: 'fed' } } }],
    [{ kind: 'domain', domain: { id: 'd1' } } as const, { domain: { id: 'd1' } }],
    [{ kind: 'system' } as const, { system: { all: true } }]
  ])('token method with the unscoped token, scope %j', (scope, expected) => {
    expect(rescopeBody(UNSCOPED, scope)).toEqual({ auth: { identity: { methods: ['token'], token: { id: UNSCOPED } }, scope: expected } })
  })

  test.each([
    [PROJECT_SCOPE, `project ${PROJ2.id}`],
    [{ kind: 'project', project: { name: 'fedproj', domain: { id: 'd1' } } } as const, 'project fedproj in domain d1'],
    [{ kind: 'domain', domain: { name: 'fed' } } as const, 'domain fed'],
    [{ kind: 'system' } as const, 'the system scope'],
    [{ kind: 'default' } as const, 'no scope']
  ])('describeRequestedScope(%j) is %j', (scope, text) => {
    expect(describeRequestedScope(scope)).toBe(text)
  })

  test('no scope: a UserError (a federated user has no default project)', () => {
    expect(() => rescopeBody(UNSCOPED, { kind: 'default' })).toThrow(/auth-method oidc needs a scope: a federated user has no default project/)
  })
})

describe('idTokenError', () => {
  const saved = { ...process.env }
  beforeEach(() => {
    // getIDToken prints ::debug:: and ::add-mask:: lines.
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
    delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL
    delete process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  })
  afterEach(() => {
    process.env = { ...saved }
  })

  async function getIDTokenError(audience?: string): Promise<Error> {
    try {
      await core.getIDToken(audience)
    } catch (error) {
      return error as Error
    }
    throw new Error('expected getIDToken to fail')
  }

  test('no permission (real getIDToken, no ACTIONS_ID_TOKEN_REQUEST_URL): says so and shows the YAML to add', async () => {
    const raw = await getIDTokenError('https://keystone.test/v3')
    expect(raw.message).toBe('Error message: Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable')
    const error = idTokenError(raw)
    expect(error).toBeInstanceOf(UserError)
    expect(error.message).toContain('the job lacks the permission')
    expect(error.message).toContain(`\n${ID_TOKEN_PERMISSIONS_YAML}\n`)
    expect(ID_TOKEN_PERMISSIONS_YAML).toBe('permissions:\n  id-token: write\n  contents: read')
    expect(error.message).toMatch(/pull request from a fork, or started by Dependabot/)
  })

  test('the URL without the request token is the same missing permission', async () => {
    process.env.ACTIONS_ID_TOKEN_REQUEST_URL = 'https://token.test/idtoken?api-version=2.0'
    const error = idTokenError(await getIDTokenError())
    expect(error.message).toContain('(ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set)')
    expect(error.message).toContain(ID_TOKEN_PERMISSIONS_YAML)
  })

  test('GitHub refusing (real getIDToken against an HTTP 403): the status and its words', async () => {
    process.env.ACTIONS_ID_TOKEN_REQUEST_URL = 'https://token.test/idtoken?api-version=2.0'
    process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 'request-token'
    nock('https://token.test').get('/idtoken').query({ 'api-version': '2.0', audience: 'aud' }).reply(403, { message: 'not for you' })
    const error = idTokenError(await getIDTokenError('aud'))
    expect(error.message).toMatch(/^GitHub refused to issue an ID token \(HTTP 403: .*\); try again/)
  })

  test('an answer without a token', async () => {
    process.env.ACTIONS_ID_TOKEN_REQUEST_URL = 'https://token.test/idtoken?api-version=2.0'
    process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 'request-token'
    nock('https://token.test').get('/idtoken').query(true).reply(200, { count: 0 })
    expect(idTokenError(await getIDTokenError()).message).toMatch(/answered without a token/)
  })

  test('anything else keeps its words, on one line; a UserError passes through', () => {
    expect(idTokenError(new Error('Error message: boom\nline 2')).message).toBe('Could not get a GitHub ID token: Error message: boom line 2.')
    expect(idTokenError('plain').message).toBe('Could not get a GitHub ID token: plain.')
    const mine = new UserError('mine')
    expect(idTokenError(mine)).toBe(mine)
  })
})

describe('idTokenClaims / describeIdToken', () => {
  test('reads the claims that explain a refusal', () => {
    expect(idTokenClaims(JWT)).toEqual({
      sub: 'repo:acme/deploy:ref:refs/heads/main',
      aud: SETTINGS.audience,
      iss: 'https://token.actions.githubusercontent.com',
      repository: 'acme/deploy',
      repository_id: '7654321',
      repository_owner: 'acme',
      repository_owner_id: '1234567',
      ref: 'refs/heads/main',
      exp: 1_900_000_000
    })
    expect(describeIdToken(idTokenClaims(JWT))).toMatch(
      /^sub repo:acme\/deploy:ref:refs\/heads\/main, audience https:\/\/keystone.test\/v3, issuer https:\/\/token.actions.githubusercontent.com, repository_id 7654321, repository_owner_id 1234567, valid until 2030-/
    )
  })

  test('aud as a list, numbers as strings, control characters made inert', () => {
    const claims = idTokenClaims(jwt({ aud: ['a', 'b', 3], repository_id: 7654321, sub: 'repo:x\n::error::y' }))
    expect(claims?.aud).toEqual(['a', 'b'])
    expect(claims?.repository_id).toBe('7654321')
    expect(claims?.sub).toBe('repo:x ::error::y')
    expect(describeIdToken(claims)).toContain('audience a, b')
  })

  test.each(['', 'a.b', 'not-a-jwt', `x.${Buffer.from('[1]').toString('base64url')}.y`, `x.${Buffer.from('{').toString('base64url')}.y`])(
    '%j is not a readable JWT',
    text => {
      expect(idTokenClaims(text)).toBeUndefined()
    }
  )

  test('an unreadable token is described as such', () => {
    expect(describeIdToken(undefined)).toBe('a token that is not a readable JWT')
  })
})

describe('federationRefusal: each refusal in its own words', () => {
  const explain = federationRefusal(SETTINGS, idTokenClaims(JWT))

  test.each<[string, RegExp]>([
    [
      'mapping',
      /^The cloud answered HTTP 401 at .*\/auth, saying "The request you have made requires authentication.": Keystone's mapping for identity provider github \(protocol openid\) admits no user for the GitHub ID token \(sub repo:acme\/deploy:ref:refs\/heads\/main, .*repository_id 7654321.*\)\. Ask the cloud operator/
    ],
    [
      'expired',
      /^The cloud answered HTTP 401 at .* \(WWW-Authenticate: Bearer error="invalid_token", "JWT token could not be validated"\): the cloud's token validator refused the GitHub ID token .*: it is expired, or not signed by a key of an issuer the cloud trusts/
    ],
    [
      'audience',
      /^The cloud answered HTTP 401 at .*: the cloud's authorization rules refused the GitHub ID token \(.*audience https:\/\/keystone.test\/v3.*\), typically because its audience or issuer is not the one required/
    ],
    ['noBearer', /no bearer token reached the cloud's token validator; a proxy .* may drop the Authorization header/],
    [
      'unknownIdp',
      /^The cloud answered HTTP 404 at .*, saying "Could not find Identity Provider: gitlab.": identity provider github or its protocol openid does not exist at this auth-url/
    ],
    [
      'unsupportedProtocol',
      /saying "Attempted to authenticate with an unsupported method.": protocol openid is not an auth method this Keystone accepts/
    ],
    [
      'remoteId',
      /^The cloud answered HTTP 403 at .*: Keystone refused the GitHub ID token .* for identity provider github; typically its issuer is not a remote id/
    ]
  ])('%s', (name, message) => {
    const error = explain(RESPONSES[name]!, FEDERATION_URL)
    expect(error).toBeInstanceOf(KeystoneError)
    expect(error?.message).toMatch(message)
    expect(error?.status).toBe(RESPONSES[name]!.status)
  })

  test('without an audience input, the audience hint names GitHub’s default', () => {
    const error = federationRefusal({ ...SETTINGS, audience: undefined }, idTokenClaims(jwt({ aud: 'https://github.com/acme' })))(
      RESPONSES.audience!,
      FEDERATION_URL
    )
    expect(error?.message).toContain('(without it GitHub uses https://github.com/<owner>)')
    expect(error?.message).toContain('audience https://github.com/acme')
  })

  test.each([
    [429, { 'retry-after': '3' }],
    [500, {}],
    [503, {}],
    [400, {}],
    [302, { location: 'https://sso.test/' }]
  ])('HTTP %i is left to the Keystone client (retries, generic sentence)', (status, headers: IncomingHttpHeaders) => {
    expect(explain({ status, headers, body: '' }, FEDERATION_URL)).toBeUndefined()
  })
})

/** A Keystone client with the proposed federatedLogin faked: records its calls, answers as told. */
function fakeKeystone(answer: (url: string, idToken: string, explain?: RefusalExplainer) => Promise<Token>) {
  const calls: Array<{ url: string; idToken: string; explain?: RefusalExplainer }> = []
  const keystone: FederatingKeystone = Object.assign(new Keystone(AUTH, { timeoutMs: 2000 }), {
    federatedLogin(url: string, idToken: string, explain?: RefusalExplainer) {
      calls.push({ url, idToken, ...(explain && { explain }) })
      return answer(url, idToken, explain)
    }
  })
  return { keystone, calls }
}

describe('exchangeIdToken', () => {
  test('asks the federation auth URL with the JWT and an explainer that knows the claims', async () => {
    const { keystone, calls } = fakeKeystone(async () => UNSCOPED_TOKEN)
    await expect(exchangeIdToken(keystone, SETTINGS, JWT)).resolves.toBe(UNSCOPED_TOKEN)
    expect(calls).toHaveLength(1)
    expect(calls[0]!.url).toBe(FEDERATION_URL)
    expect(calls[0]!.idToken).toBe(JWT)
    expect(calls[0]!.explain?.(RESPONSES.mapping!, FEDERATION_URL)?.message).toContain('sub repo:acme/deploy:ref:refs/heads/main')
  })
})

describe('keylessLogin', () => {
  function recordingCore() {
    const log = { secrets: [] as string[], info: [] as string[], warnings: [] as string[], debug: [] as string[] }
    const fake: KeylessLoginDeps['core'] = {
      setSecret: secret => void log.secrets.push(secret),
      info: line => void log.info.push(line),
      warning: line => void log.warnings.push(String(line)),
      debug: line => void log.debug.push(line)
    }
    return { core: fake, log }
  }

  function rescope(status = 201, reply: object = tokenBody({ scope: 'project' })) {
    let sent: unknown
    const scope = nock('https://keystone.test')
      .post('/v3/auth/tokens?nocatalog', body => {
        sent = body
        return true
      })
      .reply(status, reply, status === 201 ? TOKEN_HEADERS : JSON_HEADERS)
    return { scope, sent: () => sent }
  }

  function revokeUnscoped(status = 204) {
    return nock('https://keystone.test')
      .delete('/v3/auth/tokens')
      .matchHeader('x-auth-token', UNSCOPED)
      .matchHeader('x-subject-token', UNSCOPED)
      .reply(status)
  }

  describe("GitHub's ID-token service on a bad day: retried within outage-wait", () => {
    const POLICY = { maxWaitMs: 300_000, outageMaxWaitMs: 30_000, baseDelayMs: 2_000, maxDelayMs: 60_000, rateLimitMaxDelayMs: 15_000 }
    function retryRun() {
      let now = 0
      const sleeps: number[] = []
      const lines: string[] = []
      const clock = { now: () => now, random: () => 0.5, sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)) }
      return { retry: { policy: POLICY, clock, log: (line: string) => void lines.push(line) }, sleeps, lines }
    }
    const failure500 = new Error('Failed to get ID Token. \n        Error Code : 500\n        Error Message: Internal Server Error')

    test('a 500, then a reset connection, then the token: two retries, each logged', async () => {
      const { retry, sleeps, lines } = retryRun()
      const { keystone } = fakeKeystone(async () => UNSCOPED_TOKEN)
      rescope()
      revokeUnscoped()
      let calls = 0
      const getIDToken = async () => {
        calls++
        if (calls === 1) throw failure500
        if (calls === 2) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
        return JWT
      }
      const token = await keylessLogin({ core: recordingCore().core, getIDToken, keystone, retry }, SETTINGS, PROJECT_SCOPE, { catalog: false })
      expect(token.value).toBe(TOKEN)
      expect(calls).toBe(3)
      expect(sleeps).toEqual([1000, 2000])
      expect(lines[0]).toBe(
        'GitHub refused to issue an ID token (HTTP 500: Internal Server Error); retrying in 1 s (attempt 2, up to outage-wait 30 s).'
      )
      expect(lines[1]).toMatch(/^Could not get a GitHub ID token: read ECONNRESET; retrying in 2 s \(attempt 3, up to outage-wait 30 s\)\.$/)
    })

    test('still failing: gives up at outage-wait, saying how many attempts', async () => {
      const { retry, sleeps } = retryRun()
      const { keystone } = fakeKeystone(async () => UNSCOPED_TOKEN)
      const error = await keylessLogin(
        { core: recordingCore().core, getIDToken: async () => Promise.reject(failure500), keystone, retry },
        SETTINGS,
        PROJECT_SCOPE,
        { catalog: false }
      ).catch((e: Error) => e)
      expect(sleeps.reduce((a, b) => a + b, 0)).toBe(30_000)
      expect((error as Error).message).toMatch(
        /^GitHub refused to issue an ID token \(HTTP 500: .*\. Gave up after \d+ attempts over 30 s \(outage-wait 30 s\)\.$/
      )
    })

    test.each([
      ['no permission', new Error('Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable'), /lacks the permission/],
      ['a 403 refusal', new Error('Failed to get ID Token. \n Error Code : 403\n Error Message: Forbidden'), /HTTP 403/]
    ])('%s is not retried', async (_name, failure, message) => {
      const { retry, sleeps } = retryRun()
      const { keystone } = fakeKeystone(async () => UNSCOPED_TOKEN)
      let calls = 0
      const getIDToken = async () => {
        calls++
        throw failure
      }
      await expect(
        keylessLogin({ core: recordingCore().core, getIDToken, keystone, retry }, SETTINGS, PROJECT_SCOPE, { catalog: false })
      ).rejects.toThrow(message)
      expect(calls).toBe(1)
      expect(sleeps).toEqual([])
    })
  })

  test('ID token (masked) → unscoped token (masked) → token-method rescope → unscoped revoked → the scoped token', async () => {
    const { core: fake, log } = recordingCore()
    const { keystone, calls } = fakeKeystone(async () => UNSCOPED_TOKEN)
    const audiences: Array<string | undefined> = []
    const rescoped = rescope()
    const revoked = revokeUnscoped()
    const token = await keylessLogin(
      { core: fake, getIDToken: async audience => (audiences.push(audience), JWT), keystone },
      SETTINGS,
      PROJECT_SCOPE,
      { catalog: false }
    )
    expect(audiences).toEqual([SETTINGS.audience])
    expect(calls.map(call => call.url)).toEqual([FEDERATION_URL])
    expect(rescoped.sent()).toEqual({ auth: { identity: { methods: ['token'], token: { id: UNSCOPED } }, scope: { project: { id: PROJ2.id } } } })
    expect(rescoped.scope.isDone()).toBe(true)
    expect(revoked.isDone()).toBe(true)
    expect(token.value).toBe(TOKEN)
    expect(token.project?.id).toBe(PROJ2.id)
    expect(log.secrets).toEqual([JWT, UNSCOPED, TOKEN])
    expect(log.info).toEqual([
      expect.stringMatching(/^Got a GitHub ID token: sub repo:acme\/deploy:ref:refs\/heads\/main, audience https:\/\/keystone.test\/v3, /)
    ])
    expect(log.warnings).toEqual([])
    expect(log.debug.join('\n')).toContain('Revoked the unscoped federated token.')
  })

  test("with the real getIDToken: GET ${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=… with the request token, as GitHub's endpoint expects", async () => {
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
    const saved = { ...process.env }
    process.env.ACTIONS_ID_TOKEN_REQUEST_URL = 'https://pipelines.test/_apis/idtoken?api-version=2.0'
    process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 'request-token'
    try {
      const github = nock('https://pipelines.test')
        .get('/_apis/idtoken')
        .query({ 'api-version': '2.0', audience: SETTINGS.audience! })
        .matchHeader('authorization', 'Bearer request-token')
        .reply(200, { count: JWT.length, value: JWT })
      rescope()
      revokeUnscoped()
      const { keystone, calls } = fakeKeystone(async () => UNSCOPED_TOKEN)
      await keylessLogin({ core: recordingCore().core, getIDToken: audience => core.getIDToken(audience), keystone }, SETTINGS, PROJECT_SCOPE, {
        catalog: false
      })
      expect(github.isDone()).toBe(true)
      expect(calls[0]!.idToken).toBe(JWT)
    } finally {
      process.env = saved
    }
  })

  test('no scope, or a bad identity provider: a UserError before GitHub or Keystone is asked anything', async () => {
    const getIDToken = jest.fn(async () => JWT)
    const { keystone, calls } = fakeKeystone(async () => UNSCOPED_TOKEN)
    const deps = { core: recordingCore().core, getIDToken, keystone }
    await expect(keylessLogin(deps, SETTINGS, { kind: 'default' }, { catalog: false })).rejects.toThrow(/needs a scope/)
    await expect(keylessLogin(deps, { ...SETTINGS, identityProvider: 'a/b' }, PROJECT_SCOPE, { catalog: false })).rejects.toThrow(UserError)
    expect(getIDToken).not.toHaveBeenCalled()
    expect(calls).toEqual([])
  })

  test('a GitHub that does not answer: a UserError after idTokenTimeoutMs, Keystone not asked', async () => {
    const { keystone, calls } = fakeKeystone(async () => UNSCOPED_TOKEN)
    const getIDToken = () => new Promise<string>(() => undefined)
    const started = Date.now()
    const error = await keylessLogin({ core: recordingCore().core, getIDToken, keystone }, SETTINGS, PROJECT_SCOPE, {
      catalog: false,
      idTokenTimeoutMs: 50
    }).catch(e => e)
    expect(error).toBeInstanceOf(UserError)
    expect(error.message).toBe(
      "GitHub's ID-token service did not answer within 0.05 s; try again, and check https://www.githubstatus.com if it persists."
    )
    expect(Date.now() - started).toBeLessThan(2000)
    expect(calls).toEqual([])
  })

  test('no permission: the UserError with the YAML, and Keystone is not asked', async () => {
    const { keystone, calls } = fakeKeystone(async () => UNSCOPED_TOKEN)
    const getIDToken = async () => {
      throw new Error('Error message: Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable')
    }
    const error = await keylessLogin({ core: recordingCore().core, getIDToken, keystone }, SETTINGS, PROJECT_SCOPE, { catalog: false }).catch(e => e)
    expect(error).toBeInstanceOf(UserError)
    expect(error.message).toContain(ID_TOKEN_PERMISSIONS_YAML)
    expect(calls).toEqual([])
  })

  test('a refused ID token: the explained KeystoneError, no rescope, nothing to revoke', async () => {
    const { keystone } = fakeKeystone(async (url, _jwt, explain) => {
      throw explain!(RESPONSES.mapping!, url)
    })
    const { core: fake, log } = recordingCore()
    const error = await keylessLogin(
      { core: fake, getIDToken: async () => jwt({ sub: 'repo:acme/deploy:ref:refs/heads/dev' }), keystone },
      SETTINGS,
      PROJECT_SCOPE,
      { catalog: false }
    ).catch(e => e)
    expect(error).toBeInstanceOf(KeystoneError)
    expect(error.message).toMatch(/admits no user for the GitHub ID token \(sub repo:acme\/deploy:ref:refs\/heads\/dev/)
    expect(log.secrets).toHaveLength(1)
  })

  test('the rescope refused (no role on the project): explained, and the unscoped token is revoked anyway', async () => {
    rescope(401, { error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } })
    const revoked = revokeUnscoped()
    const { keystone } = fakeKeystone(async () => UNSCOPED_TOKEN)
    const error = await keylessLogin({ core: recordingCore().core, getIDToken: async () => JWT, keystone }, SETTINGS, PROJECT_SCOPE, {
      catalog: false
    }).catch(e => e)
    expect(error).toBeInstanceOf(KeystoneError)
    expect(error.status).toBe(401)
    expect(error.message).toBe(
      `Keystone accepted the GitHub ID token (federated user repo:acme/deploy:ref:refs/heads/main) but refused a token scoped to project ${PROJ2.id} (Keystone answered HTTP 401 "The request you have made requires authentication."): the groups its mapping gives this workflow have no role there. Ask the cloud operator for a role, or choose the project they have one on.`
    )
    expect(revoked.isDone()).toBe(true)
  })

  test('another rescope failure keeps the Keystone client’s sentence; the unscoped token is revoked anyway', async () => {
    rescope(500, { error: { code: 500, message: 'database is locked', title: 'Internal Server Error' } })
    const revoked = revokeUnscoped()
    const { keystone } = fakeKeystone(async () => UNSCOPED_TOKEN)
    const error = await keylessLogin({ core: recordingCore().core, getIDToken: async () => JWT, keystone }, SETTINGS, PROJECT_SCOPE, {
      catalog: false
    }).catch(e => e)
    expect(error.message).toMatch(/HTTP 500 .*failed on its side/)
    expect(revoked.isDone()).toBe(true)
  })

  test('the unscoped token cannot be revoked: a warning, and the scoped token still comes back', async () => {
    rescope()
    revokeUnscoped(500)
    const { keystone } = fakeKeystone(async () => UNSCOPED_TOKEN)
    const { core: fake, log } = recordingCore()
    const token = await keylessLogin({ core: fake, getIDToken: async () => JWT, keystone }, SETTINGS, PROJECT_SCOPE, { catalog: false })
    expect(token.value).toBe(TOKEN)
    expect(log.warnings).toEqual([expect.stringMatching(/^Could not revoke the unscoped federated token \(.*HTTP 500.*\); it expires on its own\.$/)])
  })
})
