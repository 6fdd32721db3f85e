import type { ActionConfig } from '../src/config/types.js'
import { applicationCredentialIdentity } from '../src/login/application-credential.js'
import { loginBody } from '../src/login/auth-request.js'
import { passwordIdentity } from '../src/login/password.js'
import { resolveConfig as resolveConfigWith } from '../src/config/config.js'
import type { ConfigSource } from '../src/config/inputs.js'
import { LOGIN_METHODS } from '../src/login/methods.js'
import { type InputName, secretValues } from '../src/config/inputs.js'
import { UserError } from '../src/errors.js'
import { source } from './helpers/config-source.js'

/** The configuration as the steps resolve it: with every login method of the action. */
const resolveConfig = (source: ConfigSource) => resolveConfigWith(source, LOGIN_METHODS)

const AUTH = 'https://keystone.example.com:5000/v3'

/** The POST /v3/auth/tokens body of a password or application-credential login. */
function requestBody({ credentials, scope }: ActionConfig): unknown {
  if (credentials.method === 'oidc' || credentials.method === 'oidc-client') throw new Error('a federated login sends no credentials body')
  const identity = credentials.method === 'password' ? passwordIdentity(credentials) : applicationCredentialIdentity(credentials)
  return loginBody(identity, scope)
}

/** What Keystone receives for these inputs and this job environment. */
function body(inputs: Partial<Record<InputName, string>>, env: Record<string, string> = {}): unknown {
  return requestBody(resolveConfig(source({ 'auth-url': AUTH, ...inputs }, env)))
}

function errorOf(inputs: Partial<Record<InputName, string>>, env: Record<string, string> = {}): string {
  try {
    resolveConfig(source(inputs, env))
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    return (error as Error).message
  }
  throw new Error('expected a UserError')
}

const passwordUser = (user: object) => ({ methods: ['password'], password: { user } })

describe('auth request bodies', () => {
  test.each<[string, Partial<Record<InputName, string>>, unknown]>([
    [
      'user name + domain name, project id',
      { username: 'alice', password: 'pw', 'user-domain-name': 'Default', 'project-id': 'p1' },
      { identity: passwordUser({ name: 'alice', domain: { name: 'Default' }, password: 'pw' }), scope: { project: { id: 'p1' } } }
    ],
    [
      'user id, project name + project domain id',
      { 'user-id': 'u1', password: 'pw', 'project-name': 'web', 'project-domain-id': 'd9' },
      { identity: passwordUser({ id: 'u1', password: 'pw' }), scope: { project: { name: 'web', domain: { id: 'd9' } } } }
    ],
    [
      'project name falls back to the user domain',
      { username: 'alice', password: 'pw', 'user-domain-id': 'd1', 'project-name': 'web' },
      { identity: passwordUser({ name: 'alice', domain: { id: 'd1' }, password: 'pw' }), scope: { project: { name: 'web', domain: { id: 'd1' } } } }
    ],
    [
      'domain scope by name',
      { 'user-id': 'u1', password: 'pw', 'domain-name': 'dom2' },
      { identity: passwordUser({ id: 'u1', password: 'pw' }), scope: { domain: { name: 'dom2' } } }
    ],
    [
      'domain scope by id',
      { 'user-id': 'u1', password: 'pw', 'domain-id': 'd2' },
      { identity: passwordUser({ id: 'u1', password: 'pw' }), scope: { domain: { id: 'd2' } } }
    ],
    [
      'system scope',
      { 'user-id': 'u1', password: 'pw', 'system-scope': 'all' },
      { identity: passwordUser({ id: 'u1', password: 'pw' }), scope: { system: { all: true } } }
    ],
    ['no scope: Keystone picks the default project', { 'user-id': 'u1', password: 'pw' }, { identity: passwordUser({ id: 'u1', password: 'pw' }) }],
    [
      'application credential by id sends no scope',
      { 'application-credential-id': 'ac1', 'application-credential-secret': 's' },
      { identity: { methods: ['application_credential'], application_credential: { id: 'ac1', secret: 's' } } }
    ],
    [
      'application credential by name + user',
      { 'application-credential-name': 'ci', 'application-credential-secret': 's', username: 'bob', 'user-domain-name': 'dom2' },
      {
        identity: {
          methods: ['application_credential'],
          application_credential: { name: 'ci', user: { name: 'bob', domain: { name: 'dom2' } }, secret: 's' }
        }
      }
    ]
  ])('%s', (_name, inputs, auth) => {
    expect(body(inputs)).toEqual({ auth })
  })

  test('a password keeps its inner and edge spaces but loses a pasted trailing newline', () => {
    expect(body({ 'user-id': 'u1', password: ' p w \n' })).toEqual({ auth: { identity: passwordUser({ id: 'u1', password: ' p w ' }) } })
  })
})

describe('OpenRC fallbacks', () => {
  const ovhOpenrc = {
    OS_AUTH_URL: 'https://auth.cloud.ovh.net/v3',
    OS_IDENTITY_API_VERSION: '3',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_TENANT_ID: 'tenant-id',
    OS_TENANT_NAME: 'tenant-name',
    OS_USERNAME: 'user-abc',
    OS_PASSWORD: 'secret',
    OS_REGION_NAME: 'GRA11'
  }

  test('a bare uses: with the OVHcloud OpenRC in the job env logs in to the tenant by id', () => {
    const config = resolveConfig(source({}, ovhOpenrc))
    expect(config.authUrl).toBe('https://auth.cloud.ovh.net/v3')
    expect(config.region).toBe('GRA11')
    expect(requestBody(config)).toEqual({
      auth: { identity: passwordUser({ name: 'user-abc', domain: { name: 'Default' }, password: 'secret' }), scope: { project: { id: 'tenant-id' } } }
    })
  })

  test('OS_PROJECT_ID wins over the legacy OS_TENANT_ID', () => {
    expect(body({}, { ...ovhOpenrc, OS_PROJECT_ID: 'project-id' })).toMatchObject({ auth: { scope: { project: { id: 'project-id' } } } })
  })

  test('a project named in with: replaces the whole project of the job env, not just its name', () => {
    // Horizon's OpenRC sets both OS_PROJECT_ID and OS_PROJECT_NAME; the step asks for another project.
    const env = { ...ovhOpenrc, OS_PROJECT_ID: 'job-project', OS_PROJECT_NAME: 'job-project-name' }
    expect(body({ 'project-name': 'other' }, env)).toMatchObject({
      auth: { scope: { project: { name: 'other', domain: { name: 'Default' } } } }
    })
  })

  test('a domain scope in with: replaces the project of the job env', () => {
    expect(body({ 'domain-name': 'dom2' }, ovhOpenrc)).toMatchObject({ auth: { scope: { domain: { name: 'dom2' } } } })
  })

  test('inputs win over the environment, field by field for single values', () => {
    const config = resolveConfig(source({ 'auth-url': 'https://other.example/', region: 'BHS5' }, ovhOpenrc))
    expect(config.authUrl).toBe('https://other.example/v3')
    expect(config.region).toBe('BHS5')
  })

  test('OS_DOMAIN_NAME beside a project in the job env is the default domain, as openstacksdk reads it', () => {
    const env = { OS_AUTH_URL: AUTH, OS_USERNAME: 'alice', OS_PASSWORD: 'pw', OS_PROJECT_NAME: 'web', OS_DOMAIN_NAME: 'corp' }
    expect(body({}, env)).toEqual({
      auth: {
        identity: passwordUser({ name: 'alice', domain: { name: 'corp' }, password: 'pw' }),
        scope: { project: { name: 'web', domain: { name: 'corp' } } }
      }
    })
  })

  test('OS_AUTH_TYPE=v3applicationcredential picks the application credential even when OS_PASSWORD is set', () => {
    const env = {
      OS_AUTH_URL: AUTH,
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_APPLICATION_CREDENTIAL_ID: 'ac1',
      OS_APPLICATION_CREDENTIAL_SECRET: 's',
      OS_PASSWORD: 'pw'
    }
    expect(resolveConfig(source({}, env)).credentials).toEqual({ method: 'application-credential', id: 'ac1', secret: 's' })
  })

  test.each(['v3token', 'openstack-token'])('an OS_AUTH_TYPE left by an earlier token step (%s) does not decide the method', authType => {
    const env = { OS_AUTH_URL: AUTH, OS_AUTH_TYPE: authType, OS_USER_ID: 'u1', OS_PASSWORD: 'pw' }
    expect(resolveConfig(source({}, env)).credentials.method).toBe('password')
  })

  test('a project scope in the job env is dropped, with no warning, for an application credential', () => {
    const config = resolveConfig(
      source({}, { OS_AUTH_URL: AUTH, OS_APPLICATION_CREDENTIAL_ID: 'ac1', OS_APPLICATION_CREDENTIAL_SECRET: 's', OS_PROJECT_ID: 'p' })
    )
    expect(config.scope).toEqual({ kind: 'default' })
    expect(config.warnings).toEqual([])
  })

  test('a project scope in with: is dropped for an application credential, with a warning', () => {
    const config = resolveConfig(
      source({ 'auth-url': AUTH, 'application-credential-id': 'ac1', 'application-credential-secret': 's', 'project-id': 'p' })
    )
    expect(config.scope).toEqual({ kind: 'default' })
    expect(config.warnings[0]).toMatch(/input `project-id` ignored: a token from an application credential/)
  })

  test('interface names are normalised, booleans follow YAML', () => {
    const config = resolveConfig(
      source({ 'auth-url': AUTH, 'user-id': 'u', password: 'p', interface: 'internalURL', revoke: 'False', 'export-env': 'TRUE' })
    )
    expect(config).toMatchObject({ interface: 'internal', revoke: false, exportEnv: true })
  })
})

describe('configuration errors name the input and the variable', () => {
  const user = { 'auth-url': AUTH, 'user-id': 'u1', password: 'pw' }
  test.each<[string, Partial<Record<InputName, string>>, Record<string, string>, RegExp]>([
    ['no auth url', { 'user-id': 'u', password: 'p' }, {}, /`auth-url` input or the OS_AUTH_URL variable/],
    ['no credentials at all', { 'auth-url': AUTH }, {}, /No credentials: set `password` \(or OS_PASSWORD\)/],
    ['password without a user', { 'auth-url': AUTH, password: 'p' }, {}, /needs a user: set `user-id` \(OS_USER_ID\)/],
    [
      'username without a domain',
      { 'auth-url': AUTH, username: 'a', password: 'p' },
      {},
      /input `username` names a user, .*`user-domain-name` \(OS_USER_DOMAIN_NAME\)/
    ],
    [
      'both secrets',
      { ...user, 'application-credential-secret': 's' },
      {},
      /password \(input `password`\) and an application credential secret \(input `application-credential-secret`\).*`auth-method`/
    ],
    ['both secrets, one from the env', user, { OS_APPLICATION_CREDENTIAL_SECRET: 's' }, /OS_APPLICATION_CREDENTIAL_SECRET/],
    ['secret without its id', { 'auth-url': AUTH, 'application-credential-secret': 's' }, {}, /set without the credential it belongs to/],
    [
      'credential name without user',
      { 'auth-url': AUTH, 'application-credential-name': 'ci', 'application-credential-secret': 's' },
      {},
      /looks up per user/
    ],
    [
      'auth-method password without password',
      { 'auth-url': AUTH, 'auth-method': 'password', 'application-credential-secret': 's' },
      {},
      /no password is set/
    ],
    [
      'unknown auth-method',
      { ...user, 'auth-method': 'token' },
      {},
      /`auth-method` is "token": use password, application-credential, oidc-client or oidc/
    ],
    ['project and domain scope', { ...user, 'project-id': 'p', 'domain-name': 'd' }, {}, /Two scopes.*input `project-id` and input `domain-name`/],
    ['system and project scope', { ...user, 'project-id': 'p', 'system-scope': 'all' }, {}, /Two scopes/],
    [
      'system and project in the env',
      { 'auth-url': AUTH, 'user-id': 'u', password: 'p' },
      { OS_SYSTEM_SCOPE: 'all', OS_PROJECT_ID: 'p' },
      /OS_SYSTEM_SCOPE and OS_PROJECT_ID/
    ],
    ['system scope other than all', { ...user, 'system-scope': 'yes' }, {}, /only system scope Keystone knows is all/],
    ['project name without any domain', { ...user, 'project-name': 'web' }, {}, /`project-domain-name` \(OS_PROJECT_DOMAIN_NAME\)/],
    ['project name from OS_TENANT_NAME without any domain', user, { OS_TENANT_NAME: 'web' }, /OS_TENANT_NAME names a project/],
    ['unknown interface', { ...user, interface: 'private' }, {}, /use public, internal or admin/],
    ['revoke not a boolean', { ...user, revoke: 'yes' }, {}, /input `revoke` is "yes": use true or false/],
    ['a newline inside a name', { ...user, 'project-id': 'a\nb' }, {}, /input `project-id` contains a line break/],
    ['a newline inside an env value', user, { OS_REGION_NAME: 'GRA\n11' }, /OS_REGION_NAME contains a line break/],
    ['an absurdly long value', { ...user, region: 'x'.repeat(5000) }, {}, /input `region` is 5000 characters long/],
    [
      'a tab inside a pacing input, which the error would quote',
      { ...user, 'job-index': ' a\tb ', 'job-total': '3', 'rate-limit': '30/min' },
      {},
      /^input `job-index` contains a line break or control character/
    ],
    [
      'a pacing input with spaces around it',
      { ...user, 'job-index': ' x ', 'job-total': '3', 'rate-limit': '30/min' },
      {},
      /input `job-index` is "x": give a whole number/
    ],
    ['URL without scheme', { ...user, 'auth-url': 'keystone.example.com/v3' }, {}, /input `auth-url` is not a valid URL/],
    ['ftp URL', { ...user, 'auth-url': 'ftp://keystone.example.com/v3' }, {}, /must start with https:\/\//],
    ['URL with credentials', { ...user, 'auth-url': 'https://bob:pw@keystone.example.com/v3' }, {}, /must not contain a user name or password/]
  ])('%s', (_name, inputs, env, message) => {
    expect(errorOf(inputs, env)).toMatch(message)
  })

  test('whitespace-only inputs count as absent and fall back to the environment', () => {
    const config = resolveConfig(
      source({ 'auth-url': '   ', 'user-id': ' ', password: '\n' }, { OS_AUTH_URL: AUTH, OS_USER_ID: 'u', OS_PASSWORD: 'p' })
    )
    expect(config.credentials).toEqual({ method: 'password', user: { id: 'u' }, password: 'p' })
  })

  test('no error message carries a secret', () => {
    const message = errorOf({ 'auth-url': AUTH, password: 'hunter2-secret', 'application-credential-secret': 'appcred-secret-value' })
    expect(message).not.toContain('hunter2-secret')
    expect(message).not.toContain('appcred-secret-value')
  })
})

describe('secretValues', () => {
  test('lists every password and credential secret the step can read, from inputs and env', () => {
    const values = secretValues(
      source({ password: 'a-pass\n' }, { OS_PASSWORD: 'env-pass', OS_APPLICATION_CREDENTIAL_SECRET: 'env-secret', OS_USERNAME: 'bob' })
    )
    expect(values.sort()).toEqual(['a-pass', 'env-pass', 'env-secret'])
  })
})
