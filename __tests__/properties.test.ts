import { parseRetryAfter } from '../src/net/retry.js'
import fc from 'fast-check'
import { normalizeAuthUrl } from '../src/config/auth-url.js'
import { INPUT_FALLBACKS, type InputName, SECRET_INPUTS } from '../src/config/inputs.js'
import { resolveConfig as resolveConfigWith } from '../src/config/config.js'
import type { ConfigSource } from '../src/config/inputs.js'
import { LOGIN_METHODS } from '../src/login/methods.js'
import type { ActionConfig } from '../src/config/types.js'
import { oneLine, UserError } from '../src/errors.js'
import { parseKeystoneTime } from '../src/time.js'
import { source } from './helpers/config-source.js'

/** The configuration as the steps resolve it: with every login method of the action. */
const resolveConfig = (source: ConfigSource) => resolveConfigWith(source, LOGIN_METHODS)

/**
 * Properties over arbitrary input: the functions that stand between what a user (or a server)
 * typed and what the action does either return something well-formed or refuse with a UserError.
 */

const RUNS = { numRuns: 2000 }

// ── normalizeAuthUrl ────────────────────────────────────────────────────────────────────────────

const segment = fc.oneof(
  fc.constantFrom('v3', 'v2.0', 'V3', 'v3.0', 'identity', 'keystone', '', '.', '..', '%2F', '%2e%2e', 'a b', 'é'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 8 })
)
/** Things shaped like what people paste as an auth URL, good and bad. */
const urlLike = fc
  .record({
    scheme: fc.constantFrom('https://', 'http://', 'HTTPS://', 'ftp://', 'file://', 'javascript:', '', 'https:', 'https:///', 'https:\\\\'),
    userinfo: fc.constantFrom('', '', '', 'user@', 'user:pw@', ':pw@', '@'),
    host: fc.oneof(
      fc.domain(),
      fc.ipV4(),
      fc.ipV6().map(h => `[${h}]`),
      fc.constantFrom('localhost', '127.0.0.1', '', 'keystone')
    ),
    port: fc.oneof(
      fc.constant(''),
      fc.integer({ min: 0, max: 70_000 }).map(p => `:${p}`)
    ),
    path: fc.array(segment, { maxLength: 5 }).map(s => (s.length > 0 ? `/${s.join('/')}` : '')),
    trailing: fc.constantFrom('', '', '/', '//', '?', '#', '?#', '/?', '/#', '?a=1', '#x', ' ', '\t', '/v3/', '/v2.0/')
  })
  .map(p => p.scheme + p.userinfo + p.host + p.port + p.path + p.trailing)
const anyAuthUrl = fc.oneof(
  { arbitrary: urlLike, weight: 4 },
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.string({ unit: 'binary' })
)

/** `…?` and `…#`: a URL whose query or fragment is present but empty (search and hash are ''). */
function emptyQueryOrFragment(raw: string): boolean {
  try {
    const url = new URL(raw)
    return (url.href.includes('?') && url.search === '') || (url.href.includes('#') && url.hash === '')
  } catch {
    return false
  }
}

/** Returns a Keystone v3 base URL (…/v3, no trailing slash, stable under a second pass) or throws a UserError. */
function normalizesOrRefuses(raw: string): void {
  let result: string
  try {
    result = normalizeAuthUrl(raw, 'input `auth-url`')
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    return
  }
  expect(result.endsWith('/v3')).toBe(true)
  expect(result.endsWith('/')).toBe(false)
  expect(normalizeAuthUrl(result, 'input `auth-url`')).toBe(result)
  const url = new URL(result)
  expect(['http:', 'https:']).toContain(url.protocol)
  expect(url.username + url.password + url.search + url.hash).toBe('')
}

describe('normalizeAuthUrl', () => {
  test('any input that has no empty query or fragment: a …/v3 URL, idempotent, or a UserError', () => {
    fc.assert(
      fc.property(anyAuthUrl, raw => {
        fc.pre(!emptyQueryOrFragment(raw))
        normalizesOrRefuses(raw)
      }),
      RUNS
    )
  })

  // new URL('https://k/v3?').search === '' (and .hash for a bare '#'): the query/fragment check
  // lets it through and the result keeps the '?' or '#', so `${authUrl}/auth/tokens` becomes
  // https://k/v3?/auth/tokens (a query on /v3) or https://k/v3#/auth/tokens (a fragment).
  test('[wrong today] any input at all, a trailing bare ? or # included', () => {
    fc.assert(
      fc.property(anyAuthUrl, raw => normalizesOrRefuses(raw)),
      { ...RUNS, examples: [['https://keystone.example.com/v3?'], ['https://keystone.example.com/v3#'], ['https://keystone.example.com/?#']] }
    )
  })
})

// ── parseKeystoneTime ───────────────────────────────────────────────────────────────────────────

const pad = (n: number, width: number) => String(n).padStart(width, '0')
const EPOCH = new Date(Date.UTC(1970, 0, 1))
const END_9999 = new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999))

/** Keystone's format: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the last three digits being microseconds. */
const keystoneFormat = (date: Date, micros: number) => date.toISOString().replace(/\.(\d{3})Z$/, `.$1${pad(micros, 3)}Z`)

describe('parseKeystoneTime', () => {
  test('round-trips any date of 1970-9999 written the Keystone way', () => {
    fc.assert(
      fc.property(fc.date({ min: EPOCH, max: END_9999, noInvalidDate: true }), fc.integer({ min: 0, max: 999 }), (date, micros) => {
        const text = keystoneFormat(date, micros)
        expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
        expect(parseKeystoneTime(text)?.getTime()).toBe(date.getTime())
      }),
      RUNS
    )
  })

  test('round-trips the same instant written with a UTC offset', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(Date.UTC(1971, 0, 1)), max: new Date(Date.UTC(9998, 11, 31)), noInvalidDate: true }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        fc.boolean(),
        (date, offsetMinutes, colon) => {
          const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().replace(/Z$/, '')
          const abs = Math.abs(offsetMinutes)
          const zone = `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60), 2)}${colon ? ':' : ''}${pad(abs % 60, 2)}`
          expect(parseKeystoneTime(`${local}${zone}`)?.getTime()).toBe(date.getTime())
        }
      ),
      RUNS
    )
  })

  const digits = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n })
  /** Timestamp-shaped strings with every field free: months 00-99, days 00-99, zones ±99:99. */
  const timestampShaped = fc
    .record({
      y: digits(4),
      mo: digits(2),
      d: digits(2),
      h: digits(2),
      mi: digits(2),
      s: digits(2),
      fraction: fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 9 }), { nil: undefined }),
      zone: fc.oneof(
        fc.constant('Z'),
        fc.tuple(fc.constantFrom('+', '-'), digits(2), fc.constantFrom('', ':'), digits(2)).map(parts => parts.join(''))
      )
    })
    .map(t => `${t.y}-${t.mo}-${t.d}T${t.h}:${t.mi}:${t.s}${t.fraction !== undefined ? `.${t.fraction}` : ''}${t.zone}`)

  test('on any string: never throws, and returns undefined or a valid Date', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), timestampShaped, fc.string({ unit: 'grapheme-ascii' })), text => {
        const result = parseKeystoneTime(text)
        if (result !== undefined) {
          expect(result).toBeInstanceOf(Date)
          expect(Number.isNaN(result.getTime())).toBe(false)
        }
      }),
      RUNS
    )
  })

  test('on arbitrary text (not timestamp-shaped): undefined', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), text => {
        fc.pre(!/^\d{4}-\d\d-\d\dT/.test(text))
        expect(parseKeystoneTime(text)).toBeUndefined()
      }),
      RUNS
    )
  })
})

// ── resolveConfig ───────────────────────────────────────────────────────────────────────────────

/** Every secret generated contains this; no other value does, so it appearing in a message is a leak. */
const MARKER = 'Zq9SeCrEt'
const INPUT_NAMES = Object.keys(INPUT_FALLBACKS) as InputName[]
const ENV_NAMES = [...new Set(Object.values(INPUT_FALLBACKS).flat())]
const PROTOTYPE_KEYS = ['constructor', '__proto__']

const secretValue = fc.oneof(
  fc.tuple(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 })).map(([a, b]) => `${a}${MARKER}${b}`),
  fc.constantFrom(MARKER, ` ${MARKER} `, `${MARKER}\n`, `\r\n${MARKER}\r\n`, `${MARKER}\nsecond line`, `${MARKER}\u0000`, MARKER.repeat(500)),
  fc.constantFrom('', '\n')
)
const meaningful = fc.constantFrom(
  '',
  ' ',
  'true',
  'false',
  'True',
  'maybe',
  'all',
  'ALL',
  'yes',
  'public',
  'internalURL',
  'admin',
  'private',
  'toString',
  'hasOwnProperty',
  'password',
  'application-credential',
  'Default',
  'p1',
  'u1',
  'd1',
  'ac1',
  'alice',
  '30',
  '5m',
  '0',
  '7h',
  '90s',
  'http://127.0.0.1:5000/v3',
  'https://keystone.example.com/v3/',
  'https://k.example:5000',
  'ftp://k',
  'https://u:p@k/v3',
  'https://k/v3?x=1',
  'x\ny',
  ' a\tb ',
  'x'.repeat(1025)
)
const plainValue = (extra: string[]) =>
  fc
    .oneof(
      { arbitrary: meaningful, weight: 4 },
      { arbitrary: fc.constantFrom(...extra, ''), weight: 1 },
      { arbitrary: fc.string({ unit: 'binary', maxLength: 24 }), weight: 1 }
    )
    .filter(v => !v.includes(MARKER))
const authTypes = [
  '',
  'password',
  'v3password',
  'v3applicationcredential',
  'application_credential',
  'token',
  'v3token',
  'v3oidcpassword',
  'PASSWORD',
  'toString'
]

/** Login templates that are valid as they stand: most generated cases start from one and break a few things. */
const TEMPLATES: { inputs: Partial<Record<InputName, string>>; env: Record<string, string>; secret: string }[] = [
  { inputs: { 'auth-url': 'https://k.example/v3', 'user-id': 'u1', 'project-id': 'p1' }, env: {}, secret: 'password' },
  {
    inputs: { 'auth-url': 'http://127.0.0.1:5000', username: 'alice', 'user-domain-name': 'Default', 'project-name': 'web' },
    env: {},
    secret: 'password'
  },
  { inputs: { 'auth-url': 'https://k.example:5000/v2.0/', 'application-credential-id': 'ac1' }, env: {}, secret: 'application-credential-secret' },
  {
    inputs: {},
    env: { OS_AUTH_URL: 'https://k.example/v3', OS_USERNAME: 'alice', OS_USER_DOMAIN_NAME: 'Default', OS_TENANT_NAME: 'web' },
    secret: 'OS_PASSWORD'
  },
  { inputs: {}, env: { OS_AUTH_URL: 'https://k.example/v3', OS_APPLICATION_CREDENTIAL_ID: 'ac1' }, secret: 'OS_APPLICATION_CREDENTIAL_SECRET' }
]

function configInput(prototypeKeys: boolean): fc.Arbitrary<[Partial<Record<InputName, string>>, Record<string, string>]> {
  const extra = prototypeKeys ? PROTOTYPE_KEYS : []
  const isSecret = (name: string) => (SECRET_INPUTS as readonly string[]).includes(name) || /PASSWORD|SECRET/.test(name)
  const valueFor = (name: string): fc.Arbitrary<string> =>
    isSecret(name)
      ? secretValue
      : name === 'OS_AUTH_TYPE'
        ? fc.oneof(
            fc.constantFrom(...authTypes, ...extra),
            fc.string({ maxLength: 12 }).filter(v => prototypeKeys || !PROTOTYPE_KEYS.includes(v.trim().toLowerCase()))
          )
        : plainValue(extra)
  const entries = (names: string[], maxLength: number) =>
    fc
      .array(
        fc.constantFrom(...names).chain(name => fc.tuple(fc.constant(name), valueFor(name))),
        { maxLength }
      )
      .map(pairs => Object.fromEntries(pairs))
  const envNames = [...ENV_NAMES, 'OS_AUTH_TYPE']
  // A valid login with up to three inputs and three variables changed or added.
  const mutated = fc
    .tuple(fc.constantFrom(...TEMPLATES), secretValue, entries(INPUT_NAMES, 3), entries(envNames, 3))
    .map(([template, secret, inputs, env]): [Partial<Record<InputName, string>>, Record<string, string>] => {
      const base = template.secret.startsWith('OS_')
        ? { env: { ...template.env, [template.secret]: secret }, inputs: template.inputs }
        : { env: template.env, inputs: { ...template.inputs, [template.secret]: secret } }
      return [
        { ...base.inputs, ...inputs },
        { ...base.env, ...env }
      ]
    })
  // Anything at all, every field drawn on its own.
  const random = fc.tuple(
    fc.record(Object.fromEntries(INPUT_NAMES.map(name => [name, valueFor(name)])) as Record<InputName, fc.Arbitrary<string>>, { requiredKeys: [] }),
    fc.record(Object.fromEntries(envNames.map(name => [name, valueFor(name)])), { requiredKeys: [] }) as fc.Arbitrary<Record<string, string>>
  )
  return fc.oneof({ arbitrary: mutated, weight: 3 }, { arbitrary: random, weight: 1 })
}

/** A well-formed configuration, or a UserError whose message is one line and shows no secret. */
function configOrUserError(inputs: Partial<Record<InputName, string>>, env: Record<string, string>): void {
  let config: ActionConfig
  try {
    config = resolveConfig(source(inputs, env))
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    const message = (error as Error).message
    expect(message).not.toContain(MARKER)
    // eslint-disable-next-line no-control-regex
    expect(message).not.toMatch(/[\u0000-\u001f\u007f]/)
    return
  }
  expect(config.authUrl).toMatch(/^https?:\/\/[^/]/)
  expect(['password', 'application-credential', 'oidc']).toContain(config.credentials.method)
  expect(['project', 'domain', 'system', 'default']).toContain(config.scope.kind)
  expect([undefined, 'public', 'internal', 'admin']).toContain(config.interface)
  expect(typeof config.revoke).toBe('boolean')
  expect(typeof config.exportEnv).toBe('boolean')
  // eslint-disable-next-line no-control-regex
  if (config.region !== undefined) expect(config.region).not.toMatch(/[\u0000-\u001f\u007f]/)
  for (const warning of config.warnings) expect(warning).not.toContain(MARKER)
  const { credentials } = config
  // A keyless login carries no secret at all (only an identity provider was generated).
  if (credentials.method === 'oidc') return
  const secret =
    credentials.method === 'password' ? credentials.password : credentials.method === 'oidc-client' ? credentials.clientSecret : credentials.secret
  expect(secret).toContain(MARKER)
}

describe('resolveConfig', () => {
  test('on arbitrary inputs and env: a well-formed config, or a UserError that shows no secret', () => {
    fc.assert(
      fc.property(configInput(false), ([inputs, env]) => configOrUserError(inputs, env)),
      { numRuns: 3000 }
    )
  })

  test('the generator reaches valid configurations as well as errors', () => {
    let valid = 0
    let refused = 0
    fc.assert(
      fc.property(configInput(false), ([inputs, env]) => {
        try {
          resolveConfig(source(inputs, env))
          valid++
        } catch {
          refused++
        }
      }),
      { numRuns: 3000 }
    )
    expect(valid).toBeGreaterThan(10)
    expect(refused).toBeGreaterThan(10)
  })

  // Lookups like INTERFACES[value.toLowerCase()] and AUTH_TYPE_METHODS[authType] read
  // Object.prototype: `constructor` and `__proto__` come back as a function or an object.
  test('[wrong today] the same with values that name Object.prototype members (constructor, __proto__)', () => {
    fc.assert(
      fc.property(configInput(true), ([inputs, env]) => configOrUserError(inputs, env)),
      {
        numRuns: 3000,
        examples: [[[{ 'auth-url': 'https://k/v3', 'user-id': 'u1', password: MARKER, interface: 'constructor' }, {}]]]
      }
    )
  })

  test('[wrong today] interface: __proto__ is refused like any unknown interface', () => {
    expect(() => resolveConfig(source({ 'auth-url': 'https://k/v3', 'user-id': 'u1', password: 'pw', interface: '__proto__' }))).toThrow(
      /use public, internal or admin/
    )
  })

  test('[wrong today] OS_AUTH_TYPE=constructor is ignored like any unknown auth type', () => {
    const config = resolveConfig(
      source(
        { 'auth-url': 'https://k/v3', 'application-credential-id': 'ac1', 'application-credential-secret': 's', 'project-name': 'web' },
        { OS_AUTH_TYPE: 'constructor' }
      )
    )
    expect(config.credentials.method).toBe('application-credential')
  })
})

// ── oneLine ─────────────────────────────────────────────────────────────────────────────────────

/** Strings rich in the characters that break lines or terminals. */
const nasty = fc.string({
  unit: fc.constantFrom(
    '\n',
    '\r',
    '\t',
    '\u0000',
    '\u001b',
    '\u007f',
    '\u0085',
    '\u009b',
    '\u2028',
    '\u2029',
    '\u00a0',
    ' ',
    'a',
    'é',
    '😀',
    '[',
    '3',
    '1',
    'm'
  ),
  maxLength: 60
})
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 500 }), nasty, fc.string({ unit: 'grapheme', maxLength: 400 }))
const maxLength = fc.integer({ min: 1, max: 400 })

describe('oneLine', () => {
  test('never returns a C0 control, DEL or line separator; respects max; trimmed; idempotent', () => {
    fc.assert(
      fc.property(anyText, maxLength, (text, max) => {
        const line = oneLine(text, max)
        // eslint-disable-next-line no-control-regex
        expect(line).not.toMatch(/[\u0000-\u001f\u007f\u2028\u2029]/)
        expect(line.length).toBeLessThanOrEqual(max)
        expect(line).toBe(line.trim())
        expect(oneLine(line, max)).toBe(line)
      }),
      RUNS
    )
  })

  test('the default max is 300', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 0, maxLength: 1000 }), text => expect(oneLine(text).length).toBeLessThanOrEqual(300)),
      RUNS
    )
  })

  // Unicode's control characters (category Cc) are U+0000-U+001F, U+007F and U+0080-U+009F.
  // oneLine strips the first two ranges only: NEL (U+0085, a line break in Unicode) and CSI
  // (U+009B, the 8-bit form of ESC [) go through to the log.
  test('[wrong today] never returns any control character (Unicode Cc, C1 included)', () => {
    fc.assert(
      fc.property(anyText, maxLength, (text, max) => expect(oneLine(text, max)).not.toMatch(/\p{Cc}/u)),
      {
        ...RUNS,
        examples: [
          ['line one\u0085line two', 300],
          ['\u009b31mred', 300]
        ]
      }
    )
  })
})

describe('parseRetryAfter', () => {
  test('any header value: undefined, or a finite wait of 0 or more, never a throw', () => {
    fc.assert(
      fc.property(fc.option(fc.string(), { nil: undefined }), fc.integer({ min: 0, max: 4_102_444_800_000 }), (value, now) => {
        const wait = parseRetryAfter(value, now)
        if (wait !== undefined) {
          expect(Number.isFinite(wait) || wait === Infinity).toBe(true)
          expect(wait).toBeGreaterThanOrEqual(0)
        }
      }),
      { numRuns: 3000 }
    )
  })

  test('an HTTP date round-trips to the wait until it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 86_400 }), fc.integer({ min: 0, max: 2_000_000_000 }), (seconds, nowSeconds) => {
        const now = nowSeconds * 1000
        expect(parseRetryAfter(new Date(now + seconds * 1000).toUTCString(), now)).toBe(seconds * 1000)
        expect(parseRetryAfter(String(seconds), now)).toBe(seconds * 1000)
      })
    )
  })
})
