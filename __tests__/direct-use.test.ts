import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { join } from 'node:path'
import { catalogEndpoints } from '../src/keystone/catalog.js'
import {
  directUseSetup,
  DirectUseError,
  hostPlatform,
  prependPath,
  renderTokenState,
  tokenStatePath,
  type DirectUseInput
} from '../src/handoff/direct-use.js'
import { AUTH_TYPE, tokenStateFileName } from '../src/handoff/auth-plugin.js'

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

const SRC_PYTHON = join(import.meta.dirname, '..', 'src', 'python')
const PLUGIN = '/home/runner/work/_temp/openstack-token/python'

describe('directUseSetup: files', () => {
  test('writes the auth plugin (module and dist-info) and the token state under RUNNER_TEMP/openstack-token', () => {
    const setup = directUseSetup(input())
    expect(tokenStateFileName('gAAAAAtoken')).toBe(STATE_NAME)
    expect(setup.files.map(f => [f.path, f.mode.toString(8)])).toEqual([
      [`${PLUGIN}/openstack_token.py`, '644'],
      [`${PLUGIN}/openstack_token-0.dist-info/METADATA`, '644'],
      [`${PLUGIN}/openstack_token-0.dist-info/entry_points.txt`, '644'],
      [`/home/runner/work/_temp/openstack-token/tokens/${STATE_NAME}`, '600']
    ])
  })

  test('the plugin files are those of src/python, byte for byte, and register the auth type later steps get', () => {
    const files = directUseSetup(input()).files
    for (const name of ['openstack_token.py', 'openstack_token-0.dist-info/METADATA', 'openstack_token-0.dist-info/entry_points.txt']) {
      expect(files.find(f => f.path === `${PLUGIN}/${name}`)!.content).toBe(readFileSync(join(SRC_PYTHON, name), 'utf8'))
    }
    const entryPoints = files.find(f => f.path.endsWith('entry_points.txt'))!.content
    expect(entryPoints).toBe(`[keystoneauth1.plugin]\n${AUTH_TYPE} = openstack_token:Loader\n`)
  })

  test("the state is keystoneauth's get_auth_state() format, plus where to ask Keystone and the token's life on the runner's clock", () => {
    const body = tokenBody()
    const state = JSON.parse(directUseSetup(input({ tokenBody: body })).files.at(-1)!.content)
    expect(state).toEqual({
      auth_token: 'gAAAAAtoken',
      body,
      auth_url: 'https://keystone.example/v3',
      received_at: RECEIVED_AT.getTime() / 1000,
      valid_for: 3600
    })
  })

  test('renderTokenState (what a renewal writes) is the state directUseSetup writes; tokenStatePath is where', () => {
    const body = tokenBody()
    const setup = directUseSetup(input({ tokenBody: body }))
    const token = { value: 'gAAAAAtoken', receivedAt: RECEIVED_AT, validForMs: 3600_000, document: body }
    expect(renderTokenState(token, 'https://keystone.example/v3')).toBe(setup.files.at(-1)!.content)
    expect(tokenStatePath('/home/runner/work/_temp', 'gAAAAAtoken', 'posix')).toBe(setup.files.at(-1)!.path)
    expect(tokenStatePath('D:\\a\\_temp', 'gAAAAAtoken', 'win32')).toBe(`D:\\a\\_temp\\openstack-token\\tokens\\${STATE_NAME}`)
    // A renewal: the newer token in the first token's file.
    const renewed = JSON.parse(renderTokenState({ ...token, value: 'gAAAAAnewer' }, 'https://keystone.example/v3'))
    expect(renewed.auth_token).toBe('gAAAAAnewer')
    expect(() => renderTokenState({ ...token, document: { token: { expires_at: 'x' } } }, 'u')).toThrow(/without \?nocatalog/)
    expect(() => renderTokenState({ ...token, value: '' }, 'u')).toThrow(DirectUseError)
  })

  test('two logins in one job write two state files, and the same plugin for both', () => {
    const first = directUseSetup(input())
    const second = directUseSetup(input({ token: 'gAAAAAsecond' }))
    expect(first.files.at(-1)!.path).not.toBe(second.files.at(-1)!.path)
    expect(first.files.slice(0, -1)).toEqual(second.files.slice(0, -1))
  })

  test('only the state file holds the token', () => {
    const setup = directUseSetup(input())
    for (const file of setup.files.slice(0, -1)) expect(file.content).not.toContain('gAAAAAtoken')
  })

  test('Windows paths', () => {
    const setup = directUseSetup(input({ runnerTemp: 'D:\\a\\_temp', platform: 'win32', env: { PYTHONPATH: 'C:\\lib;D:\\x' } }))
    expect(setup.files.at(-1)!.path).toBe(`D:\\a\\_temp\\openstack-token\\tokens\\${STATE_NAME}`)
    expect(setup.files[1]!.path).toBe('D:\\a\\_temp\\openstack-token\\python\\openstack_token-0.dist-info\\METADATA')
    expect(setup.env.PYTHONPATH).toBe('D:\\a\\_temp\\openstack-token\\python;C:\\lib;D:\\x')
  })
})

describe('directUseSetup: variables', () => {
  test('exports OS_AUTH_TYPE=openstack-token and PYTHONPATH (the plugin first), nothing else: the token variables stay those of tokenEnvironment', () => {
    expect(directUseSetup(input()).env).toEqual({ OS_AUTH_TYPE: 'openstack-token', PYTHONPATH: PLUGIN })
  })

  test("keeps the job's PYTHONPATH after the plugin, without adding the plugin twice on a second run", () => {
    expect(directUseSetup(input({ env: { PYTHONPATH: 'src:/opt/lib' } })).env.PYTHONPATH).toBe(`${PLUGIN}:src:/opt/lib`)
    expect(directUseSetup(input({ env: { PYTHONPATH: `${PLUGIN}:src` } })).env.PYTHONPATH).toBe(`${PLUGIN}:src`)
    expect(directUseSetup(input({ env: { PYTHONPATH: '' } })).env.PYTHONPATH).toBe(PLUGIN)
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
      'openstack, openstacksdk and Ansible use the token as it is, with its catalog (public endpoints in region GRA11): compute, volumev3.'
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
