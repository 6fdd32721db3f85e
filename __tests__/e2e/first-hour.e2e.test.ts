import * as net from 'node:net'
import { startKeystone, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import { startRateLimiter, startTlsFront, type RateLimiter, type TlsFront } from '../../scripts/front/front.mjs'
import { errors, job } from './helpers.js'

/**
 * The mistakes of a new user's first hour, against the real servers: a wrong port must fail in
 * about outage-wait (30 s), not max-wait (5 min); a real rate limit must still get the whole
 * max-wait; an empty scope secret must stop the step naming what was empty.
 */

let keystone: KeystoneInstance
let fix: KeystoneInstance['fixtures']

beforeAll(async () => {
  keystone = await startKeystone()
  fix = keystone.fixtures
}, 600_000)

afterAll(async () => {
  await keystone?.stop()
})

/** A loopback port nothing listens on: taken, then released. */
function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

const user2 = () => ({ 'user-id': fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD })

test('a wrong port fails within about 30 s by default (not max-wait), naming auth-url', async () => {
  const port = await deadPort()
  const started = Date.now()
  const transcript = await job({
    inputs: { 'auth-url': `http://127.0.0.1:${port}/v3`, ...user2(), 'project-id': fix.FIX_PROJ2_ID },
    secrets: [fix.FIX_USER2_PASSWORD]
  })
  const took = Date.now() - started
  expect(transcript.failed).toBe(true)
  expect(errors(transcript)).toEqual([
    expect.stringMatching(
      new RegExp(
        `^::error::Gave up after \\d+ attempts over 3\\d s \\(outage-wait 30 s; a rate limit \\(429\\) gets max-wait\\)\\. Last answer: Could not issue a token at 127\\.0\\.0\\.1:${port}: connection refused; check auth-url \\(host and port\\)`
      )
    )
  ])
  // Every retry line says what to check.
  const retries = (transcript.main?.stdout ?? []).filter(line => / retrying in /.test(line))
  expect(retries.length).toBeGreaterThan(2)
  for (const line of retries) expect(line).toMatch(/up to outage-wait 30 s\): nothing accepts connections there: check auth-url's host and port\.$/)
  expect(took).toBeGreaterThanOrEqual(29_000)
  expect(took).toBeLessThan(45_000)
}, 90_000)

test("a proxy's HTML 502 page (nginx before a Keystone that is down) is an outage: outage-wait, not max-wait", async () => {
  const front: TlsFront = await startTlsFront({ upstream: `http://127.0.0.1:${await deadPort()}/v3` })
  try {
    const started = Date.now()
    const transcript = await job({
      inputs: { 'auth-url': front.authUrl, cacert: front.caPem, ...user2(), 'project-id': fix.FIX_PROJ2_ID, 'outage-wait': '6s' },
      secrets: [fix.FIX_USER2_PASSWORD]
    })
    expect(transcript.failed).toBe(true)
    expect(errors(transcript)).toEqual([
      expect.stringMatching(/^::error::Gave up after \d+ attempts over \d+(\.\d)? s \(outage-wait 6 s; .*HTTP 502/)
    ])
    expect(Date.now() - started).toBeLessThan(25_000)
  } finally {
    await front.stop()
  }
}, 120_000)

test('a 429 storm from a real limiter (nginx limit_req) still gets the whole max-wait', async () => {
  // One login a minute, spent at once by a first request: every login of the job meets a 429.
  const limited: RateLimiter = await startRateLimiter({ upstream: keystone.authUrl, rate: '1r/m', burst: 0, retryAfter: 1 })
  try {
    await fetch(`${limited.authUrl}/auth/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })
    const transcript = await job({
      inputs: { 'auth-url': limited.authUrl, ...user2(), 'project-id': fix.FIX_PROJ2_ID, 'max-wait': '12s', 'outage-wait': '2s' },
      secrets: [fix.FIX_USER2_PASSWORD]
    })
    expect(transcript.failed).toBe(true)
    expect(errors(transcript)).toEqual([
      expect.stringMatching(/^::error::Gave up after \d+ attempts over \d+ s \(max-wait 12 s[;)].*Last answer: Keystone answered HTTP 429/)
    ])
    // The last attempt came near the end of max-wait, far beyond outage-wait (2 s).
    const over = Number(/ over (\d+) s /.exec(errors(transcript)[0]!)?.[1])
    expect(over).toBeGreaterThanOrEqual(9)
    expect(over).toBeLessThanOrEqual(12)
    const refused = limited.entries().filter(entry => entry.method === 'POST' && entry.status === 429)
    // The job's own attempts (the first request was the one admitted, or refused first).
    expect(refused.length).toBeGreaterThanOrEqual(3)
    const span = Math.max(...refused.map(e => e.timeMs)) - Math.min(...refused.map(e => e.timeMs))
    // Far beyond outage-wait (2 s): the retries spanned max-wait.
    expect(span).toBeGreaterThanOrEqual(9_000)
    expect(span).toBeLessThanOrEqual(13_000)
  } finally {
    await limited.stop()
  }
}, 120_000)

describe('an empty project secret', () => {
  test('as an input: the step fails naming the empty scope inputs, and the unscoped token is revoked', async () => {
    const transcript = await job({
      inputs: { 'auth-url': keystone.authUrl, ...user2(), 'project-id': '' },
      secrets: [fix.FIX_USER2_PASSWORD]
    })
    expect(transcript.failed).toBe(true)
    expect(errors(transcript)).toEqual([
      expect.stringMatching(
        /^::error::Keystone issued an unscoped token: no scope reached the step, since the inputs `project-id`, `project-name`.* are all empty/
      )
    ])
    expect(transcript.main?.stdout).toContain('Revoked the token Keystone issued before the failure.')
    expect(transcript.main?.exportedEnv).toEqual({})
  })

  test('as OS_PROJECT_ID in the job env: named as set but empty', async () => {
    const transcript = await job({
      jobEnv: {
        OS_AUTH_URL: keystone.authUrl,
        OS_USERNAME: fix.FIX_USER2_NAME,
        OS_USER_DOMAIN_NAME: fix.FIX_DOM2_NAME,
        OS_PASSWORD: fix.FIX_USER2_PASSWORD,
        OS_PROJECT_ID: ''
      },
      secrets: [fix.FIX_USER2_PASSWORD]
    })
    expect(errors(transcript)).toEqual([expect.stringMatching(/\(set but empty: OS_PROJECT_ID of the job env\)/)])
  })
})
