import { tokenEnvironment } from '../src/handoff/environment.js'
import { parseCatalog } from '../src/keystone/catalog.js'
import { DOM2, issuedToken, PROJ2, TOKEN } from './helpers/keystone-fixtures.js'

/**
 * What later steps of the job see (GITHUB_ENV): the token with the scope Keystone gave it, and every
 * login variable blanked, so that no later `openstack` call logs in again with a password or with
 * a scope the token does not have. A step cannot unset a variable for later steps: '' is how.
 */

const CONFIG = { authUrl: 'https://keystone.test/v3' }
const LOGIN_VARIABLES = [
  'OS_USERNAME',
  'OS_USER_ID',
  'OS_PASSWORD',
  'OS_USER_DOMAIN_NAME',
  'OS_USER_DOMAIN_ID',
  'OS_APPLICATION_CREDENTIAL_ID',
  'OS_APPLICATION_CREDENTIAL_NAME',
  'OS_APPLICATION_CREDENTIAL_SECRET',
  'OS_TENANT_ID',
  'OS_TENANT_NAME',
  'OS_CLOUD'
]
const SCOPE_VARIABLES = [
  'OS_PROJECT_ID',
  'OS_PROJECT_NAME',
  'OS_PROJECT_DOMAIN_ID',
  'OS_PROJECT_DOMAIN_NAME',
  'OS_DOMAIN_ID',
  'OS_DOMAIN_NAME',
  'OS_SYSTEM_SCOPE'
]

/** The scope variables that are not blank. */
function scopeOf(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(SCOPE_VARIABLES.filter(name => env[name] !== '').map(name => [name, env[name]!]))
}

test('every login variable is blanked, so later steps cannot log in again with a password or an application credential', () => {
  const env = tokenEnvironment(CONFIG, issuedToken())
  for (const name of LOGIN_VARIABLES) expect([name, env[name]]).toEqual([name, ''])
})

test('the token and where it is valid: OS_TOKEN, OS_AUTH_TOKEN (Swift clients), OS_AUTH_URL, identity v3, some auth type', () => {
  const env = tokenEnvironment(CONFIG, issuedToken())
  expect(env).toMatchObject({ OS_TOKEN: TOKEN, OS_AUTH_TOKEN: TOKEN, OS_AUTH_URL: CONFIG.authUrl, OS_IDENTITY_API_VERSION: '3' })
  expect(env.OS_AUTH_TYPE).toMatch(/\S/)
})

describe("the scope exported is the token's, every other scope variable blank", () => {
  test('a project token: its id, name and domain id', () => {
    expect(scopeOf(tokenEnvironment(CONFIG, issuedToken()))).toEqual({
      OS_PROJECT_ID: PROJ2.id,
      OS_PROJECT_NAME: PROJ2.name,
      OS_PROJECT_DOMAIN_ID: DOM2.id
    })
  })

  test('a project token without a name in the answer: its id only, the name blank (never a stale one from the job)', () => {
    const env = tokenEnvironment(CONFIG, issuedToken({ project: { id: PROJ2.id } }))
    expect(scopeOf(env)).toEqual({ OS_PROJECT_ID: PROJ2.id })
    expect(env.OS_PROJECT_NAME).toBe('')
  })

  test('a domain token: its id and name, no project', () => {
    const env = tokenEnvironment(CONFIG, issuedToken({ project: undefined, domain: DOM2 }))
    expect(scopeOf(env)).toEqual({ OS_DOMAIN_ID: DOM2.id, OS_DOMAIN_NAME: DOM2.name })
  })

  test('a system token: OS_SYSTEM_SCOPE=all, no project or domain', () => {
    expect(scopeOf(tokenEnvironment(CONFIG, issuedToken({ project: undefined, system: true })))).toEqual({ OS_SYSTEM_SCOPE: 'all' })
  })

  test('an unscoped token: every scope variable blank', () => {
    const env = tokenEnvironment(CONFIG, issuedToken({ project: undefined }))
    expect(scopeOf(env)).toEqual({})
    for (const name of SCOPE_VARIABLES) expect(env).toHaveProperty(name, '')
  })
})

test('OS_PASSCODE is blanked only when the job has one (the token plugins refuse even an empty one)', () => {
  expect(tokenEnvironment(CONFIG, issuedToken(), {}, {})).not.toHaveProperty('OS_PASSCODE')
  expect(tokenEnvironment(CONFIG, issuedToken(), {}, { OS_PASSCODE: '' })).not.toHaveProperty('OS_PASSCODE')
  expect(tokenEnvironment(CONFIG, issuedToken(), {}, { OS_PASSCODE: '123456' })).toHaveProperty('OS_PASSCODE', '')
})

describe('OS_STORAGE_URL: the object store of the region and interface in use, or blank', () => {
  const withSwift = parseCatalog([
    {
      type: 'object-store',
      endpoints: [
        { interface: 'public', region_id: 'GRA11', url: 'https://storage.gra.test/v1/AUTH_p' },
        { interface: 'internal', region_id: 'GRA11', url: 'http://storage.internal.gra/v1/AUTH_p' },
        { interface: 'public', region_id: 'SBG5', url: 'https://storage.sbg.test/v1/AUTH_p' }
      ]
    }
  ])

  test.each([
    [{}, 'https://storage.gra.test/v1/AUTH_p'],
    [{ region: 'SBG5' }, 'https://storage.sbg.test/v1/AUTH_p'],
    [{ region: 'GRA11', interface: 'internal' }, 'http://storage.internal.gra/v1/AUTH_p'],
    [{ region: 'BHS5' }, '']
  ])('%j: %s', (where, url) => {
    expect(tokenEnvironment({ ...CONFIG, ...where }, issuedToken({ catalog: withSwift })).OS_STORAGE_URL).toBe(url)
  })

  test('blank with no object store, or no catalog at all: a stale value from the job cannot stay', () => {
    expect(tokenEnvironment(CONFIG, issuedToken()).OS_STORAGE_URL).toBe('')
    expect(tokenEnvironment(CONFIG, issuedToken({ catalog: undefined })).OS_STORAGE_URL).toBe('')
  })

  test('blank for a URL that is not plain http(s): it would reach the environment of every later step', () => {
    const odd = parseCatalog([{ type: 'object-store', endpoints: [{ interface: 'public', region_id: 'R', url: 'file:///etc/passwd' }] }])
    expect(tokenEnvironment(CONFIG, issuedToken({ catalog: odd })).OS_STORAGE_URL).toBe('')
  })
})

test("region and interface: exported when the job chose them, left alone (the job's own) when it did not", () => {
  const chosen = tokenEnvironment({ ...CONFIG, region: 'SBG5', interface: 'internal' }, issuedToken())
  expect(chosen).toMatchObject({ OS_REGION_NAME: 'SBG5', OS_INTERFACE: 'internal' })
  const left = tokenEnvironment(CONFIG, issuedToken())
  expect(left).not.toHaveProperty('OS_REGION_NAME')
  expect(left).not.toHaveProperty('OS_INTERFACE')
})

test('TLS: OS_CACERT names the CA file, OS_INSECURE only when verification is off', () => {
  expect(tokenEnvironment(CONFIG, issuedToken(), { caFile: '/runner/temp/ca.pem' })).toMatchObject({ OS_CACERT: '/runner/temp/ca.pem' })
  expect(tokenEnvironment(CONFIG, issuedToken(), { insecure: true })).toMatchObject({ OS_INSECURE: 'true' })
  const plain = tokenEnvironment(CONFIG, issuedToken())
  expect(plain).not.toHaveProperty('OS_CACERT')
  expect(plain).not.toHaveProperty('OS_INSECURE')
})

test('the token is in OS_TOKEN and OS_AUTH_TOKEN, and in no other variable', () => {
  const env = tokenEnvironment({ ...CONFIG, region: 'GRA11' }, issuedToken(), { caFile: '/ca.pem' }, { OS_PASSCODE: '1' })
  const tokenHolders = Object.entries(env)
    .filter(([, value]) => value === TOKEN)
    .map(([name]) => name)
    .sort()
  expect(tokenHolders).toEqual(['OS_AUTH_TOKEN', 'OS_TOKEN'])
})
