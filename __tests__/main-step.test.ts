import nock from 'nock'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadRenewer } from '../src/runtime/state.js'
import { tokenStateFileName } from '../src/handoff/auth-plugin.js'
import { nodeFiles, type StepFiles } from '../src/runtime/files.js'
import type { StepRun } from './helpers/github.js'
import { expectNoLeak, restoreSteps, runMainStep, savedField, savedState, type StepOptions } from './helpers/steps.js'
import { DOM2, JSON_HEADERS, keystoneError, PROJ2, TOKEN, TOKEN_HEADERS, tokenBody, USER2 } from './helpers/keystone-fixtures.js'

const KEYSTONE = 'https://keystone.test'
const AUTH_URL = `${KEYSTONE}/v3`
const PASSWORD = 'user2-secret-Pa55'

/** The job env of a user who pasted an OVHcloud-style OpenRC into `env:`. */
const JOB_ENV = {
  OS_AUTH_URL: `${KEYSTONE}/v3/`,
  OS_USERNAME: 'user2',
  OS_PASSWORD: PASSWORD,
  OS_USER_DOMAIN_NAME: 'dom2',
  OS_PROJECT_DOMAIN_NAME: 'dom2',
  OS_TENANT_NAME: 'proj2',
  OS_REGION_NAME: 'GRA11'
}

beforeAll(() => nock.disableNetConnect())
afterEach(() => {
  restoreSteps()
  nock.cleanAll()
})
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

function main(inputs: Record<string, string>, env: Record<string, string> = {}, options: StepOptions = {}): Promise<StepRun> {
  return runMainStep(inputs, { env, timeoutMs: 1000, ...options })
}

/** A login, with or without ?nocatalog: the step asks for the catalog when it has a region to check. */
function issues(status = 201, body: object = tokenBody(), headers: Record<string, string> = TOKEN_HEADERS) {
  return nock(KEYSTONE)
    .post(path => path === '/v3/auth/tokens' || path === '/v3/auth/tokens?nocatalog')
    .reply(status, body, headers)
}

function errorLines(run: StepRun): string[] {
  return run.lines.filter(l => l.startsWith('::error::'))
}

describe('a password login from the job env (bare uses:)', () => {
  test('exports the token, its real scope and the blanks later steps need', async () => {
    issues()
    const run = await main({}, JOB_ENV)
    expect(run.exitCode()).toBe(0)
    expect(run.exported()).toEqual({
      OS_TOKEN: TOKEN,
      // for the Swift clients (swift CLI, rclone); this catalog has no object store
      OS_AUTH_TOKEN: TOKEN,
      OS_STORAGE_URL: '',
      // token-use: direct, the default: the auth plugin on PYTHONPATH serves the token as it is
      OS_AUTH_TYPE: 'openstack-token',
      // no RUNNER_TEMP here: a fresh private folder under the temp dir
      PYTHONPATH: expect.stringMatching(/\/openstack-token-\w+\/openstack-token\/python$/),
      OS_AUTH_URL: AUTH_URL,
      OS_IDENTITY_API_VERSION: '3',
      OS_PROJECT_ID: PROJ2.id,
      OS_PROJECT_NAME: 'proj2',
      OS_PROJECT_DOMAIN_ID: DOM2.id,
      OS_REGION_NAME: 'GRA11',
      // blanked: login secrets, the user domain (fatal with a token plugin), other scopes
      OS_USERNAME: '',
      OS_USER_ID: '',
      OS_PASSWORD: '',
      OS_USER_DOMAIN_NAME: '',
      OS_USER_DOMAIN_ID: '',
      OS_APPLICATION_CREDENTIAL_ID: '',
      OS_APPLICATION_CREDENTIAL_NAME: '',
      OS_APPLICATION_CREDENTIAL_SECRET: '',
      // OS_PASSCODE is not there: the job has none, and openstacksdk chokes on an empty one
      OS_TENANT_ID: '',
      OS_TENANT_NAME: '',
      // an OIDC login's settings, the client secret among them
      OS_CLIENT_ID: '',
      OS_CLIENT_SECRET: '',
      OS_IDENTITY_PROVIDER: '',
      OS_PROTOCOL: '',
      OS_DISCOVERY_ENDPOINT: '',
      OS_ACCESS_TOKEN_ENDPOINT: '',
      OS_ACCESS_TOKEN_TYPE: '',
      OS_OPENID_SCOPE: '',
      OS_CLOUD: '',
      OS_PROJECT_DOMAIN_NAME: '',
      OS_DOMAIN_ID: '',
      OS_DOMAIN_NAME: '',
      OS_SYSTEM_SCOPE: ''
    })
  })

  test('OS_PASSCODE is blanked only when the job has one (openstacksdk passes even an empty one to the token plugin)', async () => {
    issues()
    const run = await main({}, { ...JOB_ENV, OS_PASSCODE: '123456' })
    expect(run.exported().OS_PASSCODE).toBe('')
  })

  test('sets the outputs', async () => {
    issues()
    const run = await main({}, JOB_ENV)
    expect(run.outputs()).toEqual({
      token: TOKEN,
      'expires-at': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      'issued-at': expect.stringMatching(/Z$/),
      'user-id': USER2.id,
      'project-id': PROJ2.id,
      'domain-id': DOM2.id,
      // a region was given, so the catalog was asked for and read
      'catalog-regions': '["GRA11","SBG5"]',
      endpoints: JSON.stringify({
        compute: 'https://compute.gra11.cloud.test/v1',
        image: 'https://image.gra11.cloud.test/v1',
        identity: 'https://auth.gra11.cloud.test/v1'
      })
    })
  })

  test('saves what the post step needs', async () => {
    issues()
    const run = await main({ revoke: 'false', renew: 'false' }, JOB_ENV)
    expect(run.state()).toEqual(
      savedState({
        token: TOKEN,
        others: '',
        authUrl: AUTH_URL,
        expiresAt: run.outputs()['expires-at']!,
        revoke: 'false'
      })
    )
  })

  test('with the defaults (direct use), the post step is also told which renewer to end', async () => {
    issues()
    const run = await main({}, JOB_ENV)
    const renewer = loadRenewer({ getState: name => run.state()[name] ?? '' })
    expect(renewer).toMatchObject({ pid: expect.any(Number), nonce: expect.stringMatching(/^[0-9a-f]{32}$/) })
    expect(renewer?.ledger).toMatch(/openstack-token[/\\]renew[/\\][0-9a-f]{64}\.json$/)
  })

  test('a token of an application credential with access rules: the post step is told (Keystone cannot revoke it)', async () => {
    const body = tokenBody({ applicationCredential: true })
    const withRules = {
      token: {
        ...body.token,
        application_credential: { ...body.token.application_credential, access_rules: [{ service: 'image', method: 'GET', path: '/v2/images' }] }
      }
    }
    issues(201, withRules)
    const run = await main({ 'token-use': 'exchange' }, JOB_ENV)
    expect(savedField(run, 'accessRules')).toBe('true')
    issues(201, body)
    expect(savedField(await main({ 'token-use': 'exchange' }, JOB_ENV), 'accessRules')).toBeUndefined()
  })

  test('masks the password and the token before any other line, and prints neither', async () => {
    issues()
    const run = await main({}, JOB_ENV)
    expect(run.lines.slice(0, 2)).toEqual([`::add-mask::${PASSWORD}`, `::add-mask::${TOKEN}`])
    expectNoLeak(run, PASSWORD, TOKEN)
  })

  test('says in one line who, which scope and until when', async () => {
    issues()
    const run = await main({ renew: 'false' }, JOB_ENV)
    const info = run.lines.filter(l => !l.startsWith('::'))
    expect(info).toHaveLength(1)
    expect(info[0]).toMatch(
      /^Issued a Keystone token for user user2 \(domain dom2\), scoped to project proj2 \(0f2c4c30f1dc46468772fa9da7d7cd27\) in domain dom2, valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((1 h|59 min)\); exported as OS_TOKEN\.$/
    )
  })
})

describe('scopes as exported', () => {
  test('a domain token exports the domain and blanks every project variable', async () => {
    issues(201, tokenBody({ scope: 'domain' }))
    const run = await main({ 'auth-url': KEYSTONE, 'user-id': USER2.id, password: PASSWORD, 'domain-name': 'dom2' }, JOB_ENV)
    expect(run.exported()).toMatchObject({
      OS_DOMAIN_ID: DOM2.id,
      OS_DOMAIN_NAME: 'dom2',
      OS_PROJECT_ID: '',
      OS_PROJECT_NAME: '',
      OS_TENANT_NAME: ''
    })
    expect(run.outputs()).toMatchObject({ 'project-id': '', 'domain-id': DOM2.id })
  })

  test('a system token exports OS_SYSTEM_SCOPE=all', async () => {
    issues(201, tokenBody({ scope: 'system' }))
    const run = await main({ 'auth-url': KEYSTONE, 'user-id': USER2.id, password: PASSWORD, 'system-scope': 'all' })
    expect(run.exported()).toMatchObject({ OS_SYSTEM_SCOPE: 'all', OS_PROJECT_ID: '', OS_DOMAIN_ID: '' })
  })

  test('an unscoped token asked for on purpose (allow-unscoped) exports no scope at all', async () => {
    issues(201, tokenBody({ scope: 'unscoped' }))
    const run = await main({ 'auth-url': KEYSTONE, 'user-id': USER2.id, password: PASSWORD, 'allow-unscoped': 'true' })
    expect(run.exitCode()).toBe(0)
    const exported = run.exported()
    for (const name of ['OS_PROJECT_ID', 'OS_PROJECT_NAME', 'OS_DOMAIN_ID', 'OS_DOMAIN_NAME', 'OS_SYSTEM_SCOPE']) expect(exported[name]).toBe('')
    expect(run.lines.join('\n')).toMatch(/scoped to no scope \(unscoped\)/)
  })

  test('export-env: false exports nothing, but still sets outputs and state', async () => {
    issues()
    const run = await main({ 'export-env': 'false' }, JOB_ENV)
    expect(run.exported()).toEqual({})
    expect(run.outputs().token).toBe(TOKEN)
    expect(savedField(run, 'token')).toBe(TOKEN)
  })
})

describe('a blank scope (a misspelt secret expands to an empty string)', () => {
  const revokes = () => nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)

  test('an empty project-id input: the step fails naming the empty scope inputs, and the unscoped token is revoked', async () => {
    issues(201, tokenBody({ scope: 'unscoped' }))
    const revoked = revokes()
    const run = await main({ 'auth-url': KEYSTONE, 'user-id': USER2.id, password: PASSWORD, 'project-id': '' })
    expect(run.exitCode()).toBe(1)
    expect(errorLines(run)).toEqual([
      expect.stringMatching(
        /^::error::Keystone issued an unscoped token: no scope reached the step, since the inputs `project-id`, `project-name`, `domain-id`, `domain-name`, `system-scope` .* are all empty, and the user has no default project\. .*check the secret's name, or set allow-unscoped: true/
      )
    ])
    expect(revoked.isDone()).toBe(true)
    expect(run.exported()).toEqual({})
  })

  test('OS_PROJECT_ID set but empty in the job env is named as such', async () => {
    issues(201, tokenBody({ scope: 'unscoped' }))
    revokes()
    const run = await main({}, { ...JOB_ENV, OS_TENANT_NAME: '', OS_PROJECT_ID: '' })
    expect(errorLines(run)[0]).toContain('(set but empty: OS_PROJECT_ID of the job env, OS_TENANT_NAME of the job env)')
  })

  test('no scope asked and the user has a default project: no error, the token is scoped to it', async () => {
    issues(201, tokenBody())
    const run = await main({ 'auth-url': KEYSTONE, 'user-id': USER2.id, password: PASSWORD, 'project-id': '' })
    expect(run.exitCode()).toBe(0)
    expect(run.exported().OS_PROJECT_ID).toBe(PROJ2.id)
  })
})

describe('warnings', () => {
  test('an application-credential token with token-use: exchange is exported with a warning about the CLI', async () => {
    issues(201, tokenBody({ applicationCredential: true }))
    const run = await main({
      'auth-url': KEYSTONE,
      'application-credential-id': 'ac',
      'application-credential-secret': 'appcred-secret',
      'token-use': 'exchange'
    })
    expect(run.exitCode()).toBe(0)
    expect(run.exported().OS_TOKEN).toBe(TOKEN)
    expect(run.exported().PYTHONPATH).toBeUndefined()
    expect(run.lines.find(l => l.startsWith('::warning::'))).toMatch(/application credential.*cannot use it; use token-use: direct/)
    expectNoLeak(run, 'appcred-secret', TOKEN)
  })

  test('OS_CLOUD in the job is blanked, with a warning', async () => {
    issues()
    const run = await main({}, { ...JOB_ENV, OS_CLOUD: 'ovh' })
    expect(run.exported().OS_CLOUD).toBe('')
    expect(run.lines).toContainEqual(expect.stringMatching(/^::warning::OS_CLOUD is set \(ovh\)/))
  })

  test('plain http to a remote host is refused before any request', async () => {
    const run = await main({ 'auth-url': 'http://keystone.test/v3' }, { ...JOB_ENV, OS_AUTH_URL: '' })
    expect(run.exitCode()).toBe(1)
    expect(errorLines(run)).toEqual([
      expect.stringMatching(/^::error::input `auth-url` uses plain http to keystone.test: .*allow-insecure-http: true/)
    ])
  })

  test('allow-insecure-http: true lets it through, with a warning', async () => {
    nock('http://keystone.test').post('/v3/auth/tokens').reply(201, tokenBody(), TOKEN_HEADERS)
    const run = await main({ 'auth-url': 'http://keystone.test/v3', 'allow-insecure-http': 'true' }, { ...JOB_ENV, OS_AUTH_URL: '' })
    expect(run.exitCode()).toBe(0)
    expect(run.lines).toContainEqual(
      expect.stringMatching(/^::warning::auth-url http:\/\/keystone.test\/v3 uses plain http \(allow-insecure-http: true\)/)
    )
  })
})

describe('token-use: direct', () => {
  let runnerTemp: string
  beforeEach(() => {
    runnerTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-temp-'))
  })
  afterEach(() => fs.rmSync(runnerTemp, { recursive: true, force: true }))

  test('the default for an application credential: the catalog is asked for, the token state written 0600, the plugin put on PYTHONPATH', async () => {
    const scope = nock(KEYSTONE)
      .post('/v3/auth/tokens')
      .reply(201, tokenBody({ applicationCredential: true }), TOKEN_HEADERS)
    const run = await main(
      { 'auth-url': KEYSTONE, 'application-credential-id': 'ac', 'application-credential-secret': 'appcred-secret' },
      { RUNNER_TEMP: runnerTemp, PYTHONPATH: '/opt/lib' }
    )
    expect(scope.isDone()).toBe(true)
    expect(run.exitCode()).toBe(0)
    const dir = path.join(runnerTemp, 'openstack-token')
    expect(run.exported()).toMatchObject({ OS_TOKEN: TOKEN, OS_AUTH_TYPE: 'openstack-token', PYTHONPATH: `${dir}/python:/opt/lib` })
    expect(run.exported()).not.toHaveProperty('OS_CLIENT_SECURE_FILE')
    const state = path.join(dir, 'tokens', tokenStateFileName(TOKEN))
    expect(fs.statSync(state).mode & 0o777).toBe(0o600)
    expect(JSON.parse(fs.readFileSync(state, 'utf8'))).toMatchObject({ auth_token: TOKEN, body: { token: { catalog: expect.any(Array) } } })
    expect(fs.readFileSync(path.join(dir, 'python', 'openstack_token.py'), 'utf8')).toContain('class Loader(')
    expect(fs.readFileSync(path.join(dir, 'python', 'openstack_token-0.dist-info', 'entry_points.txt'), 'utf8')).toContain('openstack-token = ')
    expect(run.lines.filter(l => l.startsWith('::warning::'))).toEqual([])
    expect(run.lines).toContainEqual(
      expect.stringMatching(/^::debug::Later steps find the openstack-token auth plugin through PYTHONPATH: .*set token-use: exchange\.$/)
    )
    expectNoLeak(run, 'appcred-secret', TOKEN)
  })

  test('the default for a password login too: no Keystone request per call', async () => {
    const scope = nock(KEYSTONE).post('/v3/auth/tokens').reply(201, tokenBody(), TOKEN_HEADERS)
    const run = await main({}, { ...JOB_ENV, OS_REGION_NAME: '', RUNNER_TEMP: runnerTemp })
    expect(scope.isDone()).toBe(true)
    expect(run.exitCode()).toBe(0)
    expect(run.exported()).toMatchObject({ OS_AUTH_TYPE: 'openstack-token', PYTHONPATH: path.join(runnerTemp, 'openstack-token', 'python') })
    expect(fs.existsSync(path.join(runnerTemp, 'openstack-token', 'tokens', tokenStateFileName(TOKEN)))).toBe(true)
  })

  test('token-use: exchange, when asked: OS_AUTH_TYPE=v3token and no files', async () => {
    nock(KEYSTONE).post('/v3/auth/tokens').reply(201, tokenBody(), TOKEN_HEADERS)
    const run = await main({ 'token-use': 'exchange' }, { ...JOB_ENV, RUNNER_TEMP: runnerTemp })
    expect(run.exitCode()).toBe(0)
    expect(run.exported().OS_AUTH_TYPE).toBe('v3token')
    expect(run.exported().PYTHONPATH).toBeUndefined()
    expect(fs.existsSync(path.join(runnerTemp, 'openstack-token'))).toBe(false)
  })

  test('an unknown token-use', async () => {
    const run = await main({ 'token-use': 'magic' }, JOB_ENV)
    expect(errorLines(run)).toEqual(['::error::input `token-use` is "magic": use exchange or direct.'])
  })

  /** A setup that cannot write its files: nothing handed on, the token revoked, one sentence naming RUNNER_TEMP. */
  async function expectSetupFailure(files: StepFiles, error: RegExp): Promise<void> {
    nock(KEYSTONE).post('/v3/auth/tokens').reply(201, tokenBody(), TOKEN_HEADERS)
    const revoked = nock(KEYSTONE).delete('/v3/auth/tokens').matchHeader('x-subject-token', TOKEN).reply(204)
    const run = await main({}, { ...JOB_ENV, RUNNER_TEMP: files.tempDir }, { files })
    expect(run.exitCode()).toBe(1)
    expect(errorLines(run)).toEqual([expect.stringMatching(error)])
    expect(run.exported()).toEqual({})
    expect(run.outputs()).toEqual({})
    expect(revoked.isDone()).toBe(true)
    expect(run.lines).toContain('Revoked the token Keystone issued before the failure.')
    expect(run.lines.join('\n')).not.toMatch(/internal error/)
    expectNoLeak(run, PASSWORD, TOKEN)
  }

  test('a folder where the plugin should go: fails before anything is exported, and revokes the token', async () => {
    fs.mkdirSync(path.join(runnerTemp, 'openstack-token', 'python', 'openstack_token.py'), { recursive: true })
    await expectSetupFailure(
      nodeFiles({ RUNNER_TEMP: runnerTemp }),
      /^::error::Could not write RUNNER_TEMP\/openstack-token\/python\/openstack_token\.py \(a folder is in the way\): later steps need that file; give the job a writable RUNNER_TEMP/
    )
  })

  test('a RUNNER_TEMP that is not a folder: the same', async () => {
    const file = path.join(runnerTemp, 'a-file')
    fs.writeFileSync(file, '')
    await expectSetupFailure(
      nodeFiles({ RUNNER_TEMP: file }),
      /^::error::Could not write RUNNER_TEMP\b.*: later steps need that file; give the job a writable RUNNER_TEMP/
    )
  })

  test('a read-only RUNNER_TEMP: the same', async () => {
    // What node:fs throws on a read-only mount (root ignores a folder's mode, so the mount is played).
    const readOnly: StepFiles = {
      ...nodeFiles({ RUNNER_TEMP: runnerTemp }),
      writeWithMode: () => {
        throw Object.assign(new Error(`EROFS: read-only file system, mkdir '${runnerTemp}/openstack-token/python'`), { code: 'EROFS' })
      }
    }
    const escaped = runnerTemp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    await expectSetupFailure(
      readOnly,
      new RegExp(
        `^::error::Could not write the files later steps need for token-use: direct under RUNNER_TEMP \\(${escaped}\\): EROFS: read-only file system.*; RUNNER_TEMP must be a folder this job can write to, or set token-use: exchange\\.$`
      )
    )
  })
})

describe('the catalog and the region', () => {
  test('without a region, no catalog output is set; the catalog is still asked for, for OS_STORAGE_URL', async () => {
    const scope = nock(KEYSTONE).post('/v3/auth/tokens').reply(201, tokenBody(), TOKEN_HEADERS)
    const run = await main({}, { ...JOB_ENV, OS_REGION_NAME: '' })
    expect(scope.isDone()).toBe(true)
    expect(run.outputs().endpoints).toBeUndefined()
  })

  test('export-env: false, without a region: the catalog is not asked for', async () => {
    const scope = nock(KEYSTONE).post('/v3/auth/tokens?nocatalog').reply(201, tokenBody(), TOKEN_HEADERS)
    const run = await main({ 'export-env': 'false' }, { ...JOB_ENV, OS_REGION_NAME: '' })
    expect(scope.isDone()).toBe(true)
    expect(run.exported()).toEqual({})
  })
})

describe('the object store for the Swift clients: OS_AUTH_TOKEN and OS_STORAGE_URL', () => {
  /** The fixture catalog plus Swift, in GRA11 and SBG5, public and internal, project id filled in as Keystone does. */
  function withSwift(urls: Record<string, string> = {}) {
    const body = tokenBody()
    const swift = (region: string, iface: string) => ({
      interface: iface,
      region_id: region,
      region,
      url: urls[`${region}/${iface}`] ?? `https://storage.${region.toLowerCase()}.${iface}.cloud.test/v1/AUTH_${PROJ2.id}`
    })
    const endpoints = ['GRA11', 'SBG5'].flatMap(region => [swift(region, 'public'), swift(region, 'internal')])
    return { token: { ...body.token, catalog: [...body.token.catalog, { type: 'object-store', name: 'swift', id: 'os-id', endpoints }] } }
  }

  test('a bare uses: exports the token as OS_AUTH_TOKEN and the public storage URL of the region in use', async () => {
    issues(201, withSwift())
    const run = await main({}, JOB_ENV)
    expect(run.exitCode()).toBe(0)
    expect(run.exported()).toMatchObject({ OS_AUTH_TOKEN: TOKEN, OS_STORAGE_URL: `https://storage.gra11.public.cloud.test/v1/AUTH_${PROJ2.id}` })
  })

  test('the region and interface inputs pick the endpoint', async () => {
    issues(201, withSwift())
    const run = await main({ region: 'SBG5', interface: 'internal' }, JOB_ENV)
    expect(run.exported().OS_STORAGE_URL).toBe(`https://storage.sbg5.internal.cloud.test/v1/AUTH_${PROJ2.id}`)
  })

  test('with no region anywhere: the first public object-store endpoint, as keystoneauth picks it', async () => {
    issues(201, withSwift())
    const run = await main({}, { ...JOB_ENV, OS_REGION_NAME: '' })
    expect(run.exported().OS_STORAGE_URL).toBe(`https://storage.gra11.public.cloud.test/v1/AUTH_${PROJ2.id}`)
  })

  test('no object store in the catalog: OS_STORAGE_URL is blanked over a value the job env had', async () => {
    issues()
    const run = await main({}, { ...JOB_ENV, OS_STORAGE_URL: 'https://old.example/v1/AUTH_x', OS_AUTH_TOKEN: 'old-token' })
    expect(run.exported()).toMatchObject({ OS_AUTH_TOKEN: TOKEN, OS_STORAGE_URL: '' })
  })

  test('a storage URL that is not a plain http(s) URL is not exported', async () => {
    issues(201, withSwift({ 'GRA11/public': 'https://storage.test/v1/AUTH_x\nOS_TOKEN=evil' }))
    const run = await main({}, JOB_ENV)
    expect(run.exitCode()).toBe(0)
    expect(run.exported().OS_STORAGE_URL).toBe('')
    expect(run.exported().OS_TOKEN).toBe(TOKEN)
  })

  test('export-env: false exports neither', async () => {
    issues(201, withSwift())
    const run = await main({ 'export-env': 'false' }, JOB_ENV)
    expect(run.exported().OS_AUTH_TOKEN).toBeUndefined()
    expect(run.exported().OS_STORAGE_URL).toBeUndefined()
  })

  test('the chosen interface picks the endpoints', async () => {
    issues()
    const run = await main({ interface: 'internal', region: 'SBG5' }, JOB_ENV)
    expect(JSON.parse(run.outputs().endpoints!)).toEqual({
      compute: 'http://compute.internal.sbg5/v1',
      image: 'http://image.internal.sbg5/v1',
      identity: 'http://auth.internal.sbg5/v1'
    })
    expect(run.exported()).toMatchObject({ OS_REGION_NAME: 'SBG5', OS_INTERFACE: 'internal' })
  })

  test('a region the catalog lacks fails before any later step, lists the real ones, and revokes', async () => {
    issues()
    const revoked = nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)
    const run = await main({ region: 'GRA7' }, JOB_ENV)
    expect(run.exitCode()).toBe(1)
    expect(errorLines(run)).toEqual(['::error::input `region` is "GRA7", which is not in this cloud\'s catalog: the regions it has are GRA11, SBG5.'])
    expect(revoked.isDone()).toBe(true)
    expect(run.exported()).toEqual({})
  })

  test('the region of the job env is named as such', async () => {
    issues()
    nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)
    const run = await main({}, { ...JOB_ENV, OS_REGION_NAME: 'Nowhere' })
    expect(errorLines(run)[0]).toMatch(/^::error::OS_REGION_NAME is "Nowhere", which is not in this cloud's catalog/)
  })

  test('a catalog that is not a list, when a region needs it, is an error', async () => {
    const body = tokenBody() as { token: Record<string, unknown> }
    body.token.catalog = { compute: 'x' }
    issues(201, body)
    nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)
    const run = await main({}, JOB_ENV)
    expect(errorLines(run)[0]).toMatch(/no usable service catalog to check OS_REGION_NAME "GRA11"/)
  })
})

describe('credential files', () => {
  const OVH_OPENRC = [
    '#!/bin/bash',
    'export OS_AUTH_URL=https://keystone.test/v3',
    'export OS_IDENTITY_API_VERSION=3',
    'export OS_USER_DOMAIN_NAME=${OS_USER_DOMAIN_NAME:-"Default"}',
    'export OS_PROJECT_DOMAIN_NAME=${OS_PROJECT_DOMAIN_NAME:-"Default"}',
    `export OS_TENANT_ID=${PROJ2.id}`,
    'export OS_TENANT_NAME="proj2"',
    'export OS_USERNAME="user-abc"',
    'echo "Please enter your OpenStack Password: "',
    'read -sr OS_PASSWORD_INPUT',
    'export OS_PASSWORD=$OS_PASSWORD_INPUT',
    'export OS_REGION_NAME="GRA11"'
  ].join('\n')

  test('an OpenRC secret logs in with the password from the password input', async () => {
    let sent: { auth: { identity: { password: { user: unknown } }; scope: unknown } } | undefined
    nock(KEYSTONE)
      .post('/v3/auth/tokens', body => ((sent = body), true))
      .reply(201, tokenBody(), TOKEN_HEADERS)
    const run = await main({ openrc: OVH_OPENRC, password: PASSWORD })
    expect(run.exitCode()).toBe(0)
    expect(sent!.auth.identity.password.user).toEqual({ name: 'user-abc', domain: { name: 'Default' }, password: PASSWORD })
    expect(sent!.auth.scope).toEqual({ project: { id: PROJ2.id } })
    expect(run.exported().OS_REGION_NAME).toBe('GRA11')
  })

  test('an OpenRC that prompts, with no password anywhere, says where to put it', async () => {
    const run = await main({ openrc: OVH_OPENRC })
    expect(errorLines(run)).toEqual([
      expect.stringMatching(/^::error::the `openrc` input asks for the password interactively, .*`password` input \(or OS_PASSWORD\)/)
    ])
  })

  test('precedence: inputs over the file over the job env, each override said once', async () => {
    let sent: { auth: { scope: unknown } } | undefined
    nock(KEYSTONE)
      .post('/v3/auth/tokens', body => ((sent = body), true))
      .reply(201, tokenBody(), TOKEN_HEADERS)
    const run = await main({ openrc: OVH_OPENRC, password: PASSWORD, region: 'SBG5' }, { OS_REGION_NAME: 'DE1', OS_PROJECT_ID: 'job-project' })
    expect(run.exitCode()).toBe(0)
    expect(sent!.auth.scope).toEqual({ project: { id: PROJ2.id } })
    expect(run.lines).toContain('input `region` overrides OS_REGION_NAME from the `openrc` input.')
    expect(run.lines).toContain('input `region` overrides OS_REGION_NAME of the job env.')
    expect(run.lines).toContain('OS_TENANT_ID and OS_TENANT_NAME from the `openrc` input replace OS_PROJECT_ID of the job env.')
    expect(run.exported().OS_REGION_NAME).toBe('SBG5')
  })

  test('both openrc and clouds-yaml is an error', async () => {
    const run = await main({ openrc: OVH_OPENRC, 'clouds-yaml': 'clouds: {}' })
    expect(errorLines(run)).toEqual([
      '::error::Both `openrc` and `clouds-yaml` are set: they would be two sources of the same credentials; keep one.'
    ])
  })

  const CLOUDS = [
    'clouds:',
    '  ovh:',
    '    auth:',
    '      auth_url: https://keystone.test/v3',
    '      username: user-abc',
    '      password: yaml-secret-pw',
    '      user_domain_name: Default',
    `      project_id: ${PROJ2.id}`,
    '    region_name: SBG5',
    '    interface: public',
    '    identity_api_version: 3'
  ].join('\n')

  test('a clouds.yaml secret: the cloud named by OS_CLOUD, its password masked, OS_CLOUD blanked without a warning', async () => {
    issues()
    const run = await main({ 'clouds-yaml': CLOUDS }, { OS_CLOUD: 'ovh' })
    expect(run.exitCode()).toBe(0)
    expect(run.lines[0]).toBe('::add-mask::yaml-secret-pw')
    expect(run.exported()).toMatchObject({ OS_CLOUD: '', OS_REGION_NAME: 'SBG5', OS_PROJECT_ID: PROJ2.id })
    expect(run.lines.filter(l => l.startsWith('::warning::'))).toEqual([])
    expectNoLeak(run, 'yaml-secret-pw', TOKEN)
  })

  test('a clouds.yaml on disk, found through OS_CLOUD as openstacksdk would', async () => {
    issues()
    const files = {
      read: (file: string) => (file === '/home/runner/.config/openstack/clouds.yaml' ? CLOUDS : undefined),
      write: () => undefined,
      home: '/home/runner',
      cwd: '/work',
      tempDir: '/tmp',
      writeWithMode: () => undefined
    }
    const run = await runMainStep({}, { env: { OS_CLOUD: 'ovh' }, files })
    expect(run.exitCode()).toBe(0)
    expect(run.exported().OS_TOKEN).toBe(TOKEN)
  })

  test('a cloud input with no clouds.yaml anywhere', async () => {
    const files = {
      read: () => undefined,
      write: () => undefined,
      writeWithMode: () => undefined,
      home: '/home/runner',
      cwd: '/work',
      tempDir: '/tmp'
    }
    const run = await runMainStep({ cloud: 'ovh' }, { files })
    expect(errorLines(run)[0]).toMatch(/^::error::input `cloud` is "ovh" but no clouds.yaml was found/)
  })
})

describe('rate limits', () => {
  test('pacing: a matrix job waits for its own slot before its one login', async () => {
    issues()
    const sleeps: number[] = []
    const step = await runMainStep(
      { 'job-index': '7', 'job-total': '100', 'rate-limit': '60/min burst 2' },
      { env: JOB_ENV, clock: { now: () => Date.now(), random: () => 0.5, sleep: async ms => void sleeps.push(ms) } }
    )
    expect(step.exitCode()).toBe(0)
    expect(sleeps).toEqual([5000])
    expect(step.lines).toContain("Waiting 5 s for this job's slot (job 8 of 100 at 60/min burst 2).")
  })

  test('a 429 is retried after Retry-After, one log line, then the token is issued', async () => {
    nock(KEYSTONE)
      .post('/v3/auth/tokens')
      .reply(429, { error: { status: '429 Too Many Requests', message: 'Too Many Requests' } }, { ...JSON_HEADERS, 'Retry-After': '3' })
    issues()
    const sleeps: number[] = []
    const step = await runMainStep({}, { env: JOB_ENV, clock: { now: () => Date.now(), random: () => 0.5, sleep: async ms => void sleeps.push(ms) } })
    expect(step.exitCode()).toBe(0)
    // Retry-After, plus full jitter on top (random 0.5 of the first 2 s bound) so a crowd spreads out
    expect(sleeps).toEqual([4000])
    expect(step.lines).toContain(
      'Keystone answered HTTP 429 "Too Many Requests"; retrying in 4 s (attempt 2, Retry-After 3 s plus jitter, up to max-wait 5 min): Keystone is rate-limiting logins.'
    )
    expect(step.exported().OS_TOKEN).toBe(TOKEN)
  })

  test('when max-wait runs out, the error says how long and how many attempts', async () => {
    nock(KEYSTONE).post('/v3/auth/tokens').times(50).reply(429, {}, JSON_HEADERS)
    let now = Date.now()
    const step = await runMainStep(
      { 'max-wait': '2m' },
      { env: JOB_ENV, clock: { now: () => now, random: () => 0.99, sleep: async ms => void (now += ms) } }
    )
    expect(step.exitCode()).toBe(1)
    expect(errorLines(step)).toEqual([
      expect.stringMatching(
        /^::error::Gave up after \d+ attempts over .+ \(max-wait 2 min\)\. Last answer: Keystone answered HTTP 429 at https:\/\/keystone.test\/v3\/auth\/tokens:/
      )
    ])
    expect(step.exported()).toEqual({})
  })
})

describe('failures', () => {
  test('a configuration error is one ::error:: line, exit 1, nothing exported, no request', async () => {
    const run = await main({ password: PASSWORD })
    expect(run.exitCode()).toBe(1)
    expect(errorLines(run)).toEqual([
      '::error::No Keystone URL: set the `auth-url` input or the OS_AUTH_URL variable, e.g. https://auth.cloud.ovh.net/v3.'
    ])
    expect(run.exported()).toEqual({})
    expect(run.state()).toEqual({})
    expectNoLeak(run, PASSWORD)
  })

  test("a 401 quotes Keystone's message and exports nothing", async () => {
    issues(401, keystoneError(401, 'Unauthorized', 'The request you have made requires authentication.'), JSON_HEADERS)
    const run = await main({}, JOB_ENV)
    expect(run.exitCode()).toBe(1)
    expect(errorLines(run)).toHaveLength(1)
    expect(errorLines(run)[0]).toMatch(/HTTP 401.*"The request you have made requires authentication."/)
    expect(run.exported()).toEqual({})
    expectNoLeak(run, PASSWORD)
  })

  describe('a 401 names the family: the credentials, or only the scope (diagnose-refusal)', () => {
    const REFUSED = keystoneError(401, 'Unauthorized', 'The request you have made requires authentication.')
    const PROBE_TOKEN = 'gAAAAAprobe-token-of-an-unscoped-login-0123456789'
    type Login = { auth: { scope?: unknown } }
    const scoped = (body: Login) => body.auth.scope !== undefined && body.auth.scope !== 'unscoped'
    const unscoped = (body: Login) => body.auth.scope === 'unscoped'
    const post = (match: (body: Login) => boolean) =>
      nock(KEYSTONE).post(p => p === '/v3/auth/tokens' || p === '/v3/auth/tokens?nocatalog', match as (body: object) => boolean)

    test('a wrong password: refused also without a scope, so the message says to check the user and the password', async () => {
      post(scoped).reply(401, REFUSED, JSON_HEADERS)
      const probe = post(unscoped).reply(401, REFUSED, JSON_HEADERS)
      const run = await main({}, JOB_ENV)
      expect(run.exitCode()).toBe(1)
      expect(probe.isDone()).toBe(true)
      expect(errorLines(run)).toEqual([
        expect.stringMatching(
          /^::error::Keystone answered HTTP 401 .* at https:\/\/keystone\.test\/v3\/auth\/tokens: Keystone refused the credentials themselves, also without a scope; check the user \(username with user-domain-name or user-domain-id\) and the password; a user locked out/
        )
      ])
      expectNoLeak(run, PASSWORD)
    })

    test('no role on the project: the credentials work unscoped, that token is revoked at once, and the message names the scope', async () => {
      post(scoped).reply(401, REFUSED, JSON_HEADERS)
      post(unscoped).reply(201, tokenBody({ scope: 'unscoped' }), { ...JSON_HEADERS, 'X-Subject-Token': PROBE_TOKEN })
      const revoked = nock(KEYSTONE)
        .delete('/v3/auth/tokens')
        .matchHeader('x-subject-token', PROBE_TOKEN)
        .matchHeader('x-auth-token', PROBE_TOKEN)
        .reply(204)
      const run = await main({ 'project-id': PROJ2.id }, JOB_ENV)
      expect(run.exitCode()).toBe(1)
      expect(revoked.isDone()).toBe(true)
      expect(errorLines(run)).toEqual([
        expect.stringMatching(
          /^::error::Keystone answered HTTP 401 .*: Keystone accepted the credentials but refused a token scoped to project 0f2c4c30f1dc46468772fa9da7d7cd27; check that the project exists \(project-id\), and that the user has a role on it/
        )
      ])
      expect(run.lines).toContain(`::add-mask::${PROBE_TOKEN}`)
      expectNoLeak(run, PASSWORD, PROBE_TOKEN)
      expect(run.exported()).toEqual({})
      expect(run.state()).toEqual({})
    })

    test('diagnose-refusal: false makes one attempt only, and the message names both families', async () => {
      post(scoped).reply(401, REFUSED, JSON_HEADERS)
      const probe = post(unscoped).reply(201, tokenBody({ scope: 'unscoped' }), TOKEN_HEADERS)
      const run = await main({ 'diagnose-refusal': 'false' }, JOB_ENV)
      expect(probe.isDone()).toBe(false)
      expect(errorLines(run)[0]).toMatch(
        /does not say whether it refused the credentials .* or the scope .*; diagnose-refusal: true tells the two apart\.$/
      )
    })

    test('an application credential sends no scope: its 401 is the credential, with no second attempt', async () => {
      const probe = post(unscoped).reply(201, tokenBody({ scope: 'unscoped' }), TOKEN_HEADERS)
      issues(401, REFUSED, JSON_HEADERS)
      const run = await main({ 'auth-url': KEYSTONE, 'application-credential-id': 'ac1', 'application-credential-secret': 'ac-secret-1' })
      expect(probe.isDone()).toBe(false)
      expect(errorLines(run)[0]).toMatch(
        /Keystone refused the credentials themselves; check application-credential-id \(or -name with its user\) and application-credential-secret/
      )
    })

    test('a probe answered with neither a token nor a 401 leaves the first answer as it was', async () => {
      post(scoped).reply(401, REFUSED, JSON_HEADERS)
      post(unscoped).reply(400, keystoneError(400, 'Bad Request', 'nope'), JSON_HEADERS)
      const run = await main({}, JOB_ENV)
      expect(errorLines(run)[0]).toMatch(/HTTP 401 .*does not say whether it refused the credentials/)
    })
  })

  test('a token scoped elsewhere than asked is revoked at once and reported', async () => {
    const other = { ...PROJ2, id: 'ffffffffffffffffffffffffffffffff', name: 'other' }
    issues(201, tokenBody({ project: other }))
    const revoked = nock(KEYSTONE).delete('/v3/auth/tokens').matchHeader('x-subject-token', TOKEN).reply(204)
    const run = await main({ 'project-id': PROJ2.id }, JOB_ENV)
    expect(run.exitCode()).toBe(1)
    expect(revoked.isDone()).toBe(true)
    expect(errorLines(run)[0]).toMatch(
      /issued a token for project other \(f{32}\) in domain dom2, not for the project asked for \(0f2c4c30f1dc46468772fa9da7d7cd27\)/
    )
    expect(run.exported()).toEqual({})
    // The post step finds nothing left to do.
    expect(savedField(run, 'token')).toBe('')
    expectNoLeak(run, PASSWORD, TOKEN)
  })

  test('a token that is already expired is revoked and reported', async () => {
    issues(201, tokenBody({ expiresInMs: -60_000 }))
    const revoked = nock(KEYSTONE).delete('/v3/auth/tokens').reply(401)
    const run = await main({}, JOB_ENV)
    expect(run.exitCode()).toBe(1)
    expect(revoked.isDone()).toBe(true)
    expect(errorLines(run)[0]).toMatch(/issued a token that expires at .*no later than its own time of issue/)
  })

  test('when exporting fails half-way, the token is revoked before the step fails', async () => {
    issues()
    const revoked = nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)
    const step = await main({}, JOB_ENV, {
      core: core => ({
        ...core,
        exportVariable: () => {
          throw new Error('EACCES: permission denied, open GITHUB_ENV')
        }
      })
    })
    expect(revoked.isDone()).toBe(true)
    expect(step.exitCode()).toBe(1)
    expect(errorLines(step)[0]).toMatch(/^::error::openstack-token hit an internal error \(EACCES: permission denied, open GITHUB_ENV\)/)
    expect(step.lines).toContain('Revoked the token Keystone issued before the failure.')
    expectNoLeak(step, PASSWORD, TOKEN)
  })

  test('when that revocation fails too, the token stays in state for the post step', async () => {
    issues()
    nock(KEYSTONE).delete('/v3/auth/tokens').reply(503)
    const step = await main({}, JOB_ENV, {
      core: core => ({
        ...core,
        setOutput: () => {
          throw new Error('disk full')
        }
      })
    })
    expect(step.exitCode()).toBe(1)
    expect(savedField(step, 'others')).toBe(TOKEN)
    expect(step.lines).toContainEqual(
      expect.stringMatching(/^::warning::Could not revoke the token Keystone issued before the failure: the post step tries again/)
    )
  })
})
