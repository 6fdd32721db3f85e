import nock from 'nock'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { classify } from '../src/net/http.js'
import { Keystone, KeystoneError } from '../src/keystone/client.js'
import { JSON_HEADERS, keystoneError, PROJ2, TOKEN, TOKEN_HEADERS, tokenBody } from './helpers/keystone-fixtures.js'

const AUTH = 'https://keystone.test/v3'
const keystone = new Keystone(AUTH, { timeoutMs: 2000 })
const BODY = { auth: { identity: { methods: ['password'], password: { user: { id: 'u', password: 'pw' } } } } }

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

async function issueError(): Promise<KeystoneError> {
  try {
    await keystone.issue(BODY, { catalog: false })
  } catch (error) {
    expect(error).toBeInstanceOf(KeystoneError)
    return error as KeystoneError
  }
  throw new Error('expected a KeystoneError')
}

describe('issue', () => {
  test('posts the body as JSON to /auth/tokens?nocatalog and reads the token from X-Subject-Token', async () => {
    let sent: unknown
    const scope = nock('https://keystone.test')
      .post('/v3/auth/tokens?nocatalog', body => {
        sent = body
        return true
      })
      .matchHeader('content-type', 'application/json')
      .reply(201, tokenBody(), TOKEN_HEADERS)
    const token = await keystone.issue(BODY, { catalog: false })
    expect(scope.isDone()).toBe(true)
    expect(sent).toEqual(BODY)
    expect(token.value).toBe(TOKEN)
    expect(token.project).toEqual({ id: PROJ2.id, name: 'proj2', domain: { id: PROJ2.domain.id, name: 'dom2' } })
    expect(token.user.id).toBe('b981b9ba7ad04ff1831e01c41a55337f')
    expect(token.expiresAt.getTime()).toBeGreaterThan(Date.now())
    expect(token.system).toBe(false)
  })

  test('asks for the catalog when told to', async () => {
    const scope = nock('https://keystone.test').post('/v3/auth/tokens').reply(201, tokenBody(), TOKEN_HEADERS)
    await keystone.issue(BODY, { catalog: true })
    expect(scope.isDone()).toBe(true)
  })

  test.each([
    ['domain', { domain: { id: '0bf12bfa5e314913904d5878c415dd16', name: 'dom2' } }],
    ['system', { system: true }],
    ['unscoped', { system: false }]
  ] as const)('reads a %s token', async (scope, expected) => {
    nock('https://keystone.test').post('/v3/auth/tokens?nocatalog').reply(201, tokenBody({ scope }), TOKEN_HEADERS)
    const token = await keystone.issue(BODY, { catalog: false })
    expect(token).toMatchObject(expected)
    expect(token.project).toBeUndefined()
    if (scope !== 'domain') expect(token.domain).toBeUndefined()
  })

  test.each<[number, object | string, RegExp]>([
    [
      401,
      keystoneError(401, 'Unauthorized', 'The request you have made requires authentication.'),
      /HTTP 401 .*saying "The request you have made requires authentication.": Keystone does not say whether it refused the credentials .* or the scope/
    ],
    [
      400,
      keystoneError(400, 'Bad Request', 'Expecting to find domain in project.'),
      /HTTP 400 .*"Expecting to find domain in project.".*a name needs its domain/
    ],
    [403, keystoneError(403, 'Forbidden', 'nope'), /HTTP 403 .*check the scope asked for/],
    [
      404,
      '<html>Not Found</html>',
      /HTTP 404 at https:\/\/keystone.test\/v3\/auth\/tokens\?nocatalog: check that auth-url is the Keystone v3 endpoint/
    ],
    [429, { error: { status: '429 Too Many Requests', message: 'Too Many Requests' } }, /HTTP 429 .*"Too Many Requests": Keystone is rate-limiting/],
    [500, keystoneError(500, 'Internal Server Error', 'database is locked'), /HTTP 500 .*failed on its side/],
    [418, '<!DOCTYPE html><p>proxy login', /HTML page instead of JSON/]
  ])('HTTP %i gives one clear sentence', async (status, reply, message) => {
    nock('https://keystone.test')
      .post('/v3/auth/tokens?nocatalog')
      .reply(status, reply, typeof reply === 'string' ? { 'Content-Type': 'text/html' } : JSON_HEADERS)
    const error = await issueError()
    expect(error.message).toMatch(message)
    expect(error.status).toBe(status)
  })

  test('a redirect is never followed with the credentials', async () => {
    const elsewhere = nock('https://evil.test').post(/.*/).reply(201, tokenBody(), TOKEN_HEADERS)
    nock('https://keystone.test').post('/v3/auth/tokens?nocatalog').reply(307, '', { Location: 'https://evil.test/v3/auth/tokens' })
    expect((await issueError()).message).toMatch(/redirecting to https:\/\/evil.test\/v3\/auth\/tokens: the action never follows a redirect/)
    expect(elsewhere.isDone()).toBe(false)
  })

  test('201 without X-Subject-Token', async () => {
    nock('https://keystone.test').post('/v3/auth/tokens?nocatalog').reply(201, tokenBody(), JSON_HEADERS)
    expect((await issueError()).message).toMatch(/sent no X-Subject-Token header/)
  })

  test('201 with an HTML body', async () => {
    nock('https://keystone.test')
      .post('/v3/auth/tokens?nocatalog')
      .reply(201, '<html>hello</html>', { 'X-Subject-Token': TOKEN, 'Content-Type': 'text/html' })
    expect((await issueError()).message).toMatch(/not a valid token document \(an HTML page instead of JSON\)/)
  })

  test('201 with truncated JSON', async () => {
    nock('https://keystone.test').post('/v3/auth/tokens?nocatalog').reply(201, JSON.stringify(tokenBody()).slice(0, 50), TOKEN_HEADERS)
    expect((await issueError()).message).toMatch(/not a valid token document \(not JSON\)/)
  })

  test('201 with an unparseable expires_at', async () => {
    const body = tokenBody()
    body.token.expires_at = 'tomorrow'
    nock('https://keystone.test').post('/v3/auth/tokens?nocatalog').reply(201, body, TOKEN_HEADERS)
    expect((await issueError()).message).toMatch(/expires_at is "tomorrow"/)
  })

  test('a subject token that is not printable', async () => {
    nock('https://keystone.test')
      .post('/v3/auth/tokens?nocatalog')
      .reply(201, tokenBody(), { ...JSON_HEADERS, 'X-Subject-Token': 'a b' })
    expect((await issueError()).message).toMatch(/X-Subject-Token that is not a token/)
  })
})

describe("a limiter's retry hint reaches the retry policy, whichever header carries it", () => {
  test.each([
    ['Retry-After', '5', undefined],
    ['X-RateLimit-Retry-After', '6', 'X-RateLimit-Retry-After'],
    ['X-Retry-After', '7', 'X-Retry-After'],
    ['X-RateLimit-Reset', '1798000000', 'X-RateLimit-Reset']
  ])('%s', async (header, value, named) => {
    nock('https://keystone.test')
      .post('/v3/auth/tokens?nocatalog')
      .reply(429, keystoneError(429, 'Too Many Requests', 'Too Many Requests'), { ...JSON_HEADERS, [header]: value })
    const error = (await keystone.issue(BODY, { catalog: false }).catch((e: unknown) => e)) as KeystoneError
    expect(error.status).toBe(429)
    expect(error.retryAfter).toBe(value)
    expect(error.retryAfterHeader).toBe(named)
  })
})

describe('revoke', () => {
  test.each([
    [204, 'revoked'],
    [401, 'already-gone'],
    [404, 'already-gone']
  ])('HTTP %i → %s, with the token in both headers', async (status, expected) => {
    const scope = nock('https://keystone.test')
      .delete('/v3/auth/tokens')
      .matchHeader('x-auth-token', TOKEN)
      .matchHeader('x-subject-token', TOKEN)
      .reply(status)
    expect(await keystone.revoke(TOKEN)).toBe(expected)
    expect(scope.isDone()).toBe(true)
  })

  test('HTTP 503 is an error that says so', async () => {
    nock('https://keystone.test')
      .delete('/v3/auth/tokens')
      .reply(503, keystoneError(503, 'Service Unavailable', 'maintenance'), JSON_HEADERS)
    await expect(keystone.revoke(TOKEN)).rejects.toThrow(/HTTP 503 to the revocation at https:\/\/keystone.test\/v3\/auth\/tokens: "maintenance"/)
  })
})

describe('against a real socket on 127.0.0.1', () => {
  let server: http.Server
  let url: string
  const sockets = new Set<import('node:net').Socket>()
  let sentSeen = () => 0
  let served = 0
  beforeAll(async () => {
    nock.enableNetConnect('127.0.0.1')
    server = http.createServer((request, response) => {
      if (request.url?.startsWith('/slow-body')) {
        // Headers at once, then a body that never ends: only an overall deadline stops this.
        response.writeHead(201, TOKEN_HEADERS)
        response.write('{"token":')
        return
      }
      if (request.url?.startsWith('/reset')) {
        response.writeHead(201, TOKEN_HEADERS)
        response.write('{"token":')
        setTimeout(() => request.socket.destroy(), 20)
        return
      }
      if (request.url?.startsWith('/v3/auth/tokens')) {
        // A Keystone that takes its time, and answers only if the client has already reported this
        // request as sent (else 500, which the test sees as a failed issue).
        request.resume()
        request.on('end', () =>
          setTimeout(() => {
            served++
            if (sentSeen() === served) response.writeHead(201, TOKEN_HEADERS).end(JSON.stringify(tokenBody()))
            else response.writeHead(500).end()
          }, 30)
        )
        return
      }
      // /silent: never answers at all
    })
    server.on('connection', socket => sockets.add(socket))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise(resolve => server.close(resolve))
  })

  test.each(['silent', 'slow-body'])('a server that %s is cut at the deadline', async route => {
    const started = Date.now()
    await expect(new Keystone(`${url}/${route}`, { timeoutMs: 300 }).issue(BODY, { catalog: false })).rejects.toThrow(
      /Could not issue a token at 127.0.0.1:\d+: no complete answer within 0.3 s/
    )
    expect(Date.now() - started).toBeLessThan(2000)
  })

  test('onRequestSent: once per request, once the request is on the wire and before Keystone answers', async () => {
    let sent = 0
    sentSeen = () => sent
    served = 0
    const onRequestSent = (): void => {
      sent++
    }
    const client = new Keystone(`${url}/v3`, { timeoutMs: 2000, onRequestSent })
    const token = client.issue(BODY, { catalog: false })
    expect(sent).toBe(0)
    await expect(token).resolves.toMatchObject({ value: TOKEN })
    expect(sent).toBe(1)
    await client.issue(BODY, { catalog: false })
    expect(sent).toBe(2)
  })

  test('a connection reset in the middle of the body', async () => {
    await expect(new Keystone(`${url}/reset`, { timeoutMs: 2000 }).issue(BODY, { catalog: false })).rejects.toThrow(/the connection was reset/)
  })

  test('a closed port is a refused connection', async () => {
    const closed = http.createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise(resolve => closed.close(resolve))
    await expect(new Keystone(`http://127.0.0.1:${port}/v3`, { timeoutMs: 2000 }).revoke(TOKEN)).rejects.toThrow(
      /Could not revoke the token at 127.0.0.1:\d+: connection refused/
    )
  })
})

describe('network failures are named by their Node error code', () => {
  test.each([
    ['ECONNREFUSED', 'refused'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['EPROTO', 'tls'],
    ['ECONNRESET', 'reset'],
    ['EHOSTUNREACH', 'unreachable'],
    ['EWHATEVER', 'other']
  ])('%s → %s', (code, failure) => {
    expect(classify(Object.assign(new Error(code), { code }), false, 1000).failure).toBe(failure)
  })

  test('an aborted request past the deadline is a timeout whatever its code', () => {
    expect(classify(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }), true, 1500).message).toBe('no complete answer within 1.5 s')
  })
})
