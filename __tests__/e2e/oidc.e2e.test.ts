import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { issueToken, validateToken } from '../../scripts/keystone/keystone.mjs'
import {
  decodeJwt,
  mintIdToken,
  startFederatedKeystone,
  type FederatedKeystone,
  type IdTokenEndpoint,
  type IdTokenEndpointConfig
} from '../../scripts/oidc/oidc.mjs'
import { KeystoneError, UserError } from '../../src/errors.js'
import { send } from '../../src/net/http.js'
import { Keystone } from '../../src/keystone/client.js'
import { type Token } from '../../src/keystone/token.js'
import type { RefusalExplainer } from '../../src/keystone/answers.js'
import { federationAuthUrl, rescopeBody, type FederatingKeystone } from '../../src/login/federation.js'
import { idTokenError } from '../../src/login/github-id-token.js'
import { exchangeIdToken, keylessLogin, type KeylessLoginDeps, type OidcSettings } from '../../src/login/oidc.js'
import { errors, job, leaks, OPENSTACK, output, ROOT } from './helpers.js'

/**
 * Keyless login against a real federated Keystone (scripts/oidc: Apache + mod_auth_openidc +
 * Keystone under mod_wsgi, the issuer's JWKS over https with a test CA), with GitHub-shaped ID
 * tokens from an emulation of GitHub's ID-token endpoint. The action is not wired yet: these tests
 * drive src/login/oidc.ts directly. The mapping admits only acme/deploy (repository_id 7654321, owner id
 * 1234567) on refs/heads/main, into a group with role member on project fedproj.
 */

const execFileAsync = promisify(execFile)

let ks: FederatedKeystone
let endpoint: IdTokenEndpoint
let adminToken: string
let settings: OidcSettings
/** What each refusal case observed, printed at the end (status, and who refused). */
const observed: string[] = []

beforeAll(async () => {
  const started = Date.now()
  ks = await startFederatedKeystone()
  console.log(
    `federated Keystone: ${ks.startKind} start in ${ks.startMs} ms (start.sh), ${Date.now() - started} ms in all; ${ks.authUrl}, issuer ${ks.issuer}`
  )
  endpoint = await ks.startIdTokenEndpoint()
  settings = { identityProvider: ks.identityProvider, protocol: ks.protocol, audience: ks.audience }
  adminToken = (
    await issueToken(ks.authUrl, {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: ks.env.OS_USERNAME, domain: { id: 'default' }, password: ks.env.OS_PASSWORD } }
        },
        scope: { project: { name: ks.env.OS_PROJECT_NAME, domain: { id: 'default' } } }
      }
    })
  ).token
}, 600_000)

afterEach(() => endpoint?.configure({}))

afterAll(async () => {
  if (observed.length > 0) console.log(`observed refusals:\n${observed.join('\n')}`)
  await endpoint?.close()
  await ks?.stop()
})

/** The project's Keystone client, recording the unscoped tokens its federated logins return. */
function federating(unscoped: string[] = []): FederatingKeystone {
  const keystone = new Keystone(ks.authUrl, { timeoutMs: 15_000 })
  const login = keystone.federatedLogin.bind(keystone)
  return Object.assign(keystone, {
    async federatedLogin(url: string, idToken: string, explain?: RefusalExplainer): Promise<Token> {
      const token = await login(url, idToken, explain)
      unscoped.push(token.value)
      return token
    }
  })
}

function recordingCore() {
  const log = { secrets: [] as string[], info: [] as string[], warnings: [] as string[], debug: [] as string[] }
  const core: KeylessLoginDeps['core'] = {
    setSecret: (secret: string) => void log.secrets.push(secret),
    info: (line: string) => void log.info.push(line),
    warning: (line: string | Error) => void log.warnings.push(String(line)),
    debug: (line: string) => void log.debug.push(line)
  }
  return { core, log }
}

/** The real getIDToken of @actions/core, in a child process with only the runner's variables. */
async function getIDTokenInChild(env: Record<string, string>, audience?: string): Promise<{ jwt: string; stdout: string }> {
  const script =
    "import { getIDToken } from '@actions/core'; const jwt = await getIDToken(process.argv[1] || undefined); process.stdout.write('\\nJWT=' + jwt + '\\n')"
  try {
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script, audience ?? ''], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      timeout: 30_000
    })
    const jwt = /^JWT=(.*)$/m.exec(stdout)?.[1]
    if (!jwt) throw new Error(`no JWT in:\n${stdout}`)
    return { jwt, stdout }
  } catch (error) {
    // getIDToken's own error, as the main step would catch it.
    const stderr = (error as { stderr?: string }).stderr ?? ''
    throw new Error(/Error: (Error message: .*)/.exec(stderr)?.[1] ?? stderr, { cause: error })
  }
}

/**
 * What getIDToken sends: GET ${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=… with the request token.
 * audience null: none asked (getIDToken() without an argument).
 */
async function idTokenFromEndpoint(config: IdTokenEndpointConfig, audience: string | null | undefined = ks.audience): Promise<string> {
  endpoint.configure(config)
  const url = audience == null ? endpoint.url : `${endpoint.url}&audience=${encodeURIComponent(audience)}`
  const response = await fetch(url, { headers: { Authorization: `Bearer ${endpoint.requestToken}` } })
  expect(response.status).toBe(200)
  return ((await response.json()) as { value: string }).value
}

async function cli(token: string, command: string): Promise<string> {
  const { stdout } = await execFileAsync(OPENSTACK, command.split(' '), {
    env: {
      PATH: '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      OS_AUTH_URL: ks.authUrl,
      OS_IDENTITY_API_VERSION: '3',
      OS_AUTH_TYPE: 'v3token',
      OS_TOKEN: token,
      OS_PROJECT_ID: ks.fixtures.projectId
    },
    timeout: 60_000
  })
  return stdout
}

describe('allowed: acme/deploy on refs/heads/main', () => {
  test('getIDToken (real @actions/core) → federated token → scoped to fedproj; unscoped revoked; openstack project show works; the scoped token revokes like a password one', async () => {
    const unscoped: string[] = []
    const { core, log } = recordingCore()
    let childStdout = ''
    const deps: KeylessLoginDeps = {
      core,
      getIDToken: async audience => {
        const { jwt, stdout } = await getIDTokenInChild(endpoint.runnerEnv(), audience)
        childStdout = stdout
        return jwt
      },
      keystone: federating(unscoped)
    }
    const scoped = await keylessLogin(
      deps,
      settings,
      { kind: 'project', project: { id: ks.fixtures.projectId } },
      { catalog: false, idTokenTimeoutMs: 30_000 }
    )

    // GitHub's side: one authorized request for our audience; the runner masks the JWT.
    expect(endpoint.requests).toHaveLength(1)
    expect(endpoint.requests[0]).toMatchObject({ method: 'GET', audience: ks.audience, authorized: true, status: 200 })
    const jwt = endpoint.issued[0]!
    expect(childStdout).toContain(`::add-mask::${jwt}`)
    expect(decodeJwt(jwt).payload).toMatchObject({
      sub: 'repo:acme/deploy:ref:refs/heads/main',
      aud: ks.audience,
      iss: ks.issuer,
      repository_id: '7654321'
    })

    // Keystone's side: a project-scoped token of the federated user, through the token method.
    expect(scoped.project?.id).toBe(ks.fixtures.projectId)
    expect(scoped.methods).toEqual(expect.arrayContaining(['token', 'openid']))
    expect(scoped.user.name).toBe('repo:acme/deploy:ref:refs/heads/main')
    expect(scoped.expiresAt.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000)
    expect(unscoped).toHaveLength(1)
    expect(log.secrets).toEqual(expect.arrayContaining([jwt, unscoped[0], scoped.value]))
    expect(log.info.join('\n')).toContain('sub repo:acme/deploy:ref:refs/heads/main')
    expect(log.warnings).toEqual([])

    // The unscoped token is gone; the scoped one (minted from it) lives on.
    expect(await validateToken(ks.authUrl, adminToken, unscoped[0]!)).toBe(404)
    expect(await validateToken(ks.authUrl, adminToken, scoped.value)).toBe(200)

    // A later step: the real CLI with OS_TOKEN + v3token + OS_PROJECT_ID.
    expect(await cli(scoped.value, 'project show fedproj -f value -c id -c name')).toBe(`${ks.fixtures.projectId}\nfedproj\n`)

    // The post step: revoked exactly as a password login's token.
    expect(await new Keystone(ks.authUrl, { timeoutMs: 15_000 }).revoke(scoped.value)).toBe('revoked')
    expect(await validateToken(ks.authUrl, adminToken, scoped.value)).toBe(404)
  })

  test('scope by project name + domain name works too', async () => {
    const unscoped: string[] = []
    const jwt = await idTokenFromEndpoint({})
    const keystone = federating(unscoped)
    const token = await exchangeIdToken(keystone, settings, jwt)
    expect(token.methods).toEqual(['openid'])
    const scoped = await keystone.issue(
      rescopeBody(token.value, { kind: 'project', project: { name: ks.fixtures.projectName, domain: { name: ks.fixtures.domainName } } }),
      { catalog: false }
    )
    expect(scoped.project).toMatchObject({ id: ks.fixtures.projectId, name: 'fedproj', domain: { name: 'fed' } })
    await keystone.revoke(scoped.value)
    await keystone.revoke(token.value)
  })

  test('a project the mapping gives no role on: 401 at the rescope, explained, and the unscoped token is still revoked', async () => {
    const unscoped: string[] = []
    const { core } = recordingCore()
    const deps: KeylessLoginDeps = { core, getIDToken: audience => idTokenFromEndpoint({}, audience), keystone: federating(unscoped) }
    const error = await keylessLogin(deps, settings, { kind: 'project', project: { id: ks.fixtures.otherProjectId } }, { catalog: false }).catch(
      e => e
    )
    expect(error).toBeInstanceOf(KeystoneError)
    expect(error.status).toBe(401)
    expect(error.message).toMatch(
      /accepted the GitHub ID token \(federated user repo:acme\/deploy:ref:refs\/heads\/main\) but refused a token scoped to project .* have no role there/
    )
    observed.push(`- rescope to ${ks.fixtures.otherProjectName} (no role): HTTP ${error.status} from Keystone (token method)`)
    expect(await validateToken(ks.authUrl, adminToken, unscoped[0]!)).toBe(404)
  })
})

describe('refused', () => {
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey

  test.each<[string, () => Promise<string>, number, RegExp, string]>([
    [
      'another repository (acme/other)',
      () => idTokenFromEndpoint({ repository: 'acme/other' }),
      401,
      /Keystone's mapping for identity provider github .* admits no user .*sub repo:acme\/other:ref:refs\/heads\/main/,
      'Keystone mapping'
    ],
    [
      'another branch (refs/heads/feature-x)',
      () => idTokenFromEndpoint({ ref: 'refs/heads/feature-x' }),
      401,
      /mapping .* admits no user .*sub repo:acme\/deploy:ref:refs\/heads\/feature-x/,
      'Keystone mapping'
    ],
    ['a tag (refs/tags/v1.0.0)', () => idTokenFromEndpoint({ ref: 'refs/tags/v1.0.0' }), 401, /admits no user/, 'Keystone mapping'],
    [
      'a job with an environment (sub repo:acme/deploy:environment:production)',
      () => idTokenFromEndpoint({ environment: 'production' }),
      401,
      /admits no user .*environment:production/,
      'Keystone mapping'
    ],
    [
      'a pull request (sub repo:acme/deploy:pull_request)',
      () => idTokenFromEndpoint({ eventName: 'pull_request' }),
      401,
      /admits no user .*pull_request/,
      'Keystone mapping'
    ],
    [
      'acme/deploy by name but another repository_id (deleted and re-created)',
      () => idTokenFromEndpoint({ repositoryId: '99999999' }),
      401,
      /admits no user .*repository_id 99999999/,
      'Keystone mapping'
    ],
    [
      'an expired token',
      () => idTokenFromEndpoint({ expired: true }),
      401,
      /Bearer error="invalid_token".*token validator refused/,
      'mod_auth_openidc'
    ],
    [
      'a wrong audience',
      () => idTokenFromEndpoint({}, 'https://other.example/keystone'),
      401,
      /authorization rules refused .*audience https:\/\/other.example\/keystone/,
      'Apache Require claim aud'
    ],
    [
      "GitHub's default audience (getIDToken() without one)",
      () => idTokenFromEndpoint({}, null),
      401,
      /authorization rules refused .*audience https:\/\/github.com\/acme/,
      'Apache Require claim aud'
    ],
    [
      'another issuer, signed with the trusted key',
      () => idTokenFromEndpoint({ claims: { iss: 'https://evil.example' } }),
      401,
      /authorization rules refused .*issuer https:\/\/evil.example/,
      'Apache Require claim iss'
    ],
    [
      'signed with another key (same kid)',
      async () => mintIdToken({ issuer: ks.issuer, audience: ks.audience, privateKey: otherKey, kid: ks.kid }),
      401,
      /invalid_token/,
      'mod_auth_openidc'
    ],
    [
      'an unknown kid',
      async () => mintIdToken({ issuer: ks.issuer, audience: ks.audience, privateKey: otherKey, kid: 'no-such-kid' }),
      401,
      /invalid_token/,
      'mod_auth_openidc'
    ]
  ])('%s', async (name, idToken, status, message, who) => {
    const jwt = await idToken()
    const error = await exchangeIdToken(federating(), settings, jwt).catch(e => e)
    expect(error).toBeInstanceOf(KeystoneError)
    observed.push(`- ${name}: HTTP ${error.status} from ${who}`)
    expect(error.status).toBe(status)
    expect(error.message).toMatch(message)
  })

  test('the refusals left traces where the operator looks: mod_auth_openidc and authz in the error log', () => {
    const errorLog = readFileSync(ks.errorLogPath, 'utf8')
    expect(errorLog).toMatch(/JWT expired \d+ seconds ago/)
    expect(errorLog).toMatch(/could not match require claim expression '"aud:/)
    expect(errorLog).toMatch(/could not match require claim expression '"iss:/)
  })

  test('an unknown identity provider: 404 from Keystone, explained', async () => {
    const jwt = await idTokenFromEndpoint({})
    const error = await exchangeIdToken(federating(), { ...settings, identityProvider: 'gitlab' }, jwt).catch(e => e)
    observed.push(`- identity provider gitlab (unknown): HTTP ${error.status} from Keystone`)
    expect(error.status).toBe(404)
    expect(error.message).toMatch(
      /saying "Could not find Identity Provider: gitlab\.": identity provider gitlab or its protocol openid does not exist/
    )
  })

  test('a protocol Keystone has no auth method for: 401 from Keystone, explained', async () => {
    const jwt = await idTokenFromEndpoint({})
    const error = await exchangeIdToken(federating(), { ...settings, protocol: 'saml2' }, jwt).catch(e => e)
    observed.push(`- protocol saml2 (not an auth method): HTTP ${error.status} from Keystone`)
    expect(error.status).toBe(401)
    expect(error.message).toMatch(/protocol saml2 is not an auth method this Keystone accepts/)
  })

  test('no permission: getIDToken (real @actions/core) without ACTIONS_ID_TOKEN_REQUEST_URL → the UserError with the YAML to add', async () => {
    const error = await getIDTokenInChild({}, ks.audience).catch(e => e)
    expect(error.message).toBe('Error message: Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable')
    const explained = idTokenError(error)
    expect(explained).toBeInstanceOf(UserError)
    expect(explained.message).toContain('permissions:\n  id-token: write\n  contents: read')
  })

  test('federationAuthUrl is the path Apache protects', () => {
    expect(federationAuthUrl(ks.authUrl, 'github', 'openid')).toBe(`${ks.authUrl}/OS-FEDERATION/identity_providers/github/protocols/openid/auth`)
  })
})

describe('mod_auth_openidc 2.4.12 alone (no Require claim): why the hardened config matters', () => {
  let bare: FederatedKeystone

  beforeAll(async () => {
    bare = await startFederatedKeystone({ hardened: false })
    console.log(`bare federated Keystone: ${bare.startKind} start in ${bare.startMs} ms`)
  }, 600_000)

  afterAll(async () => {
    await bare?.stop()
  })

  test('a wrong audience is accepted (201): only `Require claim aud:` stops it', async () => {
    const keystone = new Keystone(bare.authUrl, { timeoutMs: 15_000 })
    const response = await send(
      {
        method: 'POST',
        url: federationAuthUrl(bare.authUrl, 'github'),
        headers: { Authorization: `Bearer ${bare.mintIdToken({ audience: 'https://other.example/keystone' })}` }
      },
      { timeoutMs: 15_000 }
    )
    observed.push(`- without Require claim: wrong audience → HTTP ${response.status} (accepted)`)
    expect(response.status).toBe(201)
    await keystone.revoke(String(response.headers['x-subject-token']))
  })

  test("another issuer signed with a trusted key: Keystone's remote-id check answers 403, explained", async () => {
    const jwt = bare.mintIdToken({ claims: { iss: 'https://evil.example' } })
    const keystone = Object.assign(new Keystone(bare.authUrl, { timeoutMs: 15_000 }), {
      async federatedLogin(url: string, idToken: string, explain?: RefusalExplainer): Promise<Token> {
        const response = await send({ method: 'POST', url, headers: { Authorization: `Bearer ${idToken}` } }, { timeoutMs: 15_000 })
        throw explain?.(response, url) ?? new KeystoneError(`HTTP ${response.status}`, { status: response.status })
      }
    })
    const error = await exchangeIdToken(keystone, { identityProvider: 'github', protocol: 'openid', audience: bare.audience }, jwt).catch(e => e)
    observed.push(`- without Require claim: wrong issuer (trusted key) → HTTP ${error.status} from Keystone remote_id check`)
    expect(error.status).toBe(403)
    expect(error.message).toMatch(/Keystone refused the GitHub ID token .*issuer https:\/\/evil.example.* not a remote id/)
  })
})

describe('the action: keyless login in a job', () => {
  /** The job of the allowed repository, run like the runner runs it, with getIDToken's endpoint. */
  function keylessJob(
    inputs: Record<string, string>,
    options: { runnerEnv?: Record<string, string>; steps?: Parameters<typeof job>[0]['steps'] } = {}
  ) {
    return job({
      inputs: { 'auth-url': ks.authUrl, 'identity-provider': ks.identityProvider, audience: ks.audience, ...inputs },
      runnerEnv: options.runnerEnv ?? endpoint.runnerEnv(),
      ...(options.steps && { steps: options.steps })
    })
  }

  test('cancelled at 31 moments of a keyless login (two Keystone tokens each): every token issued is revoked', async () => {
    // Keystone's (Apache's) own log: logins that issued a token (the federated one, then the
    // rescope: both 201) against successful revocations.
    const issued = () => ks.countRequests({ method: 'POST', path: '/v3/', status: 201 })
    const revoked = () => ks.countRequests({ method: 'DELETE', path: '/v3/auth/tokens', status: 204 })
    const [issuedBefore, revokedBefore] = [issued(), revoked()]
    const posts: (string | undefined)[] = []
    for (let afterMs = 0; afterMs <= 750; afterMs += 25) {
      const transcript = await job({
        inputs: { 'auth-url': ks.authUrl, 'identity-provider': ks.identityProvider, audience: ks.audience, 'project-id': ks.fixtures.projectId },
        runnerEnv: endpoint.runnerEnv(),
        cancelled: { during: 'main', afterMs },
        timeoutMs: 30_000
      })
      posts.push(transcript.post?.status)
    }
    // Apache writes a request's line once it has answered: let the last ones land.
    for (let i = 0; i < 30 && revoked() - revokedBefore < issued() - issuedBefore; i++) await new Promise(resolve => setTimeout(resolve, 100))
    console.log(
      `cancelled keyless jobs: ${posts.length}; tokens issued (POST 201): ${issued() - issuedBefore}; revoked (DELETE 204): ${revoked() - revokedBefore}`
    )
    expect(posts.every(status => status === 'success')).toBe(true)
    expect(issued() - issuedBefore).toBeGreaterThanOrEqual(10)
    expect(revoked() - revokedBefore).toBe(issued() - issuedBefore)
  }, 300_000)

  test('the allowed repository and ref: a scoped token, later openstack commands work, the post step revokes it', async () => {
    const before = endpoint.issued.length
    const transcript = await keylessJob(
      { 'project-id': ks.fixtures.projectId },
      { steps: [{ name: 'project show', run: `${OPENSTACK} project show ${ks.fixtures.projectName} -f value -c id` }] }
    )
    expect(transcript.failed).toBe(false)
    expect(transcript.step('project show')?.stdout.join('').trim()).toBe(ks.fixtures.projectId)
    expect(transcript.env).toMatchObject({ OS_AUTH_TYPE: 'openstack-token', OS_PROJECT_ID: ks.fixtures.projectId, OS_PASSWORD: '' })
    // the JWT and both Keystone tokens were masked, and none of them was printed
    const jwt = endpoint.issued[before]!
    const token = transcript.outputs.token!
    expect(transcript.main?.masks).toEqual(expect.arrayContaining([jwt, token]))
    expect(leaks(transcript, [jwt, token])).toEqual([])
    expect(transcript.main?.stdout.join('\n')).toMatch(/Got a GitHub ID token: .*repo:acme\/deploy:ref:refs\/heads\/main/)
    // the scoped token is revoked at the end, as for a password login
    expect(transcript.post?.stdout).toContain('Token revoked.')
    expect(await validateToken(ks.authUrl, adminToken, token)).toBe(404)
  })

  test('with the defaults, the CLI, openstacksdk and Ansible in later steps, then the post step: every token issued is revoked, none alive', async () => {
    // Debian bookworm's openstack.cloud 1.10 refuses openstacksdk 0.101 by a version bound: a copy
    // without it (as in services.e2e.test.ts and no-token-left.e2e.test.ts).
    const collections = mkdtempSync(join(tmpdir(), 'ansible-collections-'))
    try {
      const copy = join(collections, 'ansible_collections', 'openstack', 'cloud')
      cpSync('/usr/lib/python3/dist-packages/ansible_collections/openstack/cloud', copy, { recursive: true })
      const utils = join(copy, 'plugins', 'module_utils', 'openstack.py')
      writeFileSync(utils, readFileSync(utils, 'utf8').replace(/^MAXIMUM_SDK_VERSION = .*$/m, 'MAXIMUM_SDK_VERSION = None'))
      const issued = () => ks.countRequests({ method: 'POST', path: '/v3/', status: 201 })
      const revoked = () => ks.countRequests({ method: 'DELETE', path: '/v3/auth/tokens', status: 204 })
      const [issuedBefore, revokedBefore] = [issued(), revoked()]
      const sdk = `import openstack; print(openstack.connect().identity.get_project(${JSON.stringify(ks.fixtures.projectId)}).name)`
      const transcript = await keylessJob(
        { 'project-id': ks.fixtures.projectId },
        {
          steps: [
            { name: 'token issue', run: `test "$(${OPENSTACK} token issue -f value -c id)" = "$OS_TOKEN" && echo "the job's token"` },
            { name: 'project show', run: `${OPENSTACK} project show ${ks.fixtures.projectId} -f value -c name` },
            { name: 'openstacksdk', run: `/usr/bin/python3 -c '${sdk}'` },
            {
              name: 'ansible',
              env: { ANSIBLE_COLLECTIONS_PATH: collections, ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' },
              run: `/usr/bin/ansible localhost -o -m openstack.cloud.auth | grep -o '^localhost | SUCCESS'`
            }
          ]
        }
      )
      expect(transcript.failed).toBe(false)
      expect(output(transcript, 'token issue')).toBe("the job's token")
      expect(output(transcript, 'project show')).toBe(ks.fixtures.projectName)
      expect(output(transcript, 'openstacksdk')).toBe(ks.fixtures.projectName)
      expect(output(transcript, 'ansible')).toBe('localhost | SUCCESS')
      // Apache writes a request's line once it has answered: let the last ones land.
      for (let i = 0; i < 30 && revoked() - revokedBefore < issued() - issuedBefore; i++) await new Promise(resolve => setTimeout(resolve, 100))
      // The federated token and the rescoped one: both issued, both revoked; no call made one of its own.
      expect([issued() - issuedBefore, revoked() - revokedBefore]).toEqual([2, 2])
      expect(await validateToken(ks.authUrl, adminToken, transcript.outputs.token!)).toBe(404)
      expect(leaks(transcript, [transcript.outputs.token!])).toEqual([])
    } finally {
      rmSync(collections, { recursive: true, force: true })
    }
  })

  test('the unscoped token is revoked before the main step ends', async () => {
    const transcript = await keylessJob({ 'project-name': ks.fixtures.projectName, 'project-domain-name': ks.fixtures.domainName, revoke: 'false' })
    expect(transcript.failed).toBe(false)
    const unscoped = transcript.main!.masks.filter(mask => mask.startsWith('gAAAA') && mask !== transcript.outputs.token)
    expect(unscoped).toHaveLength(1)
    expect(await validateToken(ks.authUrl, adminToken, unscoped[0]!)).toBe(404)
    expect(await validateToken(ks.authUrl, adminToken, transcript.outputs.token!)).toBe(200)
  })

  test('no id-token permission: the error shows the YAML to add, and Keystone is not asked', async () => {
    const posts = ks.countRequests({ method: 'POST' })
    const transcript = await keylessJob({ 'project-id': ks.fixtures.projectId }, { runnerEnv: {} })
    expect(transcript.failed).toBe(true)
    expect(errors(transcript)).toEqual([expect.stringMatching(/id-token: write/)])
    expect(ks.countRequests({ method: 'POST' })).toBe(posts)
    expect(transcript.main?.exportedEnv).toEqual({})
  })

  test.each([
    ['another repository', { repository: 'acme/other' }],
    ['another branch', { ref: 'refs/heads/feature' }],
    ['an expired ID token', { expired: true }],
    ['a wrong audience', { audience: 'https://github.com/acme' }]
  ])('%s: one clear error, nothing exported, nothing left to revoke', async (_name, claims) => {
    endpoint.configure(claims as IdTokenEndpointConfig)
    const transcript = await keylessJob({ 'project-id': ks.fixtures.projectId })
    expect(transcript.failed).toBe(true)
    const lines = errors(transcript)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^::error::.*(identity provider|mapping|audience|expired|refused|401)/i)
    expect(transcript.main?.exportedEnv).toEqual({})
    expect(transcript.post?.stdout).toContain('No token to revoke: the main step did not issue one, or already revoked it.')
    observed.push(`  action, ${_name}: ${lines[0]}`)
  })

  test('no scope: fails before asking GitHub (a federated user has no default project)', async () => {
    const asked = endpoint.requests.length
    const transcript = await keylessJob({})
    expect(transcript.failed).toBe(true)
    expect(errors(transcript)).toHaveLength(1)
    expect(endpoint.requests.length).toBe(asked)
  })
})
