import { readFileSync } from 'node:fs'
import { issueToken, validateToken } from '../../scripts/keystone/keystone.mjs'
import { decodeJwt, startFederatedKeystone, type ClientProvider, type FederatedKeystone } from '../../scripts/oidc/oidc.mjs'
import { errors, job, leaks, OPENSTACK } from './helpers.js'

/**
 * An OIDC client (auth-method oidc-client, keystoneauth's v3oidcclientcredentials) against a real
 * federated Keystone (scripts/oidc: Apache + mod_auth_openidc + Keystone under mod_wsgi) and a
 * Keycloak-shaped provider on 127.0.0.1 (oidc.mjs's startClientProvider: discovery document and
 * client-credentials token endpoint over https with the test CA, its JWTs signed with the key the
 * instance already trusts). Apache requires iss and azp on identity provider `robots`; its mapping
 * admits client ci-robot (by azp) into a group with role member on fedproj.
 *
 * The action runs as built (dist/) through the runner emulator, with only the client's id and
 * secret, the auth URL, the identity provider, the discovery endpoint and the project, then the
 * real `openstack` CLI. Apache's access log counts every Keystone request.
 *
 * token-use: direct is set explicitly: on this branch the default is still exchange (one login per
 * `openstack` call); the helper making direct the default for every method removes the need.
 */

let ks: FederatedKeystone
let provider: ClientProvider
let adminToken: string
/** What each job cost, printed at the end. */
const measured: string[] = []

beforeAll(async () => {
  const started = Date.now()
  ks = await startFederatedKeystone()
  provider = await ks.startClientProvider()
  console.log(
    `federated Keystone: ${ks.startKind} start in ${ks.startMs} ms (start.sh), ${Date.now() - started} ms in all; provider ${provider.discoveryEndpoint}`
  )
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

afterEach(() => provider?.configure({}))

afterAll(async () => {
  if (measured.length > 0) console.log(`OIDC client jobs:\n${measured.join('\n')}`)
  await provider?.close()
  await ks?.stop()
})

/** Keystone's requests by Apache's access log. */
function count(filter: { method?: string; path?: string; status?: number }): number {
  return ks.countRequests(filter)
}

/** A later step that runs the CLI and says how many requests Keystone got meanwhile, and how many of them were logins. */
function counted(name: string, command: string) {
  const log = ks.accessLogPath
  const logins = `grep -c '"POST /v3/auth/tokens' ${log} || true`
  return {
    name,
    run: `all=$(wc -l < ${log}); logins=$(${logins}); ${OPENSTACK} ${command}; sleep 0.3; echo "keystone requests: $(( $(wc -l < ${log}) - all )), logins: $(( $(${logins}) - logins ))"`
  }
}

function clientJob(
  inputs: Record<string, string>,
  steps = [counted('catalog list', 'catalog list -f value -c Name'), counted('project show', `project show ${'{project}'} -f value -c name`)]
) {
  return job({
    inputs: {
      'auth-url': ks.authUrl,
      'identity-provider': ks.client.identityProvider,
      'discovery-endpoint': provider.discoveryEndpoint,
      'client-id': provider.clientId,
      'client-secret': provider.clientSecret,
      'project-id': ks.fixtures.projectId,
      // The provider's certificate is the test CA's; Keystone itself is plain http on 127.0.0.1.
      cacert: ks.caCertPath,
      'token-use': 'direct',
      ...inputs
    },
    secrets: [provider.clientSecret],
    steps: steps.map(step => ({ ...step, run: step.run.replace('{project}', ks.fixtures.projectId) }))
  })
}

describe.each(['id_token', 'access_token'])('access-token-type %s', tokenType => {
  test('only the client id and secret: one token for the job, later openstack calls make no Keystone login, every token issued is revoked, the secret in no log', async () => {
    const asked = provider.requests.length
    const issuedBefore = provider.issued.length
    const before = {
      federated: count({ method: 'POST', path: `/v3/OS-FEDERATION/identity_providers/${ks.client.identityProvider}/`, status: 201 }),
      issued: count({ method: 'POST', path: '/v3/', status: 201 }),
      revoked: count({ method: 'DELETE', path: '/v3/auth/tokens', status: 204 })
    }

    const transcript = await clientJob({ 'access-token-type': tokenType })

    expect(errors(transcript)).toEqual([])
    expect(transcript.failed).toBe(false)
    // The provider: the discovery document, then one grant with the right client.
    expect(provider.requests.slice(asked).map(r => [r.method, r.path.replace(/^.*\/realms\/robots/, ''), r.status, r.authorized])).toEqual([
      ['GET', '/.well-known/openid-configuration', 200, false],
      ['POST', '/protocol/openid-connect/token', 200, true]
    ])
    const [idToken, accessToken] = provider.issued.slice(issuedBefore) as [string, string]
    const presented = tokenType === 'id_token' ? idToken : accessToken
    expect(decodeJwt(presented).payload).toMatchObject({ iss: ks.client.issuer, azp: ks.client.clientId })
    expect(transcript.main?.stdout.join('\n')).toContain(
      `Got an ${tokenType} from the OIDC provider for client ${ks.client.clientId}: sub service-account-${ks.client.clientId}`
    )

    // Keystone: one federated login with that token, one rescope; the token the job got is scoped to fedproj.
    expect(
      count({ method: 'POST', path: `/v3/OS-FEDERATION/identity_providers/${ks.client.identityProvider}/`, status: 201 }) - before.federated
    ).toBe(1)
    const issued = count({ method: 'POST', path: '/v3/', status: 201 }) - before.issued
    expect(issued).toBe(2)
    expect(transcript.env).toMatchObject({ OS_PROJECT_ID: ks.fixtures.projectId, OS_CLIENT_SECRET: '', OS_CLIENT_ID: '' })

    // Later steps: the CLI works, with no login at Keystone (direct use).
    expect(transcript.step('catalog list')?.stdout).toContain('keystone')
    expect(transcript.step('project show')?.stdout).toContain(ks.fixtures.projectName)
    const costs = ['catalog list', 'project show'].map(name => transcript.step(name)?.stdout.find(line => line.startsWith('keystone requests:')))
    for (const cost of costs) expect(cost).toMatch(/logins: 0$/)

    // The end: both Keystone tokens revoked (the unscoped one in the main step, the scoped one in the post step).
    expect(transcript.post?.stdout).toContain('Token revoked.')
    const token = transcript.outputs.token!
    expect(await validateToken(ks.authUrl, adminToken, token)).toBe(404)
    for (let i = 0; i < 30 && count({ method: 'DELETE', path: '/v3/auth/tokens', status: 204 }) - before.revoked < issued; i++) {
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    expect(count({ method: 'DELETE', path: '/v3/auth/tokens', status: 204 }) - before.revoked).toBe(issued)

    // The leak scan: the secret, the provider's tokens and the job's token appear in no line of any
    // step, and the secret in no server log either.
    expect(transcript.main?.masks).toEqual(expect.arrayContaining([provider.clientSecret, presented, token]))
    expect(leaks(transcript, [provider.clientSecret, idToken, accessToken, token])).toEqual([])
    for (const log of [ks.accessLogPath, ks.errorLogPath, ks.keystoneLogPath]) expect(readFileSync(log, 'utf8')).not.toContain(provider.clientSecret)

    measured.push(
      `  ${tokenType}: provider requests ${provider.requests.length - asked} (discovery + grant); Keystone tokens issued ${issued}, revoked ${issued}; per later openstack call: ${costs.map(c => c?.replace('keystone requests: ', '')).join(' / ')} (requests, logins)`
    )
  })
})

test('a wrong secret: the provider refuses the client (invalid_client), Keystone is not asked, the secret is in no line', async () => {
  const posts = count({ method: 'POST' })
  const wrong = `${provider.clientSecret}-wrong`
  const transcript = await job({
    inputs: {
      'auth-url': ks.authUrl,
      'identity-provider': ks.client.identityProvider,
      'discovery-endpoint': provider.discoveryEndpoint,
      'client-id': provider.clientId,
      'client-secret': wrong,
      'project-id': ks.fixtures.projectId,
      cacert: ks.caCertPath
    },
    secrets: [wrong]
  })
  expect(transcript.failed).toBe(true)
  expect(errors(transcript)).toEqual([
    expect.stringMatching(/refused the client ci-robot .* HTTP 401 \(invalid_client: .*\): check client-id and client-secret/)
  ])
  expect(count({ method: 'POST' })).toBe(posts)
  expect(transcript.main?.exportedEnv).toEqual({})
  expect(leaks(transcript, [wrong])).toEqual([])
})

test("another client of the same provider: Apache's rule on azp refuses it, explained; no token left", async () => {
  const other = await ks.startClientProvider({ clientId: 'other-robot' })
  try {
    const issuedBefore = count({ method: 'POST', path: '/v3/', status: 201 })
    const transcript = await job({
      inputs: {
        'auth-url': ks.authUrl,
        'identity-provider': ks.client.identityProvider,
        'discovery-endpoint': other.discoveryEndpoint,
        'client-id': other.clientId,
        'client-secret': other.clientSecret,
        'project-id': ks.fixtures.projectId,
        'access-token-type': 'id_token',
        cacert: ks.caCertPath
      },
      secrets: [other.clientSecret]
    })
    expect(transcript.failed).toBe(true)
    const lines = errors(transcript)
    expect(lines).toEqual([
      expect.stringMatching(
        /HTTP 401 .*the cloud's authorization rules refused the provider's id_token \(sub service-account-other-robot, azp other-robot/
      )
    ])
    expect(count({ method: 'POST', path: '/v3/', status: 201 })).toBe(issuedBefore)
    expect(transcript.post?.stdout).toContain('No token to revoke: the main step did not issue one, or already revoked it.')
    measured.push(`  another client: ${lines[0]}`)
  } finally {
    await other.close()
  }
})

test('a provider that rate-limits past max-wait: one error naming it, nothing asked of Keystone', async () => {
  provider.configure({ fail: { status: 429, body: { error: 'slow_down' }, headers: { 'Retry-After': '30' } } })
  const posts = count({ method: 'POST' })
  const transcript = await clientJob({ 'max-wait': '5s' }, [])
  expect(transcript.failed).toBe(true)
  expect(errors(transcript)).toEqual([
    expect.stringMatching(/Gave up after 1 attempt .*Retry-After: 30.*The OIDC provider answered HTTP 429 to the client-credentials grant/)
  ])
  expect(count({ method: 'POST' })).toBe(posts)
})
