import { createCipheriv, randomBytes, scryptSync } from 'node:crypto'
import fc from 'fast-check'
import { UserError } from '../src/errors.js'
import {
  MAX_SHARED_TOKEN_LENGTH,
  MIN_SHARE_KEY_LENGTH,
  sealSharedToken,
  unsealSharedToken,
  type ShareBinding,
  type SharedTokenPayload
} from '../src/share/sealed-token.js'

/**
 * The shared token crosses from one job to the others as a job output, which must be assumed
 * readable: it has to open only with the key, only in the run that sealed it, only while the
 * token is valid, and every refusal must be a UserError that shows neither the token nor the key.
 * Each seal and each unseal that gets as far as the key costs one scrypt (~80 ms): the tests seal
 * once where they can, and the properties run fewer cases than the cheap ones elsewhere.
 */

const KEY = 'Jd3q7m0s1XoQ8yVh2sZ4k9tB6eWc5rNa0uLp3iGf7T8='
const TOKEN = `gAAAAABo${'x7Kq-Zp_3vRt9WmN2bYc'.repeat(9)}Q`
const NOW = new Date('2026-08-21T10:00:00Z')
const PAYLOAD: SharedTokenPayload = {
  token: TOKEN,
  authUrl: 'https://auth.cloud.ovh.net/v3',
  expiresAt: '2026-08-21T22:00:00.000Z',
  issuedAt: '2026-08-21T09:59:58.000Z',
  scope: { projectId: '5f1c0a', projectName: 'proj2', projectDomainId: 'default' },
  userId: 'u-42',
  region: 'GRA11',
  interface: 'public',
  methods: ['password']
}
const RUN: ShareBinding = { repository: 'acme/deploy', repositoryId: '123456', runId: '987654321', runAttempt: '1' }
const SECRETS = [TOKEN, KEY]

let sealed: string
beforeAll(() => {
  sealed = sealSharedToken(PAYLOAD, KEY, RUN)
})

/** Runs a call that must be refused; returns its UserError after checking it leaks nothing. */
function refusal(call: () => unknown, ...secrets: string[]): UserError {
  let caught: unknown
  try {
    call()
  } catch (error) {
    caught = error
  }
  if (!(caught instanceof UserError)) throw new Error(`expected a UserError, got ${caught === undefined ? 'no error' : String(caught)}`)
  expectCleanMessage(caught, ...secrets)
  return caught
}

/** One line, one sentence, no secret. */
function expectCleanMessage(error: UserError, ...secrets: string[]): void {
  expect(error.message).not.toMatch(/[\r\n]/)
  expect(error.message).toMatch(/\.$/)
  for (const secret of [...SECRETS, ...secrets]) expect(error.message).not.toContain(secret)
}

function unseal(text: string, options: { key?: string; binding?: ShareBinding; now?: Date; minValidityMs?: number } = {}): SharedTokenPayload {
  return unsealSharedToken(text, options.key ?? KEY, options.binding ?? RUN, options.now ?? NOW, { minValidityMs: options.minValidityMs })
}

/** Replaces one character of a part with another base64url character that changes its bytes. */
function tamper(text: string, part: number): string {
  const parts = text.split('.')
  const first = parts[part]![0]!
  parts[part] = (first === 'A' ? 'B' : 'A') + parts[part]!.slice(1)
  return parts.join('.')
}

const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64url')

/**
 * The envelope as the module's header comment specifies it, built independently: whatever is
 * sealed here with the right key and run opens, so the format is what the comment says, and the
 * module's checks after decryption can be reached with contents the module would never seal.
 */
function sealByHand(plaintext: string, binding: string[] = ['acme/deploy', '123456', '987654321', '1']): string {
  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const header = ['ost1', b64(JSON.stringify(binding)), b64(salt), b64(iv)].join('.')
  const key = scryptSync(KEY, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(header))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return [header, b64(ciphertext), b64(cipher.getAuthTag())].join('.')
}

describe('round trip', () => {
  test('what is sealed is what is unsealed, in the same run', () => {
    expect(unseal(sealed)).toEqual(PAYLOAD)
  })

  test('the smallest payload: no region, interface, methods or scope', () => {
    const minimal: SharedTokenPayload = {
      token: 't',
      authUrl: 'http://127.0.0.1:5000/v3',
      expiresAt: '2026-08-21T11:00:00Z',
      issuedAt: '2026-08-21T10:00:00Z',
      scope: {},
      userId: 'u'
    }
    expect(unseal(sealSharedToken(minimal, KEY, RUN))).toEqual(minimal)
  })

  test('a system-scoped token keeps its scope', () => {
    const system = { ...PAYLOAD, scope: { system: true } }
    expect(unseal(sealSharedToken(system, KEY, RUN)).scope).toEqual({ system: true })
  })

  test('a later attempt of the same run opens it: "Re-run failed jobs" reuses the producer\'s output', () => {
    expect(unseal(sealed, { binding: { ...RUN, runAttempt: '3' } })).toEqual(PAYLOAD)
  })

  test('without GITHUB_REPOSITORY_ID and GITHUB_RUN_ATTEMPT on either side', () => {
    const bare: ShareBinding = { repository: 'acme/deploy', runId: '987654321' }
    expect(unseal(sealSharedToken(PAYLOAD, KEY, bare), { binding: bare })).toEqual(PAYLOAD)
  })

  test('surrounding whitespace (a pasted value, a trailing newline) is ignored', () => {
    expect(unseal(`  ${sealed}\n`)).toEqual(PAYLOAD)
  })

  test('only the known fields are sealed: whatever else the caller holds stays out', () => {
    const withExtra = { ...PAYLOAD, password: 'user2-secret-Pa55', scope: { ...PAYLOAD.scope, catalog: ['x'] } } as SharedTokenPayload
    const opened = unseal(sealSharedToken(withExtra, KEY, RUN))
    expect(opened).toEqual(PAYLOAD)
    expect(JSON.stringify(opened)).not.toContain('user2-secret-Pa55')
  })

  test('two seals of the same token differ (random salt and IV)', () => {
    const again = sealSharedToken(PAYLOAD, KEY, RUN)
    expect(again).not.toBe(sealed)
    expect(again.split('.')[2]).not.toBe(sealed.split('.')[2])
    expect(again.split('.')[3]).not.toBe(sealed.split('.')[3])
  })

  test('an envelope built by hand to the documented format opens', () => {
    expect(unseal(sealByHand(JSON.stringify(PAYLOAD)))).toEqual(PAYLOAD)
  })
})

describe('the envelope', () => {
  test('one URL-safe line: ost1 and five base64url parts', () => {
    expect(sealed).toMatch(/^ost1(\.[A-Za-z0-9_-]+){5}$/)
    expect(encodeURIComponent(sealed)).toBe(sealed)
  })

  test('the binding is readable in clear; salt, IV and tag have their sizes', () => {
    const [, binding, salt, iv, , tag] = sealed.split('.') as string[]
    expect(JSON.parse(Buffer.from(binding!, 'base64url').toString())).toEqual(['acme/deploy', '123456', '987654321', '1'])
    expect(Buffer.from(salt!, 'base64url')).toHaveLength(16)
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12)
    expect(Buffer.from(tag!, 'base64url')).toHaveLength(16)
  })

  test('the token is nowhere in it: not in clear, not base64-encoded, not even a 12-character piece', () => {
    expect(sealed).not.toContain(TOKEN)
    expect(sealed).not.toContain(b64(TOKEN).slice(4, -4))
    expect(sealed).not.toContain(Buffer.from(TOKEN).toString('base64').slice(4, -4))
    for (let i = 0; i + 12 <= TOKEN.length; i++) expect(sealed).not.toContain(TOKEN.slice(i, i + 12))
    expect(sealed).not.toContain(KEY)
  })

  test('bounded: the largest token Keystone may send (8 KB) with its details fits', () => {
    const big = {
      ...PAYLOAD,
      token: 'P'.repeat(8192),
      authUrl: `https://${'k'.repeat(200)}.example/v3`,
      scope: { projectId: 'i'.repeat(64), projectName: 'n'.repeat(64), projectDomainId: 'd'.repeat(64) }
    }
    const envelope = sealSharedToken(big, KEY, RUN)
    expect(envelope.length).toBeLessThanOrEqual(MAX_SHARED_TOKEN_LENGTH)
    expect(unseal(envelope).token).toBe(big.token)
  })

  test('a payload too big to share is refused when sealing', () => {
    const huge = {
      ...PAYLOAD,
      token: 'P'.repeat(8192),
      authUrl: 'u'.repeat(1024),
      region: 'r'.repeat(1024),
      interface: 'i'.repeat(1024),
      userId: 'x'.repeat(1024)
    }
    expect(refusal(() => sealSharedToken(huge, KEY, RUN)).message).toMatch(
      /^The token and its details take \d+ bytes, more than the 12288 a shared token can carry: /
    )
  })
})

describe('a damaged envelope', () => {
  test.each([
    [2, 'salt'],
    [3, 'IV'],
    [4, 'ciphertext'],
    [5, 'tag']
  ])('a byte changed in part %i (%s): does not open', part => {
    const error = refusal(() => unseal(tamper(sealed, part)))
    expect(error.message).toBe(
      "The shared token does not open with this `share-key`: either the key differs from the producer job's or the token was altered on the way (the two cannot be told apart), so check that both jobs read the same secret and pass the output unmodified."
    )
  })

  test('a byte changed in the binding: unreadable, or names another run, or does not open', () => {
    const error = refusal(() => unseal(tamper(sealed, 1)))
    expect(error.message).toMatch(/truncated or damaged|sealed for|sealed in run|does not open/)
  })

  test('the clear binding rewritten to name this run does not open: it is authenticated', () => {
    const otherRun: ShareBinding = { ...RUN, runId: '111' }
    const parts = sealSharedToken(PAYLOAD, KEY, otherRun).split('.')
    parts[1] = b64(JSON.stringify(['acme/deploy', '123456', '987654321', '1']))
    expect(refusal(() => unseal(parts.join('.'))).message).toMatch(/^The shared token does not open with this `share-key`/)
  })

  test('the attempt number is authenticated too', () => {
    const parts = sealed.split('.')
    parts[1] = b64(JSON.stringify(['acme/deploy', '123456', '987654321', '2']))
    expect(refusal(() => unseal(parts.join('.'))).message).toMatch(/does not open/)
  })

  test('a non-canonical base64url character (unused low bits set) is refused, not silently read', () => {
    const parts = sealed.split('.')
    const tag = parts[5]!
    // 16 bytes are 22 characters; the last one carries 2 bits and 4 unused ones.
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(tag.at(-1)!)
    parts[5] = tag.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last | 1]!
    expect(refusal(() => unseal(parts.join('.'))).message).toMatch(/truncated or damaged \(a part is not base64url\)/)
  })

  test('every truncation is refused before any key derivation', () => {
    for (let length = 1; length < sealed.length; length++) {
      const error = refusal(() => unseal(sealed.slice(0, length)))
      expect(error.message).toMatch(/truncated or damaged|is not a token shared by openstack-token/)
    }
  })

  test('truncated in the tag: says so', () => {
    expect(refusal(() => unseal(sealed.slice(0, -3))).message).toMatch(
      /^`shared-token` is truncated or damaged \((its tag is 14 bytes, not 16|a part is not base64url)\): pass the producer job's `shared-token` output whole and unmodified\.$/
    )
  })

  test('a missing part', () => {
    const parts = sealed.split('.')
    expect(refusal(() => unseal([...parts.slice(0, 3), ...parts.slice(4)].join('.'))).message).toBe(
      "`shared-token` is truncated or damaged (6 dot-separated parts expected, 5 found): pass the producer job's `shared-token` output whole and unmodified."
    )
  })

  test('empty: says where the value comes from', () => {
    for (const empty of ['', '  ', '\n']) {
      expect(refusal(() => unseal(empty)).message).toMatch(
        /^`shared-token` is empty: pass the producer job's output, `\$\{\{ needs\.<job>\.outputs\.shared-token \}\}`/
      )
    }
  })

  test('the Keystone token itself instead of the shared one', () => {
    expect(refusal(() => unseal(TOKEN)).message).toBe(
      "`shared-token` is not a token shared by openstack-token (one line starting with `ost1.`): pass the producer job's `shared-token` output whole and unmodified, not the Keystone token itself."
    )
  })

  test('two lines', () => {
    const [head, tail] = [sealed.slice(0, 40), sealed.slice(40)]
    expect(refusal(() => unseal(`${head}\n${tail}`)).message).toMatch(/is not a token shared by openstack-token/)
  })

  test('a later format', () => {
    expect(refusal(() => unseal(sealed.replace(/^ost1/, 'ost2'))).message).toBe(
      '`shared-token` has format ost2, which this version of openstack-token cannot read (it reads ost1): use the same version of openstack-token in the producer and consumer jobs.'
    )
  })

  test('too long', () => {
    expect(refusal(() => unseal(`${sealed}${'A'.repeat(MAX_SHARED_TOKEN_LENGTH)}`)).message).toMatch(
      /^`shared-token` is \d+ characters long, more than a shared token can be \(20000\): /
    )
  })

  test('authentic but not a payload this version reads (a producer on another version)', () => {
    const { token: _token, ...noToken } = PAYLOAD
    expect(refusal(() => unseal(sealByHand(JSON.stringify(noToken)))).message).toBe(
      'The shared token opened but does not hold what this version of openstack-token expects (token): use the same version of openstack-token in the producer and consumer jobs.'
    )
    expect(refusal(() => unseal(sealByHand('not json'))).message).toMatch(/\(not an object\)/)
    expect(refusal(() => unseal(sealByHand(JSON.stringify({ ...PAYLOAD, expiresAt: 'tomorrow' })))).message).toMatch(/\(expiresAt\)/)
  })
})

describe('the key', () => {
  test('another key does not open it, and the message says a wrong key and an alteration look alike', () => {
    const other = 'another-secret-of-the-right-length-0123456789'
    expect(refusal(() => unseal(sealed, { key: other }), other).message).toMatch(
      /either the key differs .* or the token was altered .*cannot be told apart/
    )
  })

  test('an empty key (a secret not set, or a fork) is refused on both sides', () => {
    const message =
      '`share-key` is empty: set it from a repository secret made with `openssl rand -base64 32` (workflows triggered from a fork get no secrets).'
    expect(refusal(() => sealSharedToken(PAYLOAD, '', RUN)).message).toBe(message)
    expect(refusal(() => unseal(sealed, { key: '' })).message).toBe(message)
  })

  test('a short key is refused on both sides, with how to make a good one', () => {
    const message = `\`share-key\` is shorter than ${MIN_SHARE_KEY_LENGTH} characters, too weak to protect a token that may be read by anyone who can see the run: set the secret to a random value such as the output of \`openssl rand -base64 32\`.`
    for (const weak of ['hunter2', 'x'.repeat(MIN_SHARE_KEY_LENGTH - 1), '🔑'.repeat(MIN_SHARE_KEY_LENGTH - 1)]) {
      expect(refusal(() => sealSharedToken(PAYLOAD, weak, RUN), weak).message).toBe(message)
      expect(refusal(() => unseal(sealed, { key: weak }), weak).message).toBe(message)
    }
  })

  test('16 characters are enough (scrypt does the rest), non-ASCII included', () => {
    // 16 code points, 17 UTF-16 units: counted as a person counts what they typed.
    const key = 'mot de passe é🔑!'
    expect([...key]).toHaveLength(MIN_SHARE_KEY_LENGTH)
    expect(unseal(sealSharedToken(PAYLOAD, key, RUN), { key })).toEqual(PAYLOAD)
  })
})

describe('another repository or run', () => {
  test('another repository: names both', () => {
    const error = refusal(() => unseal(sealed, { binding: { ...RUN, repository: 'evil/fork', repositoryId: '666' } }))
    expect(error.message).toBe(
      'This shared token was sealed for repository acme/deploy (id 123456), not evil/fork (id 666): a shared token works only in the workflow run that produced it, so take it from a job of this run listed under `needs:`.'
    )
  })

  test('a repository that took the name of the one that sealed it (another GITHUB_REPOSITORY_ID)', () => {
    expect(refusal(() => unseal(sealed, { binding: { ...RUN, repositoryId: '777' } })).message).toMatch(
      /^This shared token was sealed for repository acme\/deploy \(id 123456\), not acme\/deploy \(id 777\): /
    )
  })

  test('another run of the same repository: names both runs', () => {
    expect(refusal(() => unseal(sealed, { binding: { ...RUN, runId: '987654322', runAttempt: '1' } })).message).toBe(
      'This shared token was sealed in run 987654321 (attempt 1) of acme/deploy, and this is run 987654322: a shared token works only in the workflow run that produced it, so take it from a job of this run listed under `needs:`.'
    )
  })

  test('outside a workflow run (no GITHUB_* variables) neither side works', () => {
    expect(refusal(() => sealSharedToken(PAYLOAD, KEY, { repository: '', runId: '1' })).message).toBe(
      'GITHUB_REPOSITORY is missing or not owner/repo: a shared token can only be sealed and opened inside a GitHub Actions workflow run, which sets it.'
    )
    expect(refusal(() => unseal(sealed, { binding: { repository: 'acme/deploy', runId: '' } })).message).toMatch(
      /^GITHUB_RUN_ID is missing or not a number: /
    )
    expect(refusal(() => unseal(sealed, { binding: { ...RUN, runAttempt: 'x' } })).message).toMatch(/^GITHUB_RUN_ATTEMPT is not a number: /)
  })
})

describe('expiry', () => {
  test('expired: says when, and which re-run issues a new one', () => {
    const now = new Date('2026-08-21T22:00:00Z')
    expect(refusal(() => unseal(sealed, { now })).message).toBe(
      'The shared token expired at 2026-08-21T22:00:00Z (now 2026-08-21T22:00:00Z): re-run all jobs of the workflow so the producer job issues a new one (re-running only the failed jobs reuses the old token).'
    )
    expect(refusal(() => unseal(sealed, { now: new Date('2026-08-23T00:00:00Z') })).message).toMatch(
      /^The shared token expired at 2026-08-21T22:00:00Z /
    )
  })

  test('valid for less than min-validity: says when, how long, and what to do', () => {
    const now = new Date('2026-08-21T21:23:00Z')
    expect(refusal(() => unseal(sealed, { now, minValidityMs: 2 * 3_600_000 })).message).toBe(
      'The shared token expires at 2026-08-21T22:00:00Z, in 37 min, sooner than min-validity 2 h: re-run all jobs of the workflow so the producer job issues a new one (re-running only the failed jobs reuses the old token), or lower min-validity.'
    )
  })

  test('valid for exactly min-validity, or more: accepted', () => {
    expect(unseal(sealed, { now: new Date('2026-08-21T20:00:00Z'), minValidityMs: 2 * 3_600_000 })).toEqual(PAYLOAD)
    expect(unseal(sealed, { minValidityMs: 2 * 3_600_000 })).toEqual(PAYLOAD)
  })

  test("ignoreExpiry opens a token that this runner's clock says has expired (Keystone is asked instead)", () => {
    const late = new Date('2026-08-21T22:00:01Z')
    expect(refusal(() => unseal(sealed, { now: late })).message).toMatch(/^The shared token expired at/)
    expect(unsealSharedToken(sealed, KEY, RUN, late, { ignoreExpiry: true })).toEqual(PAYLOAD)
  })

  test('an invalid payload handed to seal is a bug of the caller, not a UserError', () => {
    const bad = { ...PAYLOAD, expiresAt: 'soon' }
    expect(() => sealSharedToken(bad, KEY, RUN)).toThrow(/invalid payload \(expiresAt\)/)
    expect(() => sealSharedToken(bad, KEY, RUN)).not.toThrow(UserError)
    expect(() => sealSharedToken({ ...PAYLOAD, token: 'has space' }, KEY, RUN)).toThrow(/invalid payload \(token\)/)
  })
})

describe('properties', () => {
  const text = fc.string({ maxLength: 40, unit: 'grapheme' })
  const iso = (min: number, max: number) => fc.integer({ min, max }).map(ms => new Date(ms).toISOString())
  const payload: fc.Arbitrary<SharedTokenPayload> = fc.record(
    {
      token: fc.string({ minLength: 1, maxLength: 300, unit: fc.integer({ min: 0x21, max: 0x7e }).map(c => String.fromCharCode(c)) }),
      authUrl: fc.webUrl(),
      expiresAt: iso(NOW.getTime() + 1, NOW.getTime() + 7 * 86_400_000),
      issuedAt: iso(NOW.getTime() - 86_400_000, NOW.getTime()),
      scope: fc.record(
        { projectId: text, projectName: text, projectDomainId: text, domainId: text, domainName: text, system: fc.boolean() },
        { requiredKeys: [] }
      ),
      userId: fc.string({ minLength: 1, maxLength: 64 }),
      region: text,
      interface: fc.constantFrom('public', 'internal', 'admin'),
      methods: fc.array(fc.constantFrom('password', 'application_credential', 'token', 'totp'), { maxLength: 3 })
    },
    { requiredKeys: ['token', 'authUrl', 'expiresAt', 'issuedAt', 'scope', 'userId'] }
  )

  test('random payloads round-trip, and the token never shows in the envelope', () => {
    fc.assert(
      fc.property(payload, p => {
        const envelope = sealSharedToken(p, KEY, RUN)
        expect(envelope).toMatch(/^ost1(\.[A-Za-z0-9_-]+){5}$/)
        if (p.token.length >= 12) expect(envelope).not.toContain(p.token)
        expect(unseal(envelope)).toEqual(p)
      }),
      { numRuns: 15 }
    )
  }, 60_000)

  /** Refused with a clean UserError, never returned and never another error. */
  function refusedCleanly(candidate: string): void {
    refusal(() => unseal(candidate))
  }

  test('arbitrary text is refused with a UserError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), refusedCleanly), { numRuns: 2000 })
  })

  test('envelope-shaped text is refused with a UserError', () => {
    const part = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_='), maxLength: 40 })
    const shaped = fc
      .tuple(fc.constantFrom('ost1', 'ost2', 'ost', 'OST1', 'ost01'), fc.array(part, { maxLength: 8 }))
      .map(([version, parts]) => [version, ...parts].join('.'))
    fc.assert(fc.property(shaped, refusedCleanly), { numRuns: 2000 })
  })

  test('envelopes with a valid header and random body are refused with a UserError', () => {
    const [version, binding, salt, iv] = sealed.split('.') as string[]
    const body = fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.uint8Array({ minLength: 14, maxLength: 18 }))
    fc.assert(
      fc.property(body, ([ciphertext, tag]) =>
        refusedCleanly([version, binding, salt, iv, b64(Buffer.from(ciphertext)), b64(Buffer.from(tag))].join('.'))
      ),
      { numRuns: 40 }
    )
  }, 60_000)

  test('any one-character change, insertion or deletion of a real envelope is refused with a UserError', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n'
    const edit = fc.record({
      at: fc.nat({ max: sealed.length - 1 }),
      kind: fc.constantFrom('replace', 'insert', 'delete'),
      char: fc.constantFrom(...alphabet)
    })
    fc.assert(
      fc.property(edit, ({ at, kind, char }) => {
        const edited = sealed.slice(0, at) + (kind === 'delete' ? '' : char) + sealed.slice(kind === 'insert' ? at : at + 1)
        // Whitespace at either end is trimmed on purpose; anything else must change the envelope.
        fc.pre(edited.trim() !== sealed)
        refusedCleanly(edited)
      }),
      { numRuns: 60 }
    )
  }, 60_000)
})
