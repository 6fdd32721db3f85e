import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseCommandFile, type StepRun } from './helpers/github.js'
import { expectNoLeak, restoreSteps, runMainStep, runPostStep, savedField, savedState } from './helpers/steps.js'
import {
  envSnapshot,
  rawResponse,
  selfSignedCertificate,
  startKeystone,
  startRawKeystone,
  whileOpen,
  type Certificate,
  type HttpHandler,
  type KeystoneServer,
  type RawKeystoneServer
} from './helpers/hostile-server.js'
import { DOM2, JSON_HEADERS, keystoneTime, PROJ2, TOKEN, TOKEN_HEADERS, tokenBody, USER2 } from './helpers/keystone-fixtures.js'

/**
 * The main and post steps against a Keystone that is broken or hostile, on the loopback interface.
 * Whatever it does, the step ends with one clear error (main) or one warning (post), within a bounded
 * time; a token it was handed is revoked; nothing is exported; and credentials never go anywhere
 * but the auth-url (a redirect is refused, never followed).
 */

const PASSWORD = 'hostile-Pa55word'
/** Deadline of each request in these tests. */
const TIMEOUT = 400
/**
 * With `max-wait: 0` (one attempt per call, no retry) a main step makes at most two requests
 * (issue, then revoke), each bounded by TIMEOUT. Retries get their own tests below.
 */
const ONE_ATTEMPT = { 'max-wait': '0' }
const BOUND = 2 * TIMEOUT + 1500

let keystone: KeystoneServer
let raw: RawKeystoneServer
let otherHost: KeystoneServer
let otherPort: KeystoneServer
let tlsKeystone: KeystoneServer
let cert: Certificate

beforeAll(async () => {
  cert = selfSignedCertificate()
  ;[keystone, raw, otherHost, otherPort, tlsKeystone] = await Promise.all([
    startKeystone(),
    startRawKeystone(),
    startKeystone({ host: '127.0.0.2' }),
    startKeystone(),
    startKeystone({ tls: cert })
  ])
})

afterAll(async () => {
  await Promise.all([keystone, raw, otherHost, otherPort, tlsKeystone].filter(Boolean).map(server => server.close()))
  if (cert) fs.rmSync(cert.dir, { recursive: true, force: true })
})

let restoreEnv: () => void
beforeEach(() => (restoreEnv = envSnapshot()))
afterEach(() => {
  restoreSteps()
  restoreEnv()
  for (const server of [keystone, raw, otherHost, otherPort, tlsKeystone]) server.reset()
})

interface Timed {
  run: StepRun
  elapsed: number
}

async function main(authUrl: string, inputs: Record<string, string> = {}, timeoutMs = TIMEOUT): Promise<Timed> {
  const run = await runMainStep(
    { 'auth-url': authUrl, 'user-id': USER2.id, password: PASSWORD, 'project-id': PROJ2.id, ...ONE_ATTEMPT, ...inputs },
    { timeoutMs }
  )
  return { run, elapsed: run.elapsedMs }
}

async function post(authUrl: string, inputs: Record<string, string> = ONE_ATTEMPT, timeoutMs = TIMEOUT): Promise<Timed> {
  const state = savedState({ token: TOKEN, authUrl, expiresAt: new Date(Date.now() + 3600_000).toISOString(), revoke: 'true' })
  const run = await runPostStep(state, { inputs, timeoutMs })
  return { run, elapsed: run.elapsedMs }
}

const commands = (run: StepRun, kind: string) => run.lines.filter(l => l.startsWith(`::${kind}::`))

/** The main step's verdict on a hostile answer: one clear error, exit 1, in time, nothing handed on. */
function expectOneError({ run, elapsed }: Timed, message: RegExp, bound = BOUND): string {
  const errors = commands(run, 'error')
  expect(errors).toHaveLength(1)
  expect(errors[0]).toMatch(message)
  expect(errors[0]).not.toMatch(/internal error/)
  expect(run.exitCode()).toBe(1)
  expect(elapsed).toBeLessThan(bound)
  expect(run.exported()).toEqual({})
  expect(run.lines.join('\n')).not.toMatch(/\n\s+at |at .*\.ts:\d+/)
  expectNoLeak(run, PASSWORD, TOKEN)
  return errors[0]!
}

/** The post step's verdict: one warning, exit 0, in time. */
function expectOneWarning({ run, elapsed }: Timed, message: RegExp, bound = TIMEOUT + 1500): void {
  expect(commands(run, 'warning')).toEqual([expect.stringMatching(message)])
  expect(commands(run, 'error')).toEqual([])
  expect(run.exitCode()).toBe(0)
  expect(elapsed).toBeLessThan(bound)
  expectNoLeak(run, PASSWORD, TOKEN)
}

/** The revocations the server saw, each carrying the token as itself. */
function revocations(server: KeystoneServer | RawKeystoneServer): string[] {
  return server.received('DELETE').map(r => String(r.headers['x-subject-token']))
}

const tokenWith = (extra: Record<string, unknown>) => {
  const body = tokenBody()
  return { token: { ...body.token, ...extra } }
}
const answer =
  (status: number, body: string, headers: Record<string, string> = TOKEN_HEADERS): HttpHandler =>
  (_request, response) =>
    response.writeHead(status, headers).end(body)

describe('main step: answers that carry no usable token', () => {
  test('201 without X-Subject-Token', async () => {
    keystone.onPost(answer(201, JSON.stringify(tokenBody()), JSON_HEADERS))
    expectOneError(await main(keystone.authUrl), /answered 201 .* sent no X-Subject-Token header/)
    expect(keystone.received('DELETE')).toEqual([])
  })

  test('200 with an HTML login page and no token', async () => {
    keystone.onPost(answer(200, '<!doctype html><html><body><form>Sign in</form></body></html>', { 'Content-Type': 'text/html' }))
    expectOneError(await main(keystone.authUrl), /no X-Subject-Token header/)
  })

  // Node's HTTP parser refuses a header value with a bare CR or LF, a NUL or an obs-fold: the
  // client never sees a token at all, so nothing can be masked wrong or exported.
  test.each([
    ['a newline', `${TOKEN}\nOS_EVIL=1`],
    ['a carriage return', `${TOKEN}\rOS_EVIL=1`],
    ['CRLF and a folded continuation', `${TOKEN}\r\n OS_EVIL=1`],
    ['a NUL', `${TOKEN}\u0000OS_EVIL=1`]
  ])('X-Subject-Token with %s (raw bytes on the socket)', async (_what, value) => {
    raw.onPost((_request, socket) => {
      socket.end(
        rawResponse(
          '201 Created',
          [
            ['Content-Type', 'application/json'],
            ['X-Subject-Token', value]
          ],
          JSON.stringify(tokenBody())
        )
      )
    })
    const result = await main(raw.authUrl)
    expectOneError(result, /Could not issue a token at 127\.0\.0\.1:\d+: .*Parse Error/)
    expect(raw.received('POST')).toHaveLength(1)
    expect(raw.received('DELETE')).toEqual([])
    expect(result.run.lines.join('\n')).not.toContain('OS_EVIL')
  })

  test('a 60 KB X-Subject-Token header', async () => {
    keystone.onPost(answer(201, JSON.stringify(tokenBody()), { ...JSON_HEADERS, 'X-Subject-Token': 'g'.repeat(60 * 1024) }))
    expectOneError(await main(keystone.authUrl), /Could not issue a token at 127\.0\.0\.1:\d+: .*(overflow|too large)/i)
    expect(keystone.received('DELETE')).toEqual([])
  })

  test('a 60 KB header beside a valid token', async () => {
    keystone.onPost(answer(201, JSON.stringify(tokenBody()), { ...TOKEN_HEADERS, 'X-Padding': 'x'.repeat(60 * 1024) }))
    expectOneError(await main(keystone.authUrl), /Could not issue a token at 127\.0\.0\.1:\d+: .*(overflow|too large)/i)
  })

  test('a 12 KB X-Subject-Token (under the header limit, over any real token)', async () => {
    keystone.onPost(answer(201, JSON.stringify(tokenBody()), { ...JSON_HEADERS, 'X-Subject-Token': 'g'.repeat(12 * 1024) }))
    expectOneError(await main(keystone.authUrl), /X-Subject-Token that is not a token \(12288 characters/)
    expect(keystone.received('DELETE')).toEqual([])
  })
})

/**
 * Keystone said 201 and sent a well-formed token, but the document around it is unusable. The step
 * must fail; the token it was handed is live on the server and nobody will use it, so it should be
 * revoked as the scope and expiry checks already do. Today parseTokenBody throws inside issue(),
 * before main-step knows the token, and it is left valid until it expires.
 */
describe.each([
  [
    'a body that is HTML',
    answer(201, '<html><body><h1>Welcome</h1></body></html>', { ...TOKEN_HEADERS, 'Content-Type': 'text/html' }),
    /an HTML page instead of JSON/
  ],
  ['a truncated JSON body', answer(201, JSON.stringify(tokenBody()).slice(0, 120)), /not a valid token document \(not JSON\)/],
  ['expires_at unparseable', answer(201, JSON.stringify(tokenWith({ expires_at: 'tomorrow at noon' }))), /expires_at is "tomorrow at noon"/],
  ['a token body without a user', answer(201, JSON.stringify(tokenWith({ user: null }))), /no user id/]
])('main step: 201 with a token and %s', (_what, handler, message) => {
  test('fails with one clear error', async () => {
    keystone.onPost(handler)
    expectOneError(await main(keystone.authUrl), message)
  })

  test('revokes the token it was handed [wrong today: left valid]', async () => {
    keystone.onPost(handler)
    await main(keystone.authUrl)
    expect(revocations(keystone)).toEqual([TOKEN])
  })
})

describe('main step: a token that is not the one asked for is reported and revoked', () => {
  test('expires_at in the past', async () => {
    keystone.onPost(answer(201, JSON.stringify(tokenWith({ expires_at: keystoneTime(new Date(Date.now() - 3600_000)) }))))
    const result = await main(keystone.authUrl)
    expectOneError(result, /issued a token that expires at .*no later than its own time of issue/)
    expect(revocations(keystone)).toEqual([TOKEN])
    expect(keystone.received('DELETE')[0]!.headers['x-auth-token']).toBe(TOKEN)
    expect(savedField(result.run, 'token')).toBe('')
  })

  const OTHER = { id: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', name: 'project-b', domain: DOM2 }
  test.each<[string, Record<string, string>, Record<string, unknown>, RegExp]>([
    [
      'project id A asked, project B issued',
      { 'project-id': PROJ2.id },
      { project: OTHER },
      /project project-b \(b{32}\).*not for the project asked for \(0f2c4c30f1dc46468772fa9da7d7cd27\)/
    ],
    [
      'project name asked, another name issued',
      { 'project-id': '', 'project-name': 'proj2', 'project-domain-id': DOM2.id },
      { project: OTHER },
      /not for the project asked for \(proj2\)/
    ],
    ['a domain asked, a project issued', { 'project-id': '', 'domain-id': DOM2.id }, { project: PROJ2 }, /not for the domain asked for/],
    [
      'the system asked, an unscoped token issued',
      { 'project-id': '', 'system-scope': 'all' },
      { project: undefined, roles: undefined },
      /no scope \(unscoped\), not for the system scope/
    ]
  ])('%s', async (_what, inputs, extra, message) => {
    keystone.onPost(answer(201, JSON.stringify(tokenWith(extra))))
    const result = await main(keystone.authUrl, inputs)
    expectOneError(result, message)
    expect(revocations(keystone)).toEqual([TOKEN])
    expect(result.run.outputs()).toEqual({})
    expect(savedField(result.run, 'token')).toBe('')
  })

  test('a mismatch whose revocation fails too: still one error, the token left to the post step', async () => {
    keystone.onPost(answer(201, JSON.stringify(tokenWith({ project: OTHER }))))
    keystone.onDelete((_request, response) => response.socket?.destroy())
    const result = await main(keystone.authUrl)
    expectOneError(result, /not for the project asked for/)
    expect(commands(result.run, 'warning')).toEqual([
      expect.stringMatching(/Could not revoke the token Keystone issued before the failure: the post step tries again/)
    ])
    expect(savedField(result.run, 'others')).toBe(TOKEN)
  })
})

describe('main step: a catalog that is not a list', () => {
  // The action asks for the catalog (OS_STORAGE_URL and direct use come from it) but a catalog of the
  // wrong shape is as good as none: the token still works, OS_STORAGE_URL is blank, the auth plugin
  // serves an empty catalog, and a warning says service commands will fail.
  test.each([
    ['a string', 'not-a-list'],
    ['an object', { endpoints: 'nope' }],
    ['null', null]
  ])('catalog is %s: the token is issued and only the usual variables are exported', async (_what, catalog) => {
    keystone.onPost(answer(201, JSON.stringify(tokenWith({ catalog }))))
    const { run } = await main(keystone.authUrl)
    expect(run.exitCode()).toBe(0)
    expect(commands(run, 'error')).toEqual([])
    expect(run.exported().OS_TOKEN).toBe(TOKEN)
    expect(Object.keys(run.exported()).every(name => name.startsWith('OS_') || name === 'PYTHONPATH')).toBe(true)
    expect(run.exported().OS_STORAGE_URL).toBe('')
    expect(commands(run, 'warning')).toEqual([expect.stringMatching(/catalog in a shape that is not a list: .*service commands will fail/)])
    expect(keystone.received('POST')[0]!.url).toBe('/v3/auth/tokens')
  })
})

describe('main step: answers that never end or break off', () => {
  test('no answer at all: bounded by the deadline', async () => {
    keystone.onPost(() => undefined)
    expectOneError(await main(keystone.authUrl), /no complete answer within 0\.4 s/, TIMEOUT + 1000)
  })

  test('headers, then a body that trickles forever: bounded by the deadline', async () => {
    keystone.onPost((_request, response) => {
      response.writeHead(201, TOKEN_HEADERS)
      response.write('{"token": {')
      whileOpen(response.socket!, 50, () => response.write(' '))
    })
    expectOneError(await main(keystone.authUrl), /no complete answer within 0\.4 s/, TIMEOUT + 1000)
  })

  test('an endless body sent as fast as possible: cut at the size cap', async () => {
    const chunk = Buffer.alloc(256 * 1024, 0x20)
    keystone.onPost((_request, response) => {
      response.writeHead(201, TOKEN_HEADERS)
      const pump = (): void => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', pump)
      }
      pump()
    })
    expectOneError(await main(keystone.authUrl, {}, 10_000), /larger than 8388608 bytes/, 10_000)
  })

  test('connection reset in the middle of the body', async () => {
    raw.onPost((_request, socket) => {
      socket.write(
        rawResponse(
          '201 Created',
          [
            ['Content-Type', 'application/json'],
            ['X-Subject-Token', TOKEN],
            ['Content-Length', '5000']
          ],
          '{"token": {"methods": ["pass',
          { contentLength: false }
        )
      )
      setTimeout(() => socket.resetAndDestroy(), 20)
    })
    expectOneError(await main(raw.authUrl), /the connection was reset/)
  })

  test('connection reset before any answer', async () => {
    raw.onPost((_request, socket) => socket.resetAndDestroy())
    expectOneError(await main(raw.authUrl), /the connection was reset/)
  })
})

/**
 * Keystone (or a proxy in front of it) sends 201 with X-Subject-Token, then the answer breaks off.
 * The token exists and is valid: it is revoked before the next attempt and before the error, so
 * that retries never leave a trail of live tokens. Each attempt gets a token of its own here, so
 * the test can tell which ones were revoked, and when.
 */
describe('answers cut short after the token arrived: every token revoked, before each retry and before the error', () => {
  const RETRIES = { 'max-wait': '1s' }
  let issued: string[]
  const nextToken = (): string => {
    const token = `cut-short-token-${issued.length + 1}-${'x'.repeat(40)}`
    issued.push(token)
    return token
  }
  beforeEach(() => (issued = []))

  /** Every token issued was revoked, each one before the next POST went out. */
  function expectAllRevokedInOrder(server: KeystoneServer | RawKeystoneServer): void {
    expect(issued.length).toBeGreaterThanOrEqual(2)
    expect(revocations(server).sort()).toEqual([...issued].sort())
    const order = server.requests.map(r => (r.method === 'POST' ? 'POST' : `DELETE ${String(r.headers['x-subject-token'])}`))
    const posts = order.flatMap((request, at) => (request === 'POST' ? [at] : []))
    issued.forEach((token, i) => {
      const revokedAt = order.indexOf(`DELETE ${token}`)
      expect(revokedAt).toBeGreaterThan(posts[i]!)
      if (i + 1 < posts.length) expect(revokedAt).toBeLessThan(posts[i + 1]!)
    })
  }

  test('a reset after the headers', async () => {
    raw.onPost((_request, socket) => {
      socket.write(
        rawResponse(
          '201 Created',
          [
            ['Content-Type', 'application/json'],
            ['X-Subject-Token', nextToken()],
            ['Content-Length', '5000']
          ],
          '{"token": {',
          { contentLength: false }
        )
      )
      setTimeout(() => socket.resetAndDestroy(), 20)
    })
    const result = await main(raw.authUrl, RETRIES)
    expectOneError(result, /Gave up after \d+ attempts? .*the connection was reset/, 1000 + TIMEOUT + 2000)
    expectAllRevokedInOrder(raw)
    expect(savedField(result.run, 'token') ?? '').toBe('')
    expect(savedField(result.run, 'others') ?? '').toBe('')
  })

  test('a body that stalls past the deadline', async () => {
    keystone.onPost((_request, response) => {
      response.writeHead(201, { ...JSON_HEADERS, 'X-Subject-Token': nextToken() })
      response.write('{"token": {')
    })
    const result = await main(keystone.authUrl, RETRIES)
    expectOneError(result, /Gave up after \d+ attempts? .*no complete answer within 0\.4 s/, 1000 + 2 * TIMEOUT + 2000)
    expectAllRevokedInOrder(keystone)
  })

  test('a body over the size cap, with no retry left: revoked before the error', async () => {
    const chunk = Buffer.alloc(256 * 1024, 0x20)
    keystone.onPost((_request, response) => {
      response.writeHead(201, { ...JSON_HEADERS, 'X-Subject-Token': nextToken() })
      const pump = (): void => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', pump)
      }
      pump()
    })
    expectOneError(await main(keystone.authUrl, {}, 10_000), /larger than 8388608 bytes/, 10_000)
    expect(issued).toHaveLength(1)
    expect(revocations(keystone)).toEqual(issued)
  })

  test('when that revocation fails too, the token is saved for the post step, which revokes it', async () => {
    keystone.onPost((_request, response) => {
      response.writeHead(201, { ...JSON_HEADERS, 'X-Subject-Token': nextToken() })
      response.write('{"token": {')
    })
    keystone.onDelete(() => undefined)
    const result = await main(keystone.authUrl)
    expectOneError(result, /no complete answer within 0\.4 s/, 3 * TIMEOUT + 1500)
    expect(commands(result.run, 'warning')).toEqual([
      '::warning::Could not revoke the token Keystone issued before the failure: the post step tries again.'
    ])
    expect(savedField(result.run, 'others')).toBe(issued[0])
    keystone.reset()
    const post = await runPostStep(result.run.state(), { inputs: ONE_ATTEMPT, timeoutMs: TIMEOUT })
    expect(revocations(keystone)).toEqual(issued)
    expect(post.lines).toContain('A token Keystone issued during a failed or cancelled login revoked.')
  })
})

describe('main step: redirects are refused and credentials never follow them', () => {
  test.each([301, 302, 307, 308])('%i to another host (127.0.0.2)', async status => {
    keystone.onPost(answer(status, '', { Location: `${otherHost.authUrl}/auth/tokens?nocatalog` }))
    const error = expectOneError(await main(keystone.authUrl), /redirecting to http:\/\/127\.0\.0\.2:\d+.*never follows a redirect with credentials/)
    expect(error).toContain(`HTTP ${status}`)
    expect(otherHost.requests).toEqual([])
    expect(keystone.requests).toHaveLength(1)
  })

  test.each([301, 302, 307, 308])('%i to another port on the same host', async status => {
    keystone.onPost(answer(status, '', { Location: `${otherPort.authUrl}/auth/tokens?nocatalog` }))
    expectOneError(await main(keystone.authUrl), /never follows a redirect/)
    expect(otherPort.requests).toEqual([])
  })
})

describe('TLS', () => {
  test('an untrusted self-signed certificate: a TLS error that names the cacert input, and no request', async () => {
    expectOneError(
      await main(tlsKeystone.authUrl),
      /TLS failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)[^)]*\).*give its certificate in the cacert input/
    )
    expect(tlsKeystone.requests).toEqual([])
  })

  test('the advice works: the built bundle trusts the same server with NODE_EXTRA_CA_CERTS', async () => {
    const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-dist-'))
    const files = { GITHUB_ENV: 'env', GITHUB_OUTPUT: 'output', GITHUB_STATE: 'state' }
    for (const name of Object.values(files)) fs.writeFileSync(path.join(dir, name), '')
    try {
      const child = spawn(process.execPath, [path.join(root, 'dist', 'main', 'index.js')], {
        env: {
          PATH: process.env.PATH,
          NODE_EXTRA_CA_CERTS: cert.certFile,
          ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, path.join(dir, v)])),
          'INPUT_AUTH-URL': tlsKeystone.authUrl,
          'INPUT_USER-ID': USER2.id,
          INPUT_PASSWORD: PASSWORD,
          'INPUT_PROJECT-ID': PROJ2.id,
          INPUT_REVOKE: 'true',
          'INPUT_EXPORT-ENV': 'true',
          // Only the main step runs here: no renewer that no post step would end.
          INPUT_RENEW: 'false'
        },
        stdio: ['ignore', 'pipe', 'pipe']
      })
      let stdout = ''
      child.stdout.on('data', chunk => (stdout += chunk))
      child.stderr.on('data', chunk => (stdout += chunk))
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await new Promise<number>(resolve => child.on('close', c => resolve(c ?? -1)))
      clearTimeout(timer)
      expect({ code, stdout }).toMatchObject({ code: 0 })
      expect(parseCommandFile(fs.readFileSync(path.join(dir, 'env'), 'utf8')).OS_TOKEN).toBe(TOKEN)
      expect(tlsKeystone.received('POST')).toHaveLength(1)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 15_000)
})

describe('post step: a revocation that fails is one warning, exit 0, in bounded time', () => {
  test('500', async () => {
    keystone.onDelete(answer(500, '{"error":{"code":500,"message":"boom","title":"Internal Server Error"}}', JSON_HEADERS))
    expectOneWarning(
      await post(keystone.authUrl),
      /^::warning::Could not revoke the token: Keystone answered HTTP 500 .*"boom"\. It stays valid until /
    )
    expect(revocations(keystone)).toEqual([TOKEN])
  })

  test('no answer at all', async () => {
    keystone.onDelete(() => undefined)
    expectOneWarning(await post(keystone.authUrl), /Could not revoke the token: .*no complete answer within 0\.4 s/)
  })

  test('headers, then a body that never ends', async () => {
    keystone.onDelete((_request, response) => {
      response.writeHead(200, JSON_HEADERS)
      whileOpen(response.socket!, 50, () => response.write(' '))
    })
    expectOneWarning(await post(keystone.authUrl), /no complete answer within 0\.4 s/)
  })

  test('connection reset', async () => {
    raw.onDelete((_request, socket) => socket.resetAndDestroy())
    expectOneWarning(await post(raw.authUrl), /Could not revoke the token: .*the connection was reset/)
    expect(raw.received('DELETE')).toHaveLength(1)
  })

  test('connection reset in the middle of the answer', async () => {
    raw.onDelete((_request, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"x":')
      setTimeout(() => socket.resetAndDestroy(), 20)
    })
    expectOneWarning(await post(raw.authUrl), /the connection was reset/)
  })

  test('a 307 to another host: the token does not follow it', async () => {
    keystone.onDelete(answer(307, '', { Location: `${otherHost.authUrl}/auth/tokens` }))
    expectOneWarning(await post(keystone.authUrl), /Could not revoke the token: Keystone answered HTTP 307/)
    expect(otherHost.requests).toEqual([])
  })

  test('an untrusted certificate', async () => {
    expectOneWarning(await post(tlsKeystone.authUrl), /TLS failed.*give its certificate in the cacert input/)
    expect(tlsKeystone.requests).toEqual([])
  })
})

/**
 * Retries (429/502/503/504, resets, timeouts) must not turn a hostile Keystone into a job that
 * hangs: with the real clock, the whole step ends within max-wait plus one request's deadline.
 */
describe('retries against a Keystone that never gets better stay within max-wait', () => {
  const MAX_WAIT = { 'max-wait': '1s' }
  const RETRY_BOUND = 1000 + TIMEOUT + 1000

  test('main: an answer that never comes, again and again', async () => {
    keystone.onPost(() => undefined)
    const result = await main(keystone.authUrl, MAX_WAIT)
    expectOneError(result, /Gave up after \d+ attempts? over .*\(max-wait 1 s\).*no complete answer within 0\.4 s/, RETRY_BOUND)
    expect(keystone.received('POST').length).toBeGreaterThanOrEqual(1)
  })

  test('main: a reset, again and again', async () => {
    raw.onPost((_request, socket) => socket.resetAndDestroy())
    expectOneError(await main(raw.authUrl, MAX_WAIT), /Gave up after \d+ attempts? .*the connection was reset/, RETRY_BOUND)
  })

  test('main: 503 with a Retry-After far beyond max-wait gives up at once', async () => {
    keystone.onPost(answer(503, '', { 'Retry-After': '86400' }))
    const result = await main(keystone.authUrl, MAX_WAIT)
    expectOneError(result, /Gave up after 1 attempt .*after Retry-After: .*would start past it/, 1000)
    expect(keystone.received('POST')).toHaveLength(1)
  })

  test('main: 429 with Retry-After: 0, forever', async () => {
    keystone.onPost(answer(429, '{"error":{"code":429,"message":"slow down","title":"Too Many Requests"}}', { ...JSON_HEADERS, 'Retry-After': '0' }))
    // Retry-After: 0 is waited as 1 s at least, so a refusing server is not hammered.
    expectOneError(await main(keystone.authUrl, MAX_WAIT), /Gave up after \d+ attempts? .*HTTP 429/, RETRY_BOUND)
    expect(keystone.received('POST').length).toBeLessThanOrEqual(2)
  })

  test('post: an answer that never comes, again and again', async () => {
    keystone.onDelete(() => undefined)
    const result = await post(keystone.authUrl, MAX_WAIT)
    expectOneWarning(result, /Could not revoke the token: Gave up after \d+ attempts? .*no complete answer/, RETRY_BOUND)
    expect(revocations(keystone).every(token => token === TOKEN)).toBe(true)
  })
})
