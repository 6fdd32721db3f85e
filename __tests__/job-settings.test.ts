import { Reader } from '../src/config/reader.js'
import { resolveInterface, resolveJobSettings, resolveTiming, resolveTls, resolveTokenUse } from '../src/config/job-settings.js'
import type { InputName } from '../src/config/inputs.js'
import { UserError } from '../src/errors.js'
import { source } from './helpers/config-source.js'

/**
 * What a job decides whoever issued its token: where later steps go (region, interface), how they
 * use the token, how the action connects (timing, TLS). Each setting has its accepted spellings, its
 * bounds and one sentence when it is wrong.
 */

type Inputs = Partial<Record<InputName, string>>
const settings = (inputs: Inputs = {}, env: Record<string, string> = {}) => resolveJobSettings(source(inputs, env), 'exchange')
const tlsOf = (inputs: Inputs = {}, env: Record<string, string> = {}) => {
  const from = source(inputs, env)
  return resolveTls(new Reader(from), from)
}

describe('timing: max-wait, outage-wait, timeout', () => {
  test('the defaults: five minutes for rate limits, 30 s for outages, 30 s per request', () => {
    expect(resolveTiming(source())).toEqual({ maxWaitMs: 300_000, outageWaitMs: 30_000, timeoutMs: 30_000 })
  })

  test.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['5m', 300_000],
    ['5min', 300_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['6h', 6 * 3_600_000]
  ])('max-wait: %s is %i ms', (value, ms) => {
    expect(resolveTiming(source({ 'max-wait': value })).maxWaitMs).toBe(ms)
    expect(resolveTiming(source({ 'outage-wait': value })).outageWaitMs).toBe(ms)
  })

  test.each([
    ['max-wait', '361m'],
    ['max-wait', '7h'],
    ['max-wait', 'soon'],
    ['max-wait', '-1'],
    ['outage-wait', '6.1h'],
    ['outage-wait', '5 days']
  ] as const)('%s: %s is refused, with the bounds and the spellings', (name, value) => {
    expect(() => resolveTiming(source({ [name]: value }))).toThrow(
      `input \`${name}\` is "${value}": give a duration between 0 s and 360 min, as seconds (90) or with a unit (90s, 5m, 1h).`
    )
  })

  test('timeout: from one second to ten minutes per request', () => {
    expect(resolveTiming(source({ timeout: '1s' })).timeoutMs).toBe(1000)
    expect(resolveTiming(source({ timeout: '10m' })).timeoutMs).toBe(600_000)
    for (const value of ['500ms', '0', '601s', '1h']) {
      expect(() => resolveTiming(source({ timeout: value }))).toThrow(
        `input \`timeout\` is "${value}": give a duration between 1 s and 10 min, as seconds (90) or with a unit (90s, 5m, 1h).`
      )
    }
  })

  test('timing is part of the job settings, and errors are UserErrors (one sentence, no trace)', () => {
    expect(settings({ 'max-wait': '2m' }).timing.maxWaitMs).toBe(120_000)
    expect(() => settings({ timeout: 'x' })).toThrow(UserError)
  })
})

describe('interface', () => {
  test.each([
    ['public', 'public'],
    ['internal', 'internal'],
    ['admin', 'admin'],
    ['publicURL', 'public'],
    ['internalURL', 'internal'],
    ['adminURL', 'admin'],
    ['INTERNAL', 'internal'],
    ['Public', 'public']
  ])("%s (keystoneauth's spellings) is %s", (value, canonical) => {
    expect(settings({ interface: value }).interface).toBe(canonical)
  })

  test('from OS_INTERFACE when the input is empty; the input wins over it', () => {
    expect(settings({}, { OS_INTERFACE: 'internalURL' }).interface).toBe('internal')
    expect(settings({ interface: 'admin' }, { OS_INTERFACE: 'internal' }).interface).toBe('admin')
  })

  test('none given: none exported (the clients default to public)', () => {
    expect(settings()).not.toHaveProperty('interface')
    expect(resolveInterface(undefined)).toBeUndefined()
  })

  test.each(['private', 'publicurls', 'url', '__proto__', 'constructor', 'hasOwnProperty'])('%s is refused, naming the three', value => {
    expect(() => settings({ interface: value })).toThrow(`input \`interface\` is "${value}": use public, internal or admin.`)
  })

  test('a wrong OS_INTERFACE is refused naming the variable', () => {
    expect(() => settings({}, { OS_INTERFACE: 'private' })).toThrow(/^OS_INTERFACE.* is "private": use public, internal or admin\.$/)
  })
})

describe('token-use', () => {
  test("the login method's default when not given", () => {
    expect(resolveJobSettings(source(), 'exchange').tokenUse).toBe('exchange')
    expect(resolveJobSettings(source(), 'direct').tokenUse).toBe('direct')
  })

  test.each(['exchange', 'direct'] as const)('%s given wins over the default', value => {
    expect(resolveJobSettings(source({ 'token-use': value }), value === 'direct' ? 'exchange' : 'direct').tokenUse).toBe(value)
  })

  test.each(['Direct', 'EXCHANGE', 'cache', 'v3token'])('%s is refused, naming the two', value => {
    expect(() => settings({ 'token-use': value })).toThrow(`input \`token-use\` is "${value}": use exchange or direct.`)
  })

  test('resolveTokenUse on its own', () => {
    expect(resolveTokenUse(undefined, 'direct')).toBe('direct')
    expect(resolveTokenUse({ value: 'exchange', from: 'input `token-use`', name: 'token-use' }, 'direct')).toBe('exchange')
    expect(() => resolveTokenUse({ value: 'x', from: 'OS_TOKEN_USE of a test', name: 'OS_TOKEN_USE' }, 'direct')).toThrow(
      'OS_TOKEN_USE of a test is "x": use exchange or direct.'
    )
  })
})

describe('region and export-env', () => {
  test('the region and where it came from (for the error when the catalog lacks it)', () => {
    expect(settings({ region: 'GRA11' })).toMatchObject({ region: 'GRA11', regionFrom: 'input `region`' })
    expect(settings({}, { OS_REGION_NAME: 'SBG5' })).toMatchObject({ region: 'SBG5', regionFrom: expect.stringMatching(/^OS_REGION_NAME/) })
    expect(settings()).not.toHaveProperty('region')
  })

  test('export-env: true by default; false and its YAML spellings turn it off; anything else refused', () => {
    expect(settings().exportEnv).toBe(true)
    for (const value of ['false', 'False', 'FALSE']) expect(settings({ 'export-env': value }).exportEnv).toBe(false)
    expect(() => settings({ 'export-env': 'no' })).toThrow('input `export-env` is "no": use true or false.')
  })
})

describe('TLS settings (resolveTls)', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'

  test('none: verification on, no CA, plain http refused', () => {
    expect(tlsOf()).toEqual({ insecure: false, allowInsecureHttp: false })
  })

  test('a PEM in the input, surrounding blanks trimmed, its lines kept', () => {
    expect(tlsOf({ cacert: `\n  ${PEM}\n\n` }).cacert).toEqual({ pem: PEM, from: 'input `cacert`' })
  })

  test('a path in the input, or in OS_CACERT; the input wins', () => {
    expect(tlsOf({ cacert: '/etc/ssl/ca.pem' }).cacert).toEqual({ path: '/etc/ssl/ca.pem', from: 'input `cacert`' })
    expect(tlsOf({}, { OS_CACERT: '/job/ca.pem' }).cacert).toEqual({ path: '/job/ca.pem', from: expect.stringMatching(/^OS_CACERT/) })
    expect(tlsOf({ cacert: '/input/ca.pem' }, { OS_CACERT: '/job/ca.pem' }).cacert).toMatchObject({ path: '/input/ca.pem' })
  })

  test('insecure from the input or OS_INSECURE; allow-insecure-http from the input only', () => {
    expect(tlsOf({ insecure: 'true' }).insecure).toBe(true)
    expect(tlsOf({}, { OS_INSECURE: 'True' }).insecure).toBe(true)
    expect(tlsOf({ 'allow-insecure-http': 'true' }).allowInsecureHttp).toBe(true)
  })

  test('insecure spelled otherwise than true or false is refused', () => {
    expect(() => tlsOf({ insecure: 'yes' })).toThrow('input `insecure` is "yes": use true or false.')
  })

  test('the job settings carry the same TLS settings', () => {
    expect(settings({ cacert: PEM, insecure: 'false' }).tls).toEqual({
      cacert: { pem: PEM, from: 'input `cacert`' },
      insecure: false,
      allowInsecureHttp: false
    })
  })
})
