import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { join } from 'node:path'
import { catalogEndpoints } from '../src/keystone/catalog.js'
import { directUseSetup, DirectUseError, hostPlatform, prependPath, type DirectUseInput } from '../src/handoff/direct-use.js'
import { renderKeyringShim, SHIM_MARKER, tokenStateFileName } from '../src/handoff/keyring-shim.js'

const PROJECT = '06dc33d721114eeabe87e6aaae96de6c'

function endpoint(url: string, iface = 'public', region = 'RegionOne'): Record<string, string> {
  return { id: `${iface}-${url}`, interface: iface, region_id: region, region, url }
}

/** A token body as Keystone sends it (see /work/shared/notes/keystone-samples), with a catalog. */
function tokenBody(catalog: unknown[] = defaultCatalog(), extra: Record<string, unknown> = {}): { token: Record<string, unknown> } {
  return {
    token: {
      methods: ['application_credential'],
      user: { id: 'u1', name: 'user2', domain: { id: 'd2', name: 'dom2' } },
      project: { id: PROJECT, name: 'proj2', domain: { id: 'd2', name: 'dom2' } },
      expires_at: '2030-01-01T00:00:00.000000Z',
      issued_at: '2029-12-31T23:00:00.000000Z',
      audit_ids: ['a'],
      roles: [{ id: 'r', name: 'member' }],
      application_credential: { id: 'ac', name: 'ci-appcred', restricted: true },
      catalog,
      ...extra
    }
  }
}

function defaultCatalog(): unknown[] {
  return [
    {
      type: 'identity',
      name: 'keystone',
      id: 's0',
      endpoints: [endpoint('https://keystone.example/v3'), endpoint('http://10.0.0.1:5000/v3', 'internal')]
    },
    {
      type: 'compute',
      name: 'nova',
      id: 's1',
      endpoints: [
        endpoint('https://nova.gra.example/v2.1', 'public', 'GRA11'),
        endpoint('https://nova.sbg.example/v2.1', 'public', 'SBG5'),
        endpoint('http://10.0.0.2/v2.1', 'internal', 'GRA11')
      ]
    },
    { type: 'volumev3', name: 'cinderv3', id: 's2', endpoints: [endpoint(`https://cinder.gra.example/v3/${PROJECT}`, 'public', 'GRA11')] }
  ]
}

const RECEIVED_AT = new Date('2029-12-31T23:00:01Z')

function input(overrides: Partial<DirectUseInput> = {}): DirectUseInput {
  return {
    token: 'gAAAAAtoken',
    receivedAt: RECEIVED_AT,
    validForMs: 3600_000,
    tokenBody: tokenBody(),
    authUrl: 'https://keystone.example/v3',
    runnerTemp: '/home/runner/work/_temp',
    platform: 'posix',
    ...overrides
  }
}

/** sha256('gAAAAAtoken'): the state file's name, so that no token is in a name. */
const STATE_NAME = `${createHash('sha256').update('gAAAAAtoken').digest('hex')}.json`

describe('directUseSetup: files', () => {
  test('writes the token state, the keyring shim, its marker and the secure file under RUNNER_TEMP/openstack-token', () => {
    const setup = directUseSetup(input())
    expect(tokenStateFileName('gAAAAAtoken')).toBe(STATE_NAME)
    expect(setup.files.map(f => [f.path, f.mode.toString(8)])).toEqual([
      [`/home/runner/work/_temp/openstack-token/tokens/${STATE_NAME}`, '600'],
      ['/home/runner/work/_temp/openstack-token/python/keyring.py', '644'],
      [`/home/runner/work/_temp/openstack-token/python/${SHIM_MARKER}`, '644'],
      ['/home/runner/work/_temp/openstack-token/secure.json', '644']
    ])
  })

  test("the state is keystoneauth's get_auth_state() format, plus where to ask Keystone and the token's life on the runner's clock", () => {
    const body = tokenBody()
    const state = JSON.parse(directUseSetup(input({ tokenBody: body })).files[0]!.content)
    expect(state).toEqual({
      auth_token: 'gAAAAAtoken',
      body,
      auth_url: 'https://keystone.example/v3',
      received_at: RECEIVED_AT.getTime() / 1000,
      valid_for: 3600
    })
  })

  test('two logins in one job write two state files, and the same shim for both', () => {
    const first = directUseSetup(input())
    const second = directUseSetup(input({ token: 'gAAAAAsecond' }))
    expect(first.files[0]!.path).not.toBe(second.files[0]!.path)
    expect(first.files.slice(1)).toEqual(second.files.slice(1))
  })

  test('the secure file turns on the auth cache and nothing else', () => {
    const secure = directUseSetup(input()).files.find(f => f.path.endsWith('secure.json'))!
    expect(JSON.parse(secure.content)).toEqual({ cache: { auth: true } })
  })

  test('the shim reads the state directory of this setup; only the state file holds the token', () => {
    const setup = directUseSetup(input())
    const shim = setup.files.find(f => f.path.endsWith('keyring.py'))!
    expect(shim.content).toContain('_STATE_DIR = "/home/runner/work/_temp/openstack-token/tokens"')
    for (const file of setup.files.slice(1)) expect(file.content).not.toContain('gAAAAAtoken')
  })

  test('Windows paths', () => {
    const setup = directUseSetup(input({ runnerTemp: 'D:\\a\\_temp', platform: 'win32', env: { PYTHONPATH: 'C:\\lib;D:\\x' } }))
    expect(setup.files[0]!.path).toBe(`D:\\a\\_temp\\openstack-token\\tokens\\${STATE_NAME}`)
    expect(setup.env.PYTHONPATH).toBe('D:\\a\\_temp\\openstack-token\\python;C:\\lib;D:\\x')
    expect(setup.files[1]!.content).toContain('_STATE_DIR = "D:\\\\a\\\\_temp\\\\openstack-token\\\\tokens"')
  })
})

describe('directUseSetup: variables', () => {
  test('exports PYTHONPATH (the shim first) and OS_CLIENT_SECURE_FILE, nothing else: the token variables stay those of tokenEnvironment', () => {
    expect(directUseSetup(input()).env).toEqual({
      PYTHONPATH: '/home/runner/work/_temp/openstack-token/python',
      OS_CLIENT_SECURE_FILE: '/home/runner/work/_temp/openstack-token/secure.json'
    })
  })

  test("keeps the job's PYTHONPATH after the shim, without adding the shim twice on a second run", () => {
    const shimDir = '/home/runner/work/_temp/openstack-token/python'
    expect(directUseSetup(input({ env: { PYTHONPATH: 'src:/opt/lib' } })).env.PYTHONPATH).toBe(`${shimDir}:src:/opt/lib`)
    expect(directUseSetup(input({ env: { PYTHONPATH: `${shimDir}:src` } })).env.PYTHONPATH).toBe(`${shimDir}:src`)
    expect(directUseSetup(input({ env: { PYTHONPATH: '' } })).env.PYTHONPATH).toBe(shimDir)
  })

  test("leaves the user's OS_CLIENT_SECURE_FILE alone, and says what that costs", () => {
    const setup = directUseSetup(input({ env: { OS_CLIENT_SECURE_FILE: '/etc/openstack/secure.yaml' } }))
    expect(setup.env).not.toHaveProperty('OS_CLIENT_SECURE_FILE')
    expect(setup.warnings.join('\n')).toMatch(/^OS_CLIENT_SECURE_FILE is set \(\/etc\/openstack\/secure\.yaml\)/m)
  })

  test('a blank OS_CLIENT_SECURE_FILE counts as unset', () => {
    expect(directUseSetup(input({ env: { OS_CLIENT_SECURE_FILE: ' ' } })).env.OS_CLIENT_SECURE_FILE).toMatch(/secure\.json$/)
  })
})

describe('directUseSetup: refusals and notes', () => {
  test.each([
    ['a body without catalog (?nocatalog)', { token: { expires_at: '2030-01-01T00:00:00Z' } }, /without \?nocatalog/],
    ['something that is not a token body', { error: { code: 401 } }, /body of Keystone's token response/],
    ['a token without expiry', { token: { catalog: [] } }, /expires_at/],
    ['null', null, /body of Keystone's token response/]
  ])('refuses %s', (_name, body, message) => {
    expect(() => directUseSetup(input({ tokenBody: body }))).toThrow(DirectUseError)
    expect(() => directUseSetup(input({ tokenBody: body }))).toThrow(message)
  })

  test('refuses an empty token or RUNNER_TEMP', () => {
    expect(() => directUseSetup(input({ token: '' }))).toThrow(DirectUseError)
    expect(() => directUseSetup(input({ runnerTemp: '' }))).toThrow(/RUNNER_TEMP/)
  })

  test('warns when the region has no endpoint, naming the regions there are', () => {
    const warnings = directUseSetup(input({ region: 'Nowhere' })).warnings.join('\n')
    expect(warnings).toMatch(/^the token's catalog has no public endpoints in region Nowhere \(its regions: GRA11, RegionOne, SBG5\)/m)
  })

  test('catalog text reaches the log inert and bounded: escape sequences, workflow commands and thousands of regions', () => {
    const hostile = `\u001b[2J\n::warning::forged${'x'.repeat(5000)}`
    const regions = Array.from({ length: 3000 }, (_, i) => endpoint(`https://r${i}.example`, 'public', `${hostile}-${i}`))
    const setup = directUseSetup(input({ region: 'Nowhere', tokenBody: tokenBody([{ type: hostile, endpoints: regions }]) }))
    for (const line of [...setup.warnings, ...setup.notes]) {
      // eslint-disable-next-line no-control-regex
      expect(line).not.toMatch(/[\u0000-\u001f]|^::|\n::/)
      expect(line.length).toBeLessThan(2000)
    }
    expect(setup.warnings.join('\n')).toMatch(/and 2980 more\)/)
    const notes = directUseSetup(input({ tokenBody: tokenBody([{ type: hostile, endpoints: [endpoint('https://a.example')] }]) })).notes
    expect(notes[0]!.length).toBeLessThan(400)
  })

  test('warns about an empty catalog', () => {
    expect(directUseSetup(input({ tokenBody: tokenBody([]) })).warnings[0]).toMatch(/^the token's catalog is empty/)
  })

  test('lists the services reached directly, and a catalog identity endpoint that is not auth-url', () => {
    const notes = directUseSetup(input({ region: 'GRA11', authUrl: 'https://auth.example/v3' })).notes
    expect(notes[0]).toBe(
      'openstack and openstacksdk use the token as it is, with its catalog (public endpoints in region GRA11): compute, volumev3.'
    )
    expect(directUseSetup(input({ authUrl: 'https://auth.example/v3' })).notes.join('\n')).toMatch(
      /Identity commands go to the catalog's identity endpoint https:\/\/keystone\.example\/v3, not to https:\/\/auth\.example\/v3/
    )
    expect(directUseSetup(input({ authUrl: 'https://keystone.example/' })).notes.join('\n')).not.toMatch(/Identity commands/)
  })
})

describe('catalogEndpoints', () => {
  test('picks the interface (public by default) and region as keystoneauth does, first match per type', () => {
    expect(catalogEndpoints(defaultCatalog(), { region: 'GRA11' }).map(e => [e.type, e.url])).toEqual([
      ['compute', 'https://nova.gra.example/v2.1'],
      ['volumev3', `https://cinder.gra.example/v3/${PROJECT}`]
    ])
    expect(catalogEndpoints(defaultCatalog(), { interface: 'internal' }).map(e => e.url)).toEqual(['http://10.0.0.1:5000/v3', 'http://10.0.0.2/v2.1'])
    expect(catalogEndpoints(defaultCatalog()).map(e => e.url)).toEqual([
      'https://keystone.example/v3',
      'https://nova.gra.example/v2.1',
      `https://cinder.gra.example/v3/${PROJECT}`
    ])
  })

  test('publicURL means public; a v3 endpoint with only "region" is read too; junk is skipped', () => {
    const catalog = [
      { type: 'image', endpoints: [{ interface: 'public', region: 'R', url: 'https://glance' }] },
      { type: 'junk' },
      null,
      { endpoints: [] }
    ]
    expect(catalogEndpoints(catalog, { interface: 'publicURL', region: 'R' })).toEqual([
      { type: 'image', url: 'https://glance', region: 'R', interface: 'public' }
    ])
    expect(catalogEndpoints('nope')).toEqual([])
  })
})

describe('prependPath', () => {
  test('puts the entry first, once, and drops empty entries (an empty entry means the current directory)', () => {
    expect(prependPath('/s', undefined, ':')).toBe('/s')
    expect(prependPath('/s', 'a::b:', ':')).toBe('/s:a:b')
    expect(prependPath('/s', 'a:/s:b', ':')).toBe('/s:a:b')
  })
})

// --- the Python shim, run by a real python3 against stand-ins of openstacksdk and keyring -------

const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find(p => existsSync(p))
const withPython = PYTHON ? describe : describe.skip

/**
 * A stand-in for openstack/config/cloud_region.py: it imports keyring at the top and asks it the
 * way load_auth_from_cache() does, from a method whose `self._auth` is the plugin.
 */
const FAKE_CLOUD_REGION = `
import keyring

class TokenMethod:
    def __init__(self, token):
        self.token = token

class V3Token:
    def __init__(self, token, **scope):
        self.auth_methods = [TokenMethod(token)]
        self.reauthenticate = True
        for name in ('project_id', 'project_name', 'domain_id', 'domain_name', 'trust_id', 'system_scope'):
            setattr(self, name, scope.get(name))
    def get_cache_id(self):
        return 'cache-id'

class GenericToken:
    def __init__(self, token, project_id=None):
        self._token = token
        self._project_id = project_id
        self.reauthenticate = True
    def get_cache_id(self):
        return 'cache-id'

class CloudRegion:
    def __init__(self, auth):
        self._auth = auth
    def load_auth_from_cache(self):
        return keyring.get_password('openstacksdk', self._auth.get_cache_id())
`

/** A stand-in for an installed keyring package: remembers what it was asked; has a command line. */
const FAKE_REAL_KEYRING = `
calls = []
def get_password(service, username):
    calls.append(('get', service, username))
    return 'real:' + service
def set_password(service, username, password):
    calls.append(('set', service, username, password))
def delete_password(service, username):
    calls.append(('delete', service, username))
`
const FAKE_REAL_KEYRING_MAIN = `
import sys
print('real keyring cli', sys.argv[1:])
`

withPython('the keyring shim (python3)', () => {
  let dir: string
  let shimDir: string
  let statesDir: string

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyring-shim-'))
    shimDir = join(dir, 'shim')
    statesDir = join(dir, 'states "quoted" é')
    mkdirSync(shimDir)
    mkdirSync(statesDir)
    writeFileSync(join(shimDir, 'keyring.py'), renderKeyringShim(statesDir))
    writeFileSync(join(shimDir, SHIM_MARKER), '')
    mkdirSync(join(dir, 'sdk', 'openstack', 'config'), { recursive: true })
    writeFileSync(join(dir, 'sdk', 'openstack', '__init__.py'), '')
    writeFileSync(join(dir, 'sdk', 'openstack', 'config', '__init__.py'), '')
    writeFileSync(join(dir, 'sdk', 'openstack', 'config', 'cloud_region.py'), FAKE_CLOUD_REGION)
    mkdirSync(join(dir, 'real', 'keyring'), { recursive: true })
    writeFileSync(join(dir, 'real', 'keyring', '__init__.py'), FAKE_REAL_KEYRING)
    writeFileSync(join(dir, 'real', 'keyring', '__main__.py'), FAKE_REAL_KEYRING_MAIN)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  beforeEach(() => {
    rmSync(statesDir, { recursive: true, force: true })
    mkdirSync(statesDir)
  })

  /**
   * A token's state as the action writes it: `validFor` seconds left by Keystone's clock when it
   * arrived `age` seconds ago on this runner's clock; expires_at is only for the messages.
   */
  function writeState({ token = 'gAAAAAours', validFor = 3600, age = 0, expiresAt = '2999-01-01T00:00:00.000000Z', project = PROJECT } = {}): void {
    const body = tokenBody([], { expires_at: expiresAt, project: { id: project, name: 'proj2', domain: { id: 'd2', name: 'dom2' } } })
    const state = { auth_token: token, body, auth_url: 'http://127.0.0.1:9/v3', received_at: Date.now() / 1000 - age, valid_for: validFor }
    writeFileSync(join(statesDir, tokenStateFileName(token)), JSON.stringify(state))
  }

  /** Runs `code` in an isolated python3 (-I -S) whose sys.path is: shim, sdk, [real keyring]. */
  function python(code: string, { realKeyring }: { realKeyring: boolean }): { stdout: string; stderr: string; status: number | null } {
    const path = [shimDir, join(dir, 'sdk'), ...(realKeyring ? [join(dir, 'real')] : [])]
    const prelude = `import sys\nsys.path[:0] = ${JSON.stringify(path)}\n`
    const result = spawnSync(PYTHON!, ['-I', '-S', '-c', prelude + code], { encoding: 'utf8', timeout: 20_000 })
    return { stdout: result.stdout.trim(), stderr: result.stderr.trim(), status: result.status }
  }

  test('compiles', () => {
    const result = spawnSync(PYTHON!, ['-I', '-m', 'py_compile', join(shimDir, 'keyring.py')], { encoding: 'utf8', timeout: 20_000 })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })

  test.each([false, true])('answers openstacksdk with the state for a plugin holding our token and scope (real keyring: %s)', realKeyring => {
    writeState()
    const result = python(
      `
import json
from openstack.config import cloud_region as c
for plugin in [c.V3Token('gAAAAAours', project_id='${PROJECT}'), c.GenericToken('gAAAAAours'), c.V3Token('gAAAAAours', project_name='proj2')]:
    state = c.CloudRegion(plugin).load_auth_from_cache()
    print(json.loads(state)['auth_token'], plugin.reauthenticate)
`,
      { realKeyring }
    )
    expect(result.stderr).toBe('')
    expect(result.stdout.split('\n')).toEqual(['gAAAAAours False', 'gAAAAAours False', 'gAAAAAours False'])
  })

  test.each([false, true])(
    'leaves another token, another scope, a trust, or a plugin it cannot see to the real keyring, if any (real keyring: %s)',
    realKeyring => {
      writeState()
      const result = python(
        `
from openstack.config import cloud_region as c
keyring = c.keyring
for plugin in [c.V3Token('gAAAAAother'), c.V3Token('gAAAAAours', project_id='another'), c.V3Token('gAAAAAours', domain_id='d2'),
               c.V3Token('gAAAAAours', trust_id='t'), c.V3Token('gAAAAAours', system_scope='all')]:
    print(c.CloudRegion(plugin).load_auth_from_cache(), plugin.reauthenticate)
print(keyring.get_password('openstacksdk', 'direct call, no plugin'))
`,
        { realKeyring }
      )
      expect(result.stderr).toBe('')
      const notOurs = realKeyring ? 'real:openstacksdk' : 'None'
      expect(result.stdout.split('\n')).toEqual([...Array(5).fill(`${notOurs} True`), notOurs])
    }
  )

  test('an expired token: no answer, one line on stderr', () => {
    writeState({ validFor: 3600, age: 3601, expiresAt: '2001-01-01T00:00:00.000000Z' })
    const result = python(
      `
from openstack.config import cloud_region as c
print(c.CloudRegion(c.V3Token('gAAAAAours')).load_auth_from_cache(), c.CloudRegion(c.V3Token('gAAAAAours')).load_auth_from_cache())
`,
      { realKeyring: false }
    )
    expect(result.stdout).toBe('None None')
    expect(result.stderr).toBe(
      "openstack-token: the job's Keystone token expired at 2001-01-01T00:00:00.000000Z; the command falls back to asking Keystone, which refuses an expired token."
    )
  })

  test("a runner clock far from Keystone's does not refuse a valid token: its life is counted from its arrival", () => {
    // expires_at is long past by any clock, but the token arrived a minute ago with an hour left.
    writeState({ validFor: 3600, age: 60, expiresAt: '2001-01-01T00:00:00.000000Z' })
    const result = python(
      `from openstack.config import cloud_region as c\nimport json\nprint(json.loads(c.CloudRegion(c.V3Token('gAAAAAours')).load_auth_from_cache())['auth_token'])`,
      { realKeyring: false }
    )
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe('gAAAAAours')
  })

  test('two logins in one job: each token gets its own state, whichever the command holds', () => {
    writeState({ token: 'gAAAAAfirst', project: 'project-a' })
    writeState({ token: 'gAAAAAsecond', project: 'project-b' })
    const result = python(
      `
import json
from openstack.config import cloud_region as c
for token in ['gAAAAAfirst', 'gAAAAAsecond']:
    state = json.loads(c.CloudRegion(c.V3Token(token)).load_auth_from_cache())
    print(state['auth_token'], state['body']['token']['project']['id'])
`,
      { realKeyring: false }
    )
    expect(result.stderr).toBe('')
    expect(result.stdout.split('\n')).toEqual(['gAAAAAfirst project-a', 'gAAAAAsecond project-b'])
  })

  test('no state file: no answer', () => {
    const result = python(`from openstack.config import cloud_region as c\nprint(c.CloudRegion(c.V3Token('gAAAAAours')).load_auth_from_cache())`, {
      realKeyring: false
    })
    expect(result.stdout).toBe('None')
  })

  test('with the real keyring installed: other tools get the real package; only the key it answered is intercepted, and its state is never saved', () => {
    writeState()
    const result = python(
      `
from openstack.config import cloud_region as c
import keyring
print(keyring.__file__.endswith('/real/keyring/__init__.py'))
print(keyring.get_password('pypi', 'me'))
keyring.set_password('pypi', 'me', 'secret')
print(c.CloudRegion(c.V3Token('gAAAAAours')).load_auth_from_cache() is not None)
keyring.set_password('openstacksdk', 'cache-id', 'state')
keyring.delete_password('openstacksdk', 'cache-id')
# Another cloud's auth cache, in the same process: the user's keyring keeps it.
print(keyring.get_password('openstacksdk', 'other-cloud'))
keyring.set_password('openstacksdk', 'other-cloud', 'their state')
keyring.delete_password('openstacksdk', 'other-cloud')
print(keyring.calls)
`,
      { realKeyring: true }
    )
    expect(result.stderr).toBe('')
    expect(result.stdout.split('\n')).toEqual([
      'True',
      'real:pypi',
      'True',
      'real:openstacksdk',
      "[('get', 'pypi', 'me'), ('set', 'pypi', 'me', 'secret'), ('get', 'openstacksdk', 'other-cloud'), ('set', 'openstacksdk', 'other-cloud', 'their state'), ('delete', 'openstacksdk', 'other-cloud')]"
    ])
  })

  test("python3 -m keyring runs the real package's command line, or fails as if the shim were not there", () => {
    const run = (realKeyring: boolean) => {
      const path = [shimDir, ...(realKeyring ? [join(dir, 'real')] : [])].join(':')
      const result = spawnSync(PYTHON!, ['-S', '-m', 'keyring', '--list-backends'], { encoding: 'utf8', timeout: 20_000, env: { PYTHONPATH: path } })
      return { stdout: result.stdout.trim(), stderr: result.stderr.trim(), status: result.status }
    }
    expect(run(true)).toEqual({ stdout: "real keyring cli ['--list-backends']", stderr: '', status: 0 })
    const absent = run(false)
    expect(absent.status).toBe(1)
    expect(absent.stderr).toMatch(/: No module named keyring$/)
  })

  test('without the real keyring: an importer other than openstacksdk gets the usual ImportError, openstacksdk gets the stand-in', () => {
    const result = python(
      `
try:
    import keyring
    print('imported')
except ImportError as error:
    print(type(error).__name__, error)
from openstack.config import cloud_region
print(cloud_region.keyring.__name__, cloud_region.keyring.set_password('openstacksdk', 'x', 'y'))
`,
      { realKeyring: false }
    )
    expect(result.stderr).toBe('')
    expect(result.stdout.split('\n')).toEqual(["ModuleNotFoundError No module named 'keyring'", 'keyring None'])
  })

  test('two shim directories on the path (two runs of the action) do not load each other forever', () => {
    const second = join(dir, 'shim2')
    mkdirSync(second, { recursive: true })
    writeFileSync(join(second, 'keyring.py'), renderKeyringShim(statesDir))
    writeFileSync(join(second, SHIM_MARKER), '')
    writeState()
    const result = spawnSync(
      PYTHON!,
      [
        '-I',
        '-S',
        '-c',
        `import sys\nsys.path[:0] = ${JSON.stringify([second, shimDir, join(dir, 'sdk'), join(dir, 'real')])}\nimport keyring\nprint(keyring.__file__)`
      ],
      { encoding: 'utf8', timeout: 20_000 }
    )
    expect(result.stderr).toBe('')
    expect(result.stdout.trim()).toMatch(/\/real\/keyring\/__init__\.py$/)
  })
})

describe("the runner's own path syntax (Linux, macOS, Windows runners)", () => {
  test('by default PYTHONPATH is joined with path.delimiter of the machine the step runs on', () => {
    const { platform: _platform, ...onThisMachine } = input({ env: { PYTHONPATH: 'src' } })
    const setup = directUseSetup(onThisMachine)
    const paths = path.delimiter === ';' ? path.win32 : path.posix
    expect(setup.env.PYTHONPATH).toBe(`${paths.join('/home/runner/work/_temp', 'openstack-token', 'python')}${path.delimiter}src`)
  })

  test('hostPlatform reads the separator: `;` is Windows, `:` is Linux and macOS', () => {
    expect(hostPlatform(';')).toBe('win32')
    expect(hostPlatform(':')).toBe('posix')
    expect(hostPlatform()).toBe(process.platform === 'win32' ? 'win32' : 'posix')
  })
})
