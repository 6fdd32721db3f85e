import { forgetToken, loadToken, MAX_CA_IN_STATE, saveToken, STATE_KEYS, type SavedToken, type StateStore } from '../src/runtime/state.js'
import { TOKEN } from './helpers/keystone-fixtures.js'

/**
 * What the main step saves for its post step (GITHUB_STATE, handed back as STATE_* variables): the
 * post step must find every token still to revoke, and how to reach Keystone for it.
 */

/** GITHUB_STATE as the runner keeps it: the last value of each name wins; every write in order. */
function memoryStore(initial: Record<string, string> = {}) {
  const values = new Map(Object.entries(initial))
  const writes: string[] = []
  const store: StateStore = {
    saveState: (name, value) => {
      writes.push(name)
      values.set(name, value)
    },
    getState: name => values.get(name) ?? ''
  }
  return { store, values, writes }
}

const AUTH_URL = 'https://keystone.test/v3'
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'

describe('round trip: what the post step loads is what the main step saved', () => {
  test.each<[string, SavedToken]>([
    ['a token to revoke', { token: TOKEN, authUrl: AUTH_URL, expiresAt: '2026-12-06T05:00:00.000Z', revoke: true }],
    ['a token kept, and why', { token: TOKEN, authUrl: AUTH_URL, revoke: false, keptBecause: 'shared with the other jobs' }],
    ['tokens left over by a failed login, and no token', { token: '', others: ['left-1', 'left-2'], authUrl: AUTH_URL, revoke: true }],
    ['a private CA as text, verification off', { token: TOKEN, authUrl: AUTH_URL, revoke: true, ca: CA, insecure: true }],
    ['a CA by its file', { token: TOKEN, authUrl: AUTH_URL, revoke: true, caFile: '/etc/ssl/private-ca.pem' }],
    ['an application credential with access rules', { token: TOKEN, authUrl: AUTH_URL, revoke: true, accessRules: true }]
  ])('%s', (_what, saved) => {
    const { store } = memoryStore()
    saveToken(store, saved)
    expect(loadToken(store)).toEqual(saved)
  })
})

test('the tokens are saved last: a post step that sees a token also sees where and how to reach Keystone', () => {
  const { store, writes } = memoryStore()
  saveToken(store, {
    token: TOKEN,
    others: ['left'],
    authUrl: AUTH_URL,
    expiresAt: 'x',
    revoke: true,
    ca: CA,
    insecure: true,
    keptBecause: 'k',
    accessRules: true
  })
  expect(writes.slice(-2)).toEqual([STATE_KEYS.others, STATE_KEYS.token])
  expect(writes.slice(0, -2)).toEqual(expect.arrayContaining([STATE_KEYS.authUrl, STATE_KEYS.revoke, STATE_KEYS.ca, STATE_KEYS.insecure]))
})

describe('the CA: its text while it fits in one environment variable, its file beyond', () => {
  test('a CA of exactly the limit travels as text', () => {
    const { store, values } = memoryStore()
    const ca = 'c'.repeat(MAX_CA_IN_STATE)
    saveToken(store, { token: TOKEN, authUrl: AUTH_URL, revoke: true, ca, caFile: '/tmp/ca.pem' })
    expect(values.get(STATE_KEYS.ca)).toBe(ca)
    expect(values.has(STATE_KEYS.caFile)).toBe(false)
  })

  test('one character more: its file instead, and no text at all', () => {
    const { store, values } = memoryStore()
    saveToken(store, { token: TOKEN, authUrl: AUTH_URL, revoke: true, ca: 'c'.repeat(MAX_CA_IN_STATE + 1), caFile: '/tmp/ca.pem' })
    expect(values.has(STATE_KEYS.ca)).toBe(false)
    expect(values.get(STATE_KEYS.caFile)).toBe('/tmp/ca.pem')
    expect(loadToken(memoryStore(Object.fromEntries(values)).store)).toMatchObject({ caFile: '/tmp/ca.pem' })
  })

  test('the limit stays well under what Linux allows one environment variable (128 KiB)', () => {
    expect(MAX_CA_IN_STATE).toBeLessThan(128 * 1024)
  })
})

describe('loading', () => {
  test('nothing saved (the main step failed before its login): nothing to revoke', () => {
    expect(loadToken(memoryStore().store)).toBeUndefined()
  })

  test('only its URL saved (the token not yet): nothing to revoke', () => {
    expect(loadToken(memoryStore({ [STATE_KEYS.authUrl]: AUTH_URL, [STATE_KEYS.revoke]: 'true' }).store)).toBeUndefined()
  })

  test('a token with no revoke saved is revoked: only an explicit "false" keeps it', () => {
    for (const revoke of ['', 'true', 'False', 'no']) {
      const { store } = memoryStore({ [STATE_KEYS.token]: TOKEN, [STATE_KEYS.authUrl]: AUTH_URL, [STATE_KEYS.revoke]: revoke })
      expect(loadToken(store)?.revoke).toBe(true)
    }
    const kept = memoryStore({ [STATE_KEYS.token]: TOKEN, [STATE_KEYS.authUrl]: AUTH_URL, [STATE_KEYS.revoke]: 'false' })
    expect(loadToken(kept.store)?.revoke).toBe(false)
  })

  test('empty lines among the left-over tokens are no tokens', () => {
    const { store } = memoryStore({ [STATE_KEYS.others]: '\nleft-1\n\nleft-2\n', [STATE_KEYS.authUrl]: AUTH_URL })
    expect(loadToken(store)).toEqual({ token: '', others: ['left-1', 'left-2'], authUrl: AUTH_URL, revoke: true })
  })

  test('insecure and access rules only from "true"', () => {
    const { store } = memoryStore({ [STATE_KEYS.token]: TOKEN, [STATE_KEYS.insecure]: 'yes', [STATE_KEYS.accessRules]: '1' })
    expect(loadToken(store)).not.toHaveProperty('insecure')
    expect(loadToken(store)).not.toHaveProperty('accessRules')
  })
})

test('forgetToken (the main step revoked them itself): the post step finds nothing to revoke, the rest stays', () => {
  const { store, values } = memoryStore()
  saveToken(store, { token: TOKEN, others: ['left'], authUrl: AUTH_URL, revoke: true })
  forgetToken(store)
  expect(loadToken(store)).toBeUndefined()
  expect(values.get(STATE_KEYS.authUrl)).toBe(AUTH_URL)
})

test('every state name is distinct (two fields under one name would overwrite each other)', () => {
  const names = Object.values(STATE_KEYS)
  expect(new Set(names).size).toBe(names.length)
})
