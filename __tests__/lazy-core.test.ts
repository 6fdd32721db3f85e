import { jest } from '@jest/globals'
import * as actionsCore from '@actions/core'
import fc from 'fast-check'
import { EOL } from 'node:os'
import { lazyCore } from '../src/runtime/lazy-core.js'
import { STATE_KEYS } from '../src/runtime/state.js'
import { githubStep, type StepRun } from './helpers/github.js'
import { restoreSteps, runMainStep, runPostStep, savedField, savedState, stateVariables } from './helpers/steps.js'
import { issueToken, startKeystone, type KeystoneServer } from './helpers/hostile-server.js'
import { PROJ2, TOKEN } from './helpers/keystone-fixtures.js'

/**
 * The core the entry points run with: log lines and masks written at once in the runner's format,
 * the file commands from @actions/core, loaded while Keystone works. What it writes itself must be
 * what @actions/core writes, byte for byte: the runner parses it.
 */

/** Everything written to stdout while `run` runs. */
function stdoutOf(run: () => void): string {
  const chunks: string[] = []
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk))
    return true
  })
  try {
    run()
  } finally {
    spy.mockRestore()
  }
  return chunks.join('')
}

/** What the runner would read from one call of each, and the exit code it leaves. */
function sameAsActionsCore(method: 'setSecret' | 'info' | 'debug' | 'warning' | 'setFailed', message: string): void {
  const lazy = lazyCore({})
  const theirs = stdoutOf(() => actionsCore[method](message))
  const theirExitCode = process.exitCode
  process.exitCode = undefined
  const ours = stdoutOf(() => lazy[method](message))
  const ourExitCode = process.exitCode
  process.exitCode = undefined
  expect(ours).toBe(theirs)
  expect(ourExitCode).toBe(theirExitCode)
}

const METHODS = ['setSecret', 'info', 'debug', 'warning', 'setFailed'] as const
const MESSAGES = [
  'plain',
  '',
  ' spaces around ',
  '100% done, %25 already escaped, %0A too',
  'two\nlines',
  'windows\r\nline, lone \r carriage return',
  '::error::not a command',
  '##[group]not a group',
  'ünïcödé ✓ 🔑',
  'a=b,c:d'
]

describe('log lines and masks: byte for byte what @actions/core writes', () => {
  test.each(METHODS.flatMap(method => MESSAGES.map(message => [method, message] as const)))('%s(%j)', (method, message) => {
    sameAsActionsCore(method, message)
  })

  test('any string, any method', () => {
    fc.assert(
      fc.property(fc.constantFrom(...METHODS), fc.string({ unit: 'binary' }), (method, message) => sameAsActionsCore(method, message)),
      { numRuns: 300 }
    )
  })

  test('a mask is written at once, before anything is loaded', () => {
    const load = jest.fn(() => import('@actions/core'))
    const lazy = lazyCore({}, load)
    expect(stdoutOf(() => lazy.setSecret('s3cret'))).toBe(`::add-mask::s3cret${EOL}`)
    expect(load).not.toHaveBeenCalled()
  })
})

describe('inputs and state: what @actions/core reads from the environment', () => {
  const saved = { ...process.env }
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
  })

  test.each([
    ['auth-url', 'INPUT_AUTH-URL', 'https://keystone.example.com/v3'],
    ['user domain name', 'INPUT_USER_DOMAIN_NAME', ' Default '],
    ['Password', 'INPUT_PASSWORD', '  pass word \n'],
    ['openrc', 'INPUT_OPENRC', 'export OS_AUTH_URL=x\n\nexport OS_USERNAME=y\n'],
    ['missing', 'INPUT_UNSET_FOR_THIS_TEST', undefined]
  ])('getInput(%j) from %s', (name, variable, value) => {
    if (value !== undefined) process.env[variable] = value
    const lazy = lazyCore(process.env)
    expect(lazy.getInput(name)).toBe(actionsCore.getInput(name))
    expect(lazy.getInput(name, { trimWhitespace: false })).toBe(actionsCore.getInput(name, { trimWhitespace: false }))
  })

  test.each([
    [STATE_KEYS.token, 'abc'],
    [STATE_KEYS.authUrl, ''],
    [STATE_KEYS.keptBecause, 'shared by another job: its revoker job revokes it']
  ])('getState(%j)', (name, value) => {
    process.env[`STATE_${name}`] = value
    expect(lazyCore(process.env).getState(name)).toBe(actionsCore.getState(name))
    delete process.env[`STATE_${name}`]
    expect(lazyCore(process.env).getState(name)).toBe('')
  })
})

describe('the file commands and the ID token: @actions/core, loaded on demand', () => {
  let step: StepRun | undefined
  afterEach(() => step?.restore())

  test('before ready(), a file command is a bug of the step: it throws instead of losing the write', () => {
    const lazy = lazyCore({})
    expect(() => lazy.saveState('token', TOKEN)).toThrow(/saveState was called before @actions\/core was loaded/)
    expect(() => lazy.setOutput('token', TOKEN)).toThrow(/setOutput/)
    expect(() => lazy.exportVariable('OS_TOKEN', TOKEN)).toThrow(/exportVariable/)
    expect(() => lazy.summary).toThrow(/summary/)
  })

  test('after ready(), they write the runner files through the real @actions/core', async () => {
    step = githubStep()
    const lazy = lazyCore({})
    await lazy.ready()
    lazy.saveState(STATE_KEYS.token, TOKEN)
    lazy.setOutput('expires-at', '2026-12-01T00:00:00.000Z')
    lazy.exportVariable('OS_TOKEN', TOKEN)
    expect(step.state()).toEqual(savedState({ token: TOKEN }))
    expect(step.outputs()).toEqual({ 'expires-at': '2026-12-01T00:00:00.000Z' })
    expect(step.exported()).toEqual({ OS_TOKEN: TOKEN })
    expect(lazy.summary).toBe(actionsCore.summary)
  })

  test('prepare() starts the load once; ready() waits for it; a second prepare() does not load again', async () => {
    const load = jest.fn(() => import('@actions/core'))
    const lazy = lazyCore({}, load)
    lazy.prepare()
    lazy.prepare()
    await lazy.ready()
    await lazy.ready()
    expect(load).toHaveBeenCalledTimes(1)
  })

  test('a load that fails is reported by ready(), never as an unhandled rejection from prepare()', async () => {
    const unhandled = jest.fn()
    process.on('unhandledRejection', unhandled)
    try {
      const lazy = lazyCore({}, () => Promise.reject(new Error('chunk missing')))
      lazy.prepare()
      await new Promise(resolve => setTimeout(resolve, 20))
      await expect(lazy.ready()).rejects.toThrow('chunk missing')
      expect(unhandled).not.toHaveBeenCalled()
    } finally {
      process.off('unhandledRejection', unhandled)
    }
  })

  test('getIDToken loads @actions/core first, then asks it', async () => {
    const getIDToken = jest.fn(async (audience?: string) => `jwt-for-${audience}`)
    const load = jest.fn(async () => ({ ...actionsCore, getIDToken }))
    const lazy = lazyCore({}, load)
    await expect(lazy.getIDToken('openstack')).resolves.toBe('jwt-for-openstack')
    expect(load).toHaveBeenCalledTimes(1)
    expect(getIDToken).toHaveBeenCalledWith('openstack')
  })
})

describe('the steps: @actions/core is loaded while Keystone works, and only when it is needed', () => {
  let keystone: KeystoneServer
  beforeAll(async () => (keystone = await startKeystone()))
  afterEach(() => {
    restoreSteps()
    keystone.reset()
  })
  afterAll(() => keystone.close())

  const inputs = (authUrl: string) => ({
    'INPUT_AUTH-URL': authUrl,
    'INPUT_ALLOW-INSECURE-HTTP': 'true',
    INPUT_USERNAME: 'user2',
    INPUT_PASSWORD: 'user2-secret-Pa55',
    'INPUT_USER-DOMAIN-NAME': 'dom2',
    'INPUT_PROJECT-ID': PROJ2.id,
    INPUT_REVOKE: 'true',
    'INPUT_EXPORT-ENV': 'true'
  })

  test('main: the load starts while Keystone holds the login, and the token still reaches state, outputs and env', async () => {
    const load = jest.fn(() => import('@actions/core'))
    const loadsWhenKeystoneAnswered: number[] = []
    keystone.onPost((request, response) => {
      // Keystone takes its time (a password hash, a database): the step must not sit idle.
      const answer = () => {
        loadsWhenKeystoneAnswered.push(load.mock.calls.length)
        issueToken(request, response)
      }
      const waited = Date.now()
      const poll = setInterval(() => {
        if (load.mock.calls.length > 0 || Date.now() - waited > 2000) {
          clearInterval(poll)
          answer()
        }
      }, 5)
    })
    const env = inputs(keystone.authUrl)
    const step = await runMainStep({}, { env, timeoutMs: 5000, core: () => lazyCore(env, load) })
    expect(step.lines.filter(line => line.startsWith('::error::'))).toEqual([])
    expect(loadsWhenKeystoneAnswered).toEqual([1])
    expect(load).toHaveBeenCalledTimes(1)
    expect(savedField(step, 'token')).toBe(TOKEN)
    expect(step.outputs().token).toBe(TOKEN)
    expect(step.exported().OS_TOKEN).toBe(TOKEN)
    expect(step.exitCode()).toBe(0)
  })

  test('main: if @actions/core cannot load (a damaged checkout of the action), the token just issued is revoked', async () => {
    const env = inputs(keystone.authUrl)
    const step = await runMainStep(
      {},
      { env, timeoutMs: 5000, core: () => lazyCore(env, () => Promise.reject(new Error('Cannot find module ./143.index.js'))) }
    )
    expect(keystone.requests.map(request => request.method)).toEqual(['POST', 'DELETE'])
    expect(step.lines.filter(line => !line.startsWith('::add-mask::') && !line.startsWith('::debug::'))).toEqual([
      'Revoked the token Keystone issued before the failure.',
      "::error::openstack-token hit an internal error (Cannot find module ./143.index.js); please report it with the step's debug log."
    ])
    expect(step.exitCode()).toBe(1)
  })

  test('main: a configuration error fails the step before any request, without loading anything', async () => {
    const load = jest.fn(() => import('@actions/core'))
    const env = { ...inputs(keystone.authUrl), INPUT_PASSWORD: '' }
    const step = await runMainStep({}, { env, timeoutMs: 5000, core: () => lazyCore(env, load) })
    expect(step.lines.filter(line => line.startsWith('::error::'))).toEqual([expect.stringMatching(/^::error::No credentials/)])
    expect(step.exitCode()).toBe(1)
    expect(keystone.requests).toEqual([])
    expect(load).not.toHaveBeenCalled()
  })

  test('post: revokes and logs without ever loading @actions/core', async () => {
    const load = jest.fn(() => import('@actions/core'))
    const env = stateVariables(
      savedState({ token: TOKEN, authUrl: keystone.authUrl, expiresAt: new Date(Date.now() + 3600_000).toISOString(), revoke: 'true' })
    )
    const step = await runPostStep({}, { env, timeoutMs: 5000, core: () => lazyCore(env, load) })
    expect(keystone.received('DELETE')).toHaveLength(1)
    expect(step.lines).toEqual([`::add-mask::${TOKEN}`, 'Token revoked.'])
    expect(load).not.toHaveBeenCalled()
  })
})
