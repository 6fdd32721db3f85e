import { KeystoneError } from '../src/errors.js'
import { checkIssuedToken, checkScoped, describeScope, displayName } from '../src/keystone/token-checks.js'
import type { Scope } from '../src/config/types.js'
import { DOM2, issuedToken, PROJ2 } from './helpers/keystone-fixtures.js'

/**
 * A token Keystone issued that the job cannot use (already expired, scoped elsewhere than asked,
 * unscoped because a secret was empty) stops the step with one sentence, instead of a confusing 401
 * or 403 steps later, or a job acting on another project.
 */

const BY_ID: Scope = { kind: 'project', project: { id: PROJ2.id } }
const BY_NAME: Scope = { kind: 'project', project: { name: PROJ2.name, domain: { id: DOM2.id } } }
const DOMAIN_TOKEN = issuedToken({ project: undefined, domain: DOM2 })
const SYSTEM_TOKEN = issuedToken({ project: undefined, system: true })
const UNSCOPED = issuedToken({ project: undefined })

function refusal(check: () => void): string {
  try {
    check()
  } catch (error) {
    expect(error).toBeInstanceOf(KeystoneError)
    return (error as Error).message
  }
  throw new Error('the check passed')
}

describe('checkIssuedToken: its life, on Keystone clock', () => {
  test('a token Keystone says has no time left is refused, with both of its times', () => {
    const message = refusal(() => checkIssuedToken(issuedToken({ validForMs: 0 }), BY_ID))
    expect(message).toBe(
      "Keystone issued a token that expires at 2026-12-06T05:00:00Z, no later than its own time of issue (2026-12-06T04:00:00Z): check the token expiration and the clock of Keystone's servers."
    )
  })

  test("a token good on Keystone's clock passes, whatever the runner's clock says of expiresAt", () => {
    expect(() => checkIssuedToken(issuedToken({ expiresAt: new Date(0), validForMs: 60_000 }), BY_ID)).not.toThrow()
  })
})

describe('checkIssuedToken: the scope asked for is the scope issued', () => {
  test.each<[string, Scope, ReturnType<typeof issuedToken>]>([
    ['project by id', BY_ID, issuedToken()],
    ['project by name', BY_NAME, issuedToken()],
    ['domain by id', { kind: 'domain', domain: { id: DOM2.id } }, DOMAIN_TOKEN],
    ['domain by name', { kind: 'domain', domain: { name: DOM2.name } }, DOMAIN_TOKEN],
    ['system', { kind: 'system' }, SYSTEM_TOKEN],
    ['no scope asked: a project token', { kind: 'default' }, issuedToken()],
    ['no scope asked: an unscoped token (checkScoped decides)', { kind: 'default' }, UNSCOPED]
  ])('%s: accepted', (_what, asked, token) => {
    expect(() => checkIssuedToken(token, asked)).not.toThrow()
  })

  test.each<[string, Scope, ReturnType<typeof issuedToken>, string]>([
    [
      'another project than the id asked',
      BY_ID,
      issuedToken({ project: { id: 'other-id', name: 'other', domain: DOM2 } }),
      `Keystone issued a token for project other (other-id) in domain dom2, not for the project asked for (${PROJ2.id}): check the scope inputs, and that auth-url points at the right cloud.`
    ],
    [
      'another project than the name asked',
      BY_NAME,
      issuedToken({ project: { id: PROJ2.id, name: 'proj3' } }),
      `Keystone issued a token for project proj3 (${PROJ2.id}), not for the project asked for (proj2): check the scope inputs, and that auth-url points at the right cloud.`
    ],
    [
      'a project when a domain was asked',
      { kind: 'domain', domain: { id: DOM2.id } },
      issuedToken(),
      `Keystone issued a token for project proj2 (${PROJ2.id}) in domain dom2, not for the domain asked for (${DOM2.id}): check the scope inputs, and that auth-url points at the right cloud.`
    ],
    [
      'another domain than the name asked',
      { kind: 'domain', domain: { name: 'dom3' } },
      DOMAIN_TOKEN,
      `Keystone issued a token for domain dom2 (${DOM2.id}), not for the domain asked for (dom3): check the scope inputs, and that auth-url points at the right cloud.`
    ],
    [
      'an unscoped token when the system was asked',
      { kind: 'system' },
      UNSCOPED,
      'Keystone issued a token for no scope (unscoped), not for the system scope asked for: check the scope inputs, and that auth-url points at the right cloud.'
    ],
    [
      'an unscoped token when a project was asked',
      BY_ID,
      UNSCOPED,
      `Keystone issued a token for no scope (unscoped), not for the project asked for (${PROJ2.id}): check the scope inputs, and that auth-url points at the right cloud.`
    ]
  ])('%s: refused, naming what was issued and what was asked', (_what, asked, token, message) => {
    expect(refusal(() => checkIssuedToken(token, asked))).toBe(message)
  })
})

describe('describeScope and displayName: what the log says of a token', () => {
  test.each([
    ['a project token', issuedToken(), `project proj2 (${PROJ2.id}) in domain dom2`],
    ['a project token without name or domain', issuedToken({ project: { id: 'p-id' } }), 'project p-id (p-id)'],
    ['a domain token', DOMAIN_TOKEN, `domain dom2 (${DOM2.id})`],
    ['a system token', SYSTEM_TOKEN, 'the system scope'],
    ['an unscoped token', UNSCOPED, 'no scope (unscoped)']
  ])('%s', (_what, token, text) => {
    expect(describeScope(token)).toBe(text)
  })

  test('a name from Keystone with line breaks and workflow commands is one inert line', () => {
    const text = describeScope(issuedToken({ project: { id: 'p\n::error::x', name: '::set-output name=a::b\r\n##[error]forged' } }))
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u001f]/)
    expect(text).not.toMatch(/^::|##\[/)
    expect(text.startsWith('project ')).toBe(true)
  })

  test('a name of any length is bounded', () => {
    expect(displayName({ id: 'i', name: 'n'.repeat(10_000) }).length).toBeLessThanOrEqual(100)
    expect(describeScope(issuedToken({ project: { id: 'i'.repeat(10_000), name: 'n'.repeat(10_000) } })).length).toBeLessThan(250)
  })

  test('the name when Keystone gives one, else the id', () => {
    expect(displayName({ id: 'the-id', name: 'the-name' })).toBe('the-name')
    expect(displayName({ id: 'the-id' })).toBe('the-id')
  })
})

describe('checkScoped: an unscoped token nobody asked for', () => {
  const BLANK = { inputs: ['`project-id`', '`project-name`'], setButEmpty: ['OS_PROJECT_ID of the job env'] }

  test('refused when no scope reached the step, naming the empty inputs and the variables set but empty', () => {
    const message = refusal(() => checkScoped(UNSCOPED, BLANK, false))
    expect(message).toMatch(/^Keystone issued an unscoped token: no scope reached the step, since the inputs `project-id`, `project-name` and their/)
    expect(message).toContain('(set but empty: OS_PROJECT_ID of the job env)')
    expect(message).toMatch(/check the secret's name, or set allow-unscoped: true/)
  })

  test('without variables set but empty, no such list', () => {
    expect(refusal(() => checkScoped(UNSCOPED, { ...BLANK, setButEmpty: [] }, false))).not.toContain('set but empty')
  })

  test.each([
    ['allow-unscoped: true', UNSCOPED, BLANK, true],
    ['a scope was given (no blank scope to report)', UNSCOPED, undefined, false],
    ['the user has a default project', issuedToken(), BLANK, false],
    ['a domain token', DOMAIN_TOKEN, BLANK, false],
    ['a system token', SYSTEM_TOKEN, BLANK, false]
  ])('accepted: %s', (_what, token, blank, allow) => {
    expect(() => checkScoped(token, blank, allow)).not.toThrow()
  })
})
