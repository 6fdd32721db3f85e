import { INPUT_FALLBACKS } from '../src/config/inputs.js'
import type { StepRun } from './helpers/github.js'
import { envSnapshot, startKeystone } from './helpers/hostile-server.js'
import { keystoneError } from './helpers/keystone-fixtures.js'
import { restoreSteps, runMainStep } from './helpers/steps.js'

/**
 * A corpus of bad inputs, each run through the main step with the real @actions/core. Whatever the
 * mistake, the step must stop before the network with one `::error::` line and exit code 1, print
 * no stack trace and no secret, and leave nothing behind for later steps (GITHUB_ENV, GITHUB_OUTPUT,
 * GITHUB_STATE all empty). Every auth-url in the corpus points at a loopback server that counts the
 * requests it receives: a bad input that slips through configuration is seen reaching it.
 */

const PASSWORD = 'bad-input-Pa55word!'
const APP_SECRET = 'bad-input-appcred-S3cret'
const URL_PASSWORD = 'hunter2-url-pass'
const KB10 = 10 * 1024
const LONG_SECRET = 'Lq7-long-secret-'.repeat(KB10 / 16)

// A loopback server, not nock: whatever path or method a bad input would lead to, it is counted.
const server = await startKeystone()
server.onPost((_request, response) =>
  response.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify(keystoneError(401, 'Unauthorized', 'counted')))
)
const PORT = server.port
const HOSTPORT = `127.0.0.1:${PORT}`
const AUTH = server.authUrl

afterAll(() => server.close())

let restoreEnv: () => void
beforeEach(() => (restoreEnv = envSnapshot()))
afterEach(() => {
  restoreSteps()
  restoreEnv()
})

/** A complete, valid password login: each case breaks one thing in it. */
const BASE = { 'auth-url': AUTH, 'user-id': 'u1', password: PASSWORD, 'project-id': 'p1' }
/** The same as an OpenRC in the job's env with a bare `uses:`. */
const OPENRC = { OS_AUTH_URL: AUTH, OS_USERNAME: 'alice', OS_PASSWORD: PASSWORD, OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_ID: 'p1' }
const APP_CRED = { 'auth-url': AUTH, 'application-credential-id': 'ac1', 'application-credential-secret': APP_SECRET }

const INPUT_NAMES = Object.keys(INPUT_FALLBACKS)
const OS_NAMES = [...new Set(Object.values(INPUT_FALLBACKS).flat()), 'OS_AUTH_TYPE', 'OS_CLOUD', 'OS_IDENTITY_API_VERSION']
const all = <T extends string>(names: readonly T[], value: string) => Object.fromEntries(names.map(name => [name, value]))
const without = <T extends object>(object: T, ...names: (keyof T)[]) =>
  Object.fromEntries(Object.entries(object).filter(([name]) => !names.includes(name as keyof T)))

interface Case {
  inputs?: Record<string, string>
  env?: Record<string, string>
  /** What the one error line must say. */
  error?: RegExp
  /** Secrets beyond the password / application credential secret inputs and variables. */
  secrets?: string[]
}

const CASES: Record<string, Case> = {
  // ── empty and blank ─────────────────────────────────────────────────────────────────────────
  'nothing at all': { inputs: {}, error: /No Keystone URL/ },
  'every input and every OS_* variable empty': { inputs: all(INPUT_NAMES, ''), env: all(OS_NAMES, ''), error: /No Keystone URL/ },
  'every input whitespace-only': { inputs: all(INPUT_NAMES, ' \t  '), error: /No Keystone URL/ },
  'every OS_* variable whitespace-only': { env: all(OS_NAMES, '   '), error: /No Keystone URL/ },
  'auth-url empty, everything else set': { inputs: { ...BASE, 'auth-url': '' }, error: /No Keystone URL/ },
  'auth-url whitespace-only': { inputs: { ...BASE, 'auth-url': '  \t ' }, error: /No Keystone URL/ },
  'OS_AUTH_URL whitespace-only in an otherwise complete OpenRC': { env: { ...OPENRC, OS_AUTH_URL: '  ' }, error: /No Keystone URL/ },
  'password empty': { inputs: { ...BASE, password: '' }, error: /No credentials/ },
  'password only a pasted newline': { inputs: { ...BASE, password: '\r\n' }, error: /No credentials/ },
  'no user at all': { inputs: without(BASE, 'user-id'), error: /needs a user/ },
  'username and user-id whitespace-only': {
    inputs: { ...BASE, 'user-id': '  ', username: ' \t', 'user-domain-name': 'Default' },
    error: /needs a user/
  },
  'application-credential-id whitespace-only beside its secret': {
    inputs: { ...APP_CRED, 'application-credential-id': '   ' },
    error: /without the credential it belongs to/
  },

  // ── line breaks and control characters ──────────────────────────────────────────────────────
  'auth-url with a newline inside': { inputs: { ...BASE, 'auth-url': `${AUTH}\nhttp://127.0.0.1:1/v3` }, error: /line break/ },
  'username with a newline inside': {
    inputs: { ...without(BASE, 'user-id'), username: 'alice\nbob', 'user-domain-name': 'Default' },
    error: /line break/
  },
  'password with a newline inside': { inputs: { ...BASE, password: `${PASSWORD}\nsecond-line-of-it` }, error: /line break/ },
  'application-credential-secret with a CR inside': {
    inputs: { ...APP_CRED, 'application-credential-secret': `${APP_SECRET}\rmore` },
    error: /line break/
  },
  'project-id with CRLF inside': { inputs: { ...BASE, 'project-id': 'p1\r\nOS_EVIL=1' }, error: /line break/ },
  'project-name with a newline inside': {
    inputs: { ...without(BASE, 'project-id'), 'project-name': 'web\nOS_EVIL=1', 'project-domain-id': 'd1' },
    error: /line break/
  },
  'region with a newline inside': { inputs: { ...BASE, region: 'GRA11\nOS_EVIL=1' }, error: /line break/ },
  'OS_REGION_NAME with a CR inside': { env: { ...OPENRC, OS_REGION_NAME: 'GRA11\rOS_EVIL=1' }, error: /OS_REGION_NAME contains a line break/ },
  'OS_PROJECT_NAME with a newline inside': {
    env: { ...without(OPENRC, 'OS_PROJECT_ID'), OS_PROJECT_NAME: 'web\nOS_EVIL=1' },
    error: /OS_PROJECT_NAME contains a line break/
  },
  'OS_PASSWORD with a newline inside': {
    env: { ...OPENRC, OS_PASSWORD: `${PASSWORD}\nline2-of-the-password` },
    error: /OS_PASSWORD contains a line break/
  },
  'user-domain-name with a NUL': {
    inputs: { ...without(BASE, 'user-id'), username: 'alice', 'user-domain-name': 'Def\u0000ault' },
    error: /control character/
  },
  'interface with a tab inside': { inputs: { ...BASE, interface: 'pub\tlic' }, error: /control character/ },
  'domain-name with an ANSI escape': { inputs: { ...without(BASE, 'project-id'), 'domain-name': '\u001b[31mred' }, error: /control character/ },
  'auth-method with a DEL': { inputs: { ...BASE, 'auth-method': 'pass\u007fword' }, error: /control character/ },

  // ── absurdly long ───────────────────────────────────────────────────────────────────────────
  'auth-url of 10 KB': { inputs: { ...BASE, 'auth-url': `${AUTH}/${'a'.repeat(KB10)}` }, error: /characters long/ },
  'username of 10 KB': {
    inputs: { ...without(BASE, 'user-id'), username: 'u'.repeat(KB10), 'user-domain-name': 'Default' },
    error: /characters long/
  },
  'user-id of 10 KB': { inputs: { ...BASE, 'user-id': 'u'.repeat(KB10) }, error: /characters long/ },
  'password of 10 KB': { inputs: { ...BASE, password: LONG_SECRET }, error: /characters long/ },
  'application-credential-secret of 10 KB': { inputs: { ...APP_CRED, 'application-credential-secret': LONG_SECRET }, error: /characters long/ },
  'project-name of 10 KB': {
    inputs: { ...without(BASE, 'project-id'), 'project-name': 'p'.repeat(KB10), 'project-domain-id': 'd1' },
    error: /characters long/
  },
  'region of 10 KB': { inputs: { ...BASE, region: 'R'.repeat(KB10) }, error: /characters long/ },
  'OS_PROJECT_ID of 10 KB': { env: { ...OPENRC, OS_PROJECT_ID: 'p'.repeat(KB10) }, error: /OS_PROJECT_ID is 10240 characters long/ },
  'revoke of 10 KB': { inputs: { ...BASE, revoke: 't'.repeat(KB10) }, error: /characters long/ },
  'system-scope of 10 KB': { inputs: { ...without(BASE, 'project-id'), 'system-scope': 'a'.repeat(KB10) }, error: /characters long/ },

  // ── auth-url of the wrong kind ──────────────────────────────────────────────────────────────
  'auth-url without a scheme': { inputs: { ...BASE, 'auth-url': `${HOSTPORT}/v3` }, error: /not a valid URL/ },
  'auth-url localhost:port without a scheme': { inputs: { ...BASE, 'auth-url': `localhost:${PORT}/v3` }, error: /must start with https/ },
  'auth-url with ftp://': { inputs: { ...BASE, 'auth-url': `ftp://${HOSTPORT}/v3` }, error: /must start with https/ },
  'auth-url with file://': { inputs: { ...BASE, 'auth-url': 'file:///etc/passwd' }, error: /must start with https/ },
  'auth-url javascript:': { inputs: { ...BASE, 'auth-url': 'javascript:alert(1)' }, error: /must start with https/ },
  'auth-url with a user and password in it': {
    inputs: { ...BASE, 'auth-url': `http://admin:${URL_PASSWORD}@${HOSTPORT}/v3` },
    error: /must not contain a user name or password/,
    secrets: [URL_PASSWORD]
  },
  'auth-url with a user name in it': { inputs: { ...BASE, 'auth-url': `http://admin@${HOSTPORT}/v3` }, error: /must not contain a user name/ },
  'auth-url with a query string': { inputs: { ...BASE, 'auth-url': `${AUTH}?project=p1` }, error: /query string/ },
  'auth-url with a fragment': { inputs: { ...BASE, 'auth-url': `${AUTH}#top` }, error: /fragment/ },
  'auth-url http:// alone': { inputs: { ...BASE, 'auth-url': 'http://' }, error: /not a valid URL/ },
  'auth-url with a port out of range': { inputs: { ...BASE, 'auth-url': 'http://127.0.0.1:99999/v3' }, error: /not a valid URL/ },
  'OS_AUTH_URL with ftp:// in an OpenRC': { env: { ...OPENRC, OS_AUTH_URL: `ftp://${HOSTPORT}/v3` }, error: /OS_AUTH_URL must start with https/ },

  // ── credentials that do not add up ──────────────────────────────────────────────────────────
  'unknown auth-method': {
    inputs: { ...BASE, 'auth-method': 'v3token' },
    error: /auth-method.*use password, application-credential, oidc-client or oidc/
  },
  'auth-method oidc': { inputs: { ...BASE, 'auth-method': 'oidc' }, error: /auth-method/ },
  'auth-method application-credential with only a password': {
    inputs: { ...BASE, 'auth-method': 'application-credential' },
    error: /no secret is set/
  },
  'auth-method password with only an application credential': { inputs: { ...APP_CRED, 'auth-method': 'password' }, error: /no password is set/ },
  'two auth methods: password and application credential secret': {
    inputs: { ...BASE, 'application-credential-id': 'ac1', 'application-credential-secret': APP_SECRET },
    error: /Both a password .* and an application credential secret/
  },
  'two auth methods in an OpenRC': {
    env: { ...OPENRC, OS_APPLICATION_CREDENTIAL_ID: 'ac1', OS_APPLICATION_CREDENTIAL_SECRET: APP_SECRET },
    error: /Both a password \(OS_PASSWORD\)/
  },
  'OS_AUTH_TYPE v3applicationcredential with only a password': {
    env: { ...OPENRC, OS_AUTH_TYPE: 'v3applicationcredential' },
    error: /no secret is set/
  },
  'application credential secret without its id': {
    inputs: { 'auth-url': AUTH, 'application-credential-secret': APP_SECRET },
    error: /without the credential/
  },
  'application credential name without a user': {
    inputs: { 'auth-url': AUTH, 'application-credential-name': 'ci', 'application-credential-secret': APP_SECRET },
    error: /looks up per user/
  },
  'application credential name with a username but no domain': {
    inputs: { 'auth-url': AUTH, 'application-credential-name': 'ci', username: 'alice', 'application-credential-secret': APP_SECRET },
    error: /user's domain/
  },
  'username without a domain': { inputs: { ...without(BASE, 'user-id'), username: 'alice' }, error: /user's domain/ },
  'OpenRC username without OS_USER_DOMAIN_*': { env: without(OPENRC, 'OS_USER_DOMAIN_NAME'), error: /OS_USERNAME names a user/ },

  // ── scopes ─────────────────────────────────────────────────────────────────────────────────
  'system-scope: yes': { inputs: { ...without(BASE, 'project-id'), 'system-scope': 'yes' }, error: /only system scope Keystone knows is all/ },
  'OS_SYSTEM_SCOPE=project in an OpenRC': {
    env: { ...without(OPENRC, 'OS_PROJECT_ID'), OS_SYSTEM_SCOPE: 'project' },
    error: /OS_SYSTEM_SCOPE is "project"/
  },
  'two scopes: system and project': { inputs: { ...BASE, 'system-scope': 'all' }, error: /Two scopes/ },
  'two scopes: project id and domain id': { inputs: { ...BASE, 'domain-id': 'd1' }, error: /Two scopes/ },
  'two scopes: project name and domain name': {
    inputs: { ...without(BASE, 'project-id'), 'project-name': 'web', 'project-domain-name': 'Default', 'domain-name': 'Default' },
    error: /Two scopes/
  },
  'two scopes: domain and system': { inputs: { ...without(BASE, 'project-id'), 'domain-id': 'd1', 'system-scope': 'all' }, error: /Two scopes/ },
  'project name without any domain': { inputs: { ...without(BASE, 'project-id'), 'project-name': 'web' }, error: /looks up per domain/ },
  'OpenRC project name without any domain': {
    env: { OS_AUTH_URL: AUTH, OS_USER_ID: 'u1', OS_PASSWORD: PASSWORD, OS_PROJECT_NAME: 'web' },
    error: /OS_PROJECT_NAME names a project/
  },

  // ── switches ───────────────────────────────────────────────────────────────────────────────
  'interface: private': { inputs: { ...BASE, interface: 'private' }, error: /interface.*use public, internal or admin/ },
  'OS_INTERFACE=private in an OpenRC': { env: { ...OPENRC, OS_INTERFACE: 'private' }, error: /OS_INTERFACE is "private"/ },
  'revoke: maybe': { inputs: { ...BASE, revoke: 'maybe' }, error: /revoke.*use true or false/ },
  'revoke: yes': { inputs: { ...BASE, revoke: 'yes' }, error: /use true or false/ },
  'export-env: 1': { inputs: { ...BASE, 'export-env': '1' }, error: /export-env.*use true or false/ },
  'export-env: on': { inputs: { ...BASE, 'export-env': 'on' }, error: /use true or false/ },
  'timeout: 0': { inputs: { ...BASE, timeout: '0' }, error: /timeout.*give a duration/ },
  'timeout: forever': { inputs: { ...BASE, timeout: 'forever' }, error: /timeout.*give a duration/ },
  'timeout: -5': { inputs: { ...BASE, timeout: '-5' }, error: /give a duration/ },
  'max-wait: 7h': { inputs: { ...BASE, 'max-wait': '7h' }, error: /max-wait.*give a duration/ },
  'max-wait of 10 KB': { inputs: { ...BASE, 'max-wait': '9'.repeat(KB10) }, error: /characters long/ },
  'outage-wait: 7h': { inputs: { ...BASE, 'outage-wait': '7h' }, error: /outage-wait.*give a duration/ },
  'outage-wait: soon': { inputs: { ...BASE, 'outage-wait': 'soon' }, error: /outage-wait.*give a duration/ },
  'allow-unscoped: yes': { inputs: { ...BASE, 'allow-unscoped': 'yes' }, error: /allow-unscoped.*use true or false/ },
  'diagnose-refusal: no': { inputs: { ...BASE, 'diagnose-refusal': 'no' }, error: /diagnose-refusal.*use true or false/ }
}

/**
 * Bad inputs that today get past configuration (a request reaches the counting server). Each is
 * written as it should behave and marked failing; see the reason next to it.
 */
const WRONG_TODAY: Record<string, Case & { why: string }> = {
  // Reader.checked keeps a secret's spaces, so '   ' is a password; secretValues() treats the same
  // value as absent and never masks it. A blank secret is a missing secret.
  'password whitespace-only': { inputs: { ...BASE, password: '   ' }, error: /password/i, why: 'a blank password is sent to Keystone' },
  'OS_PASSWORD whitespace-only in an OpenRC': {
    env: { ...OPENRC, OS_PASSWORD: '   ' },
    error: /password/i,
    why: 'a blank OS_PASSWORD is sent to Keystone'
  },
  'application-credential-secret whitespace-only': {
    inputs: { ...APP_CRED, 'application-credential-secret': '    ' },
    error: /secret/i,
    why: 'a blank secret is sent to Keystone'
  },
  // new URL('…/v3?').search and .hash are '' although the URL has an (empty) query or fragment:
  // the check passes and the login is posted to `…/v3?/auth/tokens?nocatalog` or `…/v3#/auth/tokens…`,
  // i.e. to `/v3` itself.
  'auth-url with an empty query string (trailing ?)': {
    inputs: { ...BASE, 'auth-url': `${AUTH}?` },
    error: /query string/,
    why: 'posts to /v3?/auth/tokens'
  },
  'auth-url with an empty fragment (trailing #)': { inputs: { ...BASE, 'auth-url': `${AUTH}#` }, error: /fragment/, why: 'posts to /v3' },
  // INTERFACES[value.toLowerCase()] reads Object.prototype: 'constructor' and '__proto__' are "known".
  'interface: constructor': {
    inputs: { ...BASE, interface: 'constructor' },
    error: /use public, internal or admin/,
    why: 'accepted as an interface'
  },
  'interface: __proto__': { inputs: { ...BASE, interface: '__proto__' }, error: /use public, internal or admin/, why: 'accepted as an interface' }
}

const SECRET_NAMES = ['password', 'application-credential-secret', 'OS_PASSWORD', 'OS_APPLICATION_CREDENTIAL_SECRET']

/** The strings no line may contain: each secret, its lines, and the start of a long one. */
function secretsOf(c: Case): string[] {
  const values = [...SECRET_NAMES.map(name => c.inputs?.[name] ?? c.env?.[name] ?? ''), ...(c.secrets ?? []), PASSWORD, APP_SECRET]
  const needles = new Set<string>()
  for (const value of values) {
    for (const piece of [value, ...value.split(/[\r\n]+/), value.slice(0, 32)]) {
      if (piece.trim().length >= 6) needles.add(piece)
    }
  }
  return [...needles]
}

async function run(c: Case): Promise<{ run: StepRun; requests: number }> {
  const before = server.requests.length
  const step = await runMainStep(c.inputs, { env: c.env ?? {}, timeoutMs: 500 })
  return { run: step, requests: server.requests.length - before }
}

function expectStoppedCleanly(c: Case, { run: r, requests }: { run: StepRun; requests: number }): void {
  const errors = r.lines.filter(l => l.startsWith('::error::'))
  expect(errors).toHaveLength(1)
  expect(r.lines[r.lines.length - 1]).toBe(errors[0])
  expect(errors[0]).not.toMatch(/internal error/)
  if (c.error) expect(errors[0]).toMatch(c.error)
  expect(r.exitCode()).toBe(1)
  for (const line of r.lines) expect(line).not.toMatch(/\n\s+at |%0A\s+at |at .*\.ts:\d+/)
  expect(r.lines.join('\n')).not.toMatch(/\n\s+at |at .*\.ts:\d+/)
  expect(r.exported()).toEqual({})
  expect(r.outputs()).toEqual({})
  expect(r.state()).toEqual({})
  expect(requests).toBe(0)
  for (const line of r.lines) {
    if (line.startsWith('::add-mask::')) continue
    for (const secret of secretsOf(c)) expect(line).not.toContain(secret)
  }
}

test('the harness sees a request when the inputs are good (so "no request" below means something)', async () => {
  // Two: the scoped login, then diagnose-refusal's unscoped attempt, both refused by the counting server.
  const result = await run({ inputs: BASE })
  expect(result.requests).toBe(2)
  expect(result.run.lines.filter(l => l.startsWith('::error::'))).toEqual([
    expect.stringMatching(/HTTP 401.*"counted".*refused the credentials themselves, also without a scope/)
  ])
  const openrc = await run({ env: OPENRC })
  expect(openrc.requests).toBe(2)
  expect((await run({ inputs: { ...BASE, 'diagnose-refusal': 'false' } })).requests).toBe(1)
})

test(`the corpus holds at least 40 cases (${Object.keys(CASES).length} + ${Object.keys(WRONG_TODAY).length})`, () => {
  expect(Object.keys(CASES).length + Object.keys(WRONG_TODAY).length).toBeGreaterThanOrEqual(40)
})

describe('each bad input stops the step: one ::error::, exit 1, no stack, no secret, nothing exported, no request', () => {
  test.each(Object.entries(CASES))('%s', async (_name, c) => {
    expectStoppedCleanly(c, await run(c))
  })

  test.each(Object.entries(WRONG_TODAY))('%s [wrong today]', async (_name, c) => {
    expectStoppedCleanly(c, await run(c))
  })
})
