import * as fs from 'node:fs'
import * as path from 'node:path'
import fc from 'fast-check'
import { parseCloudsYaml } from '../src/credential-files/clouds-yaml.js'
import { UserError } from '../src/errors.js'

const FIXTURES = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'clouds')
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8')

function errorOf(text: string, cloud?: string, secure?: string): string {
  try {
    parseCloudsYaml(text, cloud, secure)
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    return (error as Error).message
  }
  throw new Error('expected a UserError')
}

describe('files users have', () => {
  test('a password cloud with a project scope and a region', () => {
    expect(parseCloudsYaml(fixture('password.yaml'), undefined)).toEqual({
      OS_AUTH_URL: 'https://keystone.example.com:5000/v3',
      OS_USERNAME: 'mordred',
      OS_PASSWORD: 'XXXXXXX',
      OS_PROJECT_NAME: 'shade',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: 'RegionOne'
    })
  })

  test("Horizon's application-credential clouds.yaml", () => {
    expect(parseCloudsYaml(fixture('horizon-app-cred.yaml'), 'openstack')).toEqual({
      OS_AUTH_URL: 'https://keystone.example.com:5000/v3',
      OS_APPLICATION_CREDENTIAL_ID: '21dced0fd20347869b93710d2b98aae0',
      OS_APPLICATION_CREDENTIAL_SECRET: 'fake-Secret_9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz',
      OS_REGION_NAME: 'RegionOne',
      OS_INTERFACE: 'public',
      OS_IDENTITY_API_VERSION: '3',
      OS_AUTH_TYPE: 'v3applicationcredential'
    })
  })

  test('one cloud of a multi-cloud file', () => {
    expect(parseCloudsYaml(fixture('multi.yaml'), 'ds-admin')).toEqual({
      OS_AUTH_URL: 'http://192.168.122.10:5000/',
      OS_PROJECT_NAME: 'admin',
      OS_USERNAME: 'admin',
      OS_PASSWORD: '0penstack',
      OS_USER_DOMAIN_ID: 'default',
      OS_PROJECT_DOMAIN_ID: 'default',
      OS_REGION_NAME: 'RegionOne'
    })
  })

  test('secure.yaml is merged over clouds.yaml, auth key by key', () => {
    expect(parseCloudsYaml(fixture('split-clouds.yaml'), 'prod', fixture('split-secure.yaml'))).toEqual({
      OS_AUTH_URL: 'https://keystone.example.com/v3',
      OS_USERNAME: 'deployer',
      OS_PASSWORD: 'fake-prod-password',
      OS_USER_DOMAIN_NAME: 'Default',
      // Unquoted digits with a leading zero stay as written.
      OS_PROJECT_ID: '0123456789',
      OS_REGION_NAME: 'RegionOne'
    })
    expect(parseCloudsYaml(fixture('split-clouds.yaml'), 'staging', fixture('split-secure.yaml'))).toEqual({
      OS_AUTH_URL: 'https://keystone.staging.example.com/v3',
      OS_APPLICATION_CREDENTIAL_ID: '4e8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c',
      OS_APPLICATION_CREDENTIAL_SECRET: 'fake-staging-secret',
      OS_AUTH_TYPE: 'v3applicationcredential'
    })
  })

  test('secure.yaml values win, and a cloud only in secure.yaml exists', () => {
    const clouds = 'clouds:\n  a:\n    auth: {auth_url: https://k/v3, password: old}\n    region_name: R1\n'
    const secure = 'clouds:\n  a:\n    auth: {password: new}\n    region_name: R2\n  b:\n    auth: {auth_url: https://b/v3}\n'
    expect(parseCloudsYaml(clouds, 'a', secure)).toEqual({ OS_AUTH_URL: 'https://k/v3', OS_PASSWORD: 'new', OS_REGION_NAME: 'R2' })
    expect(parseCloudsYaml(clouds, 'b', secure)).toEqual({ OS_AUTH_URL: 'https://b/v3' })
  })

  test('an empty secure.yaml adds nothing', () => {
    expect(parseCloudsYaml(fixture('password.yaml'), undefined, '')).toEqual(parseCloudsYaml(fixture('password.yaml'), undefined))
  })

  test("OVHcloud's clouds.yaml (Horizon's template, regions listed): the first region", () => {
    expect(parseCloudsYaml(fixture('ovhcloud.yaml'), undefined)).toEqual({
      OS_AUTH_URL: 'https://auth.cloud.ovh.net/v3',
      OS_USERNAME: 'user-Xy7Qk2Lm9Pz4',
      OS_PROJECT_ID: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
      OS_PROJECT_NAME: '4815162342108105',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: 'GRA11',
      OS_INTERFACE: 'public',
      OS_IDENTITY_API_VERSION: '3'
    })
  })
})

describe('details', () => {
  const one = (cloud: string): Record<string, string> => parseCloudsYaml(`clouds:\n  c:\n${cloud.replace(/^/gm, '    ')}\n`, 'c')

  test('tenant_* are project_*, and project_* wins', () => {
    expect(one('auth:\n  tenant_id: t1\n  tenant_name: tn')).toEqual({ OS_PROJECT_ID: 't1', OS_PROJECT_NAME: 'tn' })
    expect(one('auth:\n  tenant_id: t1\n  project_id: p1')).toEqual({ OS_PROJECT_ID: 'p1' })
  })

  test('domain and system scopes', () => {
    expect(one('auth:\n  domain_name: d\n  domain_id: di\n  system_scope: all')).toEqual({
      OS_DOMAIN_NAME: 'd',
      OS_DOMAIN_ID: 'di',
      OS_SYSTEM_SCOPE: 'all'
    })
  })

  test('user id and application credential by name', () => {
    expect(one('auth:\n  user_id: u1\n  application_credential_name: ci\n  application_credential_secret: s')).toEqual({
      OS_USER_ID: 'u1',
      OS_APPLICATION_CREDENTIAL_NAME: 'ci',
      OS_APPLICATION_CREDENTIAL_SECRET: 's'
    })
  })

  test('keys written with dashes, as openstacksdk accepts', () => {
    expect(one('auth:\n  auth-url: https://k/v3\n  project-name: p\nregion-name: R')).toEqual({
      OS_AUTH_URL: 'https://k/v3',
      OS_PROJECT_NAME: 'p',
      OS_REGION_NAME: 'R'
    })
  })

  test('auth options at the top level of the cloud; project and domain there win over auth', () => {
    expect(one('auth_url: https://k/v3\nproject_name: top\nauth:\n  project_name: in-auth\n  username: u\nusername: top-user')).toEqual({
      OS_AUTH_URL: 'https://k/v3',
      OS_PROJECT_NAME: 'top',
      OS_USERNAME: 'u'
    })
  })

  test('older names: auth_plugin, endpoint_type', () => {
    expect(one('auth_plugin: password\nendpoint_type: internal')).toEqual({ OS_AUTH_TYPE: 'password', OS_INTERFACE: 'internal' })
  })

  test.each<[string, string, string | undefined]>([
    ['a string', 'region_name: RegionOne', 'RegionOne'],
    ['a comma-separated string (deprecated)', 'region_name: R1,R2', 'R1'],
    ['a list in region_name', 'region_name: [R1, R2]', 'R1'],
    ['a list of names', 'regions:\n  - R1\n  - R2', 'R1'],
    ['a list of {name} objects', 'regions:\n  - name: R1\n  - name: R2', 'R1'],
    ['regions before region_name, as openstacksdk reads them', 'region_name: R9\nregions: [R1]', 'R1'],
    ['an empty list', 'regions: []', undefined],
    ['a numeric name', 'region_name: 1', '1']
  ])('region: %s', (_name, yaml, region) => {
    expect(one(yaml).OS_REGION_NAME).toBe(region)
  })

  test("a region's values override the cloud's settings", () => {
    expect(
      one('auth:\n  auth_url: https://a/v3\n  username: u\nregions:\n  - name: R1\n    values:\n      auth:\n        auth_url: https://r1/v3\n  - R2')
    ).toEqual({
      OS_AUTH_URL: 'https://r1/v3',
      OS_USERNAME: 'u',
      OS_REGION_NAME: 'R1'
    })
  })

  test('numbers and booleans become the text written', () => {
    expect(one('identity_api_version: 3\nauth:\n  project_id: 1e3\n  password: 0x1F\n  username: true\n  user_id: 007')).toEqual({
      OS_IDENTITY_API_VERSION: '3',
      OS_PROJECT_ID: '1e3',
      OS_PASSWORD: '0x1F',
      OS_USERNAME: 'true',
      OS_USER_ID: '007'
    })
  })

  test('empty and null values are left out', () => {
    expect(one('auth:\n  username: ""\n  password:\n  project_name: ~\nregion_name: ""')).toEqual({})
  })

  test('anchors, aliases and merge keys', () => {
    const text = [
      'base: &base',
      '  auth_url: https://k/v3',
      '  user_domain_name: Default',
      'clouds:',
      '  a:',
      '    auth:',
      '      <<: *base',
      '      username: alice',
      '  b:',
      '    auth: *base'
    ].join('\n')
    expect(parseCloudsYaml(text, 'a')).toEqual({ OS_AUTH_URL: 'https://k/v3', OS_USER_DOMAIN_NAME: 'Default', OS_USERNAME: 'alice' })
    expect(parseCloudsYaml(text, 'b')).toEqual({ OS_AUTH_URL: 'https://k/v3', OS_USER_DOMAIN_NAME: 'Default' })
  })

  test('the cloud name is trimmed; an empty one means "not given"', () => {
    expect(parseCloudsYaml(fixture('multi.yaml'), ' devstack ').OS_USERNAME).toBe('demo')
    expect(parseCloudsYaml(fixture('password.yaml'), '').OS_USERNAME).toBe('mordred')
  })

  test('JSON is YAML too', () => {
    expect(parseCloudsYaml('{"clouds": {"j": {"auth": {"auth_url": "https://k/v3"}, "identity_api_version": 3}}}', undefined)).toEqual({
      OS_AUTH_URL: 'https://k/v3',
      OS_IDENTITY_API_VERSION: '3'
    })
  })

  test('a cloud called __proto__ is just a name', () => {
    expect(parseCloudsYaml('clouds:\n  __proto__:\n    auth: {auth_url: https://k/v3}\n', '__proto__')).toEqual({ OS_AUTH_URL: 'https://k/v3' })
    expect(errorOf('clouds:\n  a: {}\n', 'toString')).toMatch(/no cloud named "toString"/)
  })
})

describe('refused', () => {
  test('several clouds and none chosen', () => {
    expect(errorOf(fixture('multi.yaml'))).toBe('clouds.yaml has clouds devstack, ds-admin, infra: choose one with the `cloud` input or OS_CLOUD.')
  })

  test('an unknown cloud', () => {
    expect(errorOf(fixture('multi.yaml'), 'prod')).toBe(
      'clouds.yaml has no cloud named "prod": its clouds are devstack, ds-admin, infra; set the `cloud` input or OS_CLOUD to one of them.'
    )
  })

  test('a long list of names is cut short', () => {
    const text = `clouds:\n${Array.from({ length: 30 }, (_, i) => `  c${i}: {}`).join('\n')}\n`
    expect(errorOf(text)).toMatch(/c19 and 10 more: choose one/)
  })

  test.each(['profile', 'cloud'])('a vendor profile (`%s:`)', key => {
    const text = `clouds:\n  ovh:\n    ${key}: ovh\n    auth:\n      username: u\n      password: fake-pw\n`
    expect(errorOf(text)).toBe(
      `In clouds.yaml, cloud "ovh" uses \`${key}:\`, a vendor profile the action does not read: remove it and write auth_url (and region_name) in the cloud's entry.`
    )
    expect(errorOf(fixture('multi.yaml'), 'infra')).toMatch(/vendor profile/)
  })

  test('malformed YAML: position only, never the line', () => {
    const message = errorOf('clouds:\n  a:\n    auth:\n      password: "s3cr3t\n')
    expect(message).toMatch(/^clouds.yaml is not valid YAML \(.+ at line \d+, column \d+\): fix the file there\.$/)
    expect(message).not.toContain('s3cr3t')
  })

  test('a duplicate key', () => {
    expect(errorOf('clouds:\n  a:\n    auth:\n      password: one-s3cr3t\n      password: two-s3cr3t\n')).toBe(
      'clouds.yaml has the same key twice in one mapping at line 5: keep only one.'
    )
  })

  test('a tab used for indentation', () => {
    expect(errorOf('clouds:\n\ta: {}\n')).toMatch(/not valid YAML/)
  })

  test('two documents', () => {
    expect(errorOf('clouds:\n  a: {}\n---\nclouds:\n  b: {}\n')).toMatch(/more than one YAML document/)
  })

  test.each([
    ['empty', '', /clouds.yaml is empty/],
    ['only comments', '# nothing\n', /clouds.yaml is empty/],
    ['a list', '- a\n- b\n', /clouds.yaml is not a YAML mapping/],
    ['a string', 'hello', /clouds.yaml is not a YAML mapping/],
    ['no clouds key', 'cloud:\n  a: {}\n', /clouds.yaml has no `clouds:` key/],
    ['clouds is a list', 'clouds:\n  - a\n', /`clouds` must be a mapping/],
    ['no clouds in it', 'clouds: {}\n', /clouds.yaml has no clouds under `clouds:`/],
    ['a cloud that is not a mapping', 'clouds:\n  a: hello\n', /`clouds.a` must be a mapping/],
    ['auth that is not a mapping', 'clouds:\n  a:\n    auth: [x]\n', /`clouds.a.auth` must be a mapping/]
  ])('not the expected shape: %s', (_name, text, expected) => {
    expect(errorOf(text)).toMatch(expected)
  })

  test('a list or mapping where a value belongs: the key path, never the value', () => {
    const message = errorOf('clouds:\n  a:\n    auth:\n      password: [s3cr3t, other]\n')
    expect(message).toBe('In clouds.yaml, `clouds.a.auth.password` is a list or mapping where a single value belongs: write it as one string.')
    expect(errorOf('clouds:\n  a:\n    auth:\n      password: {v: s3cr3t}\n', undefined, 'clouds: {}')).toMatch(
      /^In clouds.yaml or secure.yaml, `clouds.a.auth.password` is a list/
    )
  })

  test.each([
    ['region_name a mapping', 'region_name: {a: b}', /`clouds.c.region_name` must be a region name or a list/],
    ['a region entry with other keys', 'regions:\n  - {name: R1, endpoint: x}', /`clouds.c.regions\[0\]` must be a region name or a mapping/],
    ['a region without a name', 'regions:\n  - {values: {}}', /`clouds.c.regions\[0\]` has no `name`/],
    ['region values not a mapping', 'regions:\n  - {name: R1, values: [x]}', /`clouds.c.regions\[0\].values` must be a mapping/]
  ])('regions: %s', (_name, yaml, expected) => {
    expect(errorOf(`clouds:\n  c:\n    ${yaml.replace(/\n/g, '\n    ')}\n`)).toMatch(expected)
  })

  test('secure.yaml of the wrong shape', () => {
    expect(errorOf(fixture('password.yaml'), undefined, 'password: x\n')).toMatch(/^secure.yaml has no `clouds:` key/)
    expect(errorOf(fixture('password.yaml'), undefined, 'clouds: [')).toMatch(/^secure.yaml is not valid YAML/)
  })

  test('an alias bomb', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (let i = 1; i < 9; i++) {
      const name = String.fromCharCode(97 + i)
      const previous = String.fromCharCode(96 + i)
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`)
    }
    const text = `${levels.join('\n')}\nclouds:\n  x:\n    auth: {auth_url: https://k/v3}\n`
    expect(errorOf(text)).toMatch(/expands its YAML aliases \(\*name\) too many times/)
  })

  test('a merge key on something other than a mapping', () => {
    expect(errorOf('clouds:\n  a:\n    auth:\n      <<: [x]\n')).toMatch(/merge key \(<<\) on something other than a mapping/)
  })

  test('an alias to no anchor', () => {
    expect(errorOf('clouds:\n  a:\n    auth: *nothing\n')).toMatch(/clouds.yaml is not valid YAML|no anchor/)
  })

  test('a huge file', () => {
    const text = `clouds:\n  a:\n    auth:\n      password: ${'x'.repeat(256 * 1024)}\n`
    expect(errorOf(text)).toMatch(/^clouds.yaml is \d+ characters long \(at most 262144\)/)
    expect(errorOf(fixture('password.yaml'), undefined, text)).toMatch(/^secure.yaml is \d+ characters long/)
  })

  test('deep nesting', () => {
    expect(() => parseCloudsYaml(`clouds: ${'['.repeat(250000)}`, undefined)).toThrow(UserError)
    expect(() => parseCloudsYaml(`clouds: ${'['.repeat(5000)}${']'.repeat(5000)}`, undefined)).toThrow(UserError)
  })
})

describe('properties', () => {
  const yamlish = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          'clouds:',
          'auth:',
          'region_name:',
          'regions:',
          'profile:',
          'password:',
          '<<:',
          '\n',
          '\n  ',
          '\n    ',
          '- ',
          ': ',
          '&a ',
          '*a',
          '*b',
          '&b ',
          '[',
          ']',
          '{',
          '}',
          ',',
          '"',
          "'",
          '#',
          '---',
          '%YAML 1.1\n',
          '!!binary ',
          '!!set ',
          '!!omap ',
          '? ',
          '|',
          '>',
          '\t',
          '~',
          '3'
        ),
        fc.string({ maxLength: 4 })
      ),
      { maxLength: 50 }
    )
    .map(parts => parts.join(''))

  test('arbitrary text never throws anything but a UserError', () => {
    fc.assert(
      fc.property(
        fc.oneof(yamlish, fc.string({ unit: 'binary', maxLength: 200 })),
        fc.option(fc.constantFrom('a', 'clouds', '__proto__', ''), { nil: undefined }),
        fc.option(yamlish, { nil: undefined }),
        (text, cloud, secure) => {
          try {
            const result = parseCloudsYaml(text, cloud, secure)
            for (const value of Object.values(result)) expect(typeof value).toBe('string')
          } catch (error) {
            expect(error).toBeInstanceOf(UserError)
          }
        }
      ),
      { numRuns: 3000 }
    )
  })
})
