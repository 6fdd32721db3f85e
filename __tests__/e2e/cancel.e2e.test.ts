import { spawn, type ChildProcess } from 'node:child_process'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { countRequests, startKeystone, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import { job } from './helpers.js'

/**
 * Cancelled jobs leave no token alive. The runner cancels a step with SIGINT (then SIGTERM 7.5 s
 * later, then a kill) and still runs `post-if: always()` post steps. Here the emulator cancels the
 * built action's main step at moments spread over its whole run (before, during and after the
 * login request; during a pacing wait; during a retry back-off and the retry), sometimes while
 * other processes keep both cores busy, and runs the post step as the runner would. Keystone's own
 * access log then has as many successful revocations (DELETE 204) as tokens issued (POST 201).
 */

let keystone: KeystoneInstance
let front: http.Server | undefined
let frontUrl: string

beforeAll(async () => {
  keystone = await startKeystone()
  // In front of Keystone for the retry runs: the first login of each job gets a 503 with
  // Retry-After: 1, everything else goes through to Keystone unchanged.
  let refuseNext = true
  front = http.createServer((request, response) => {
    if (request.method === 'POST' && refuseNext) {
      refuseNext = false
      request.resume()
      response.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'application/json' }).end('{}')
      return
    }
    if (request.method === 'POST') refuseNext = true
    const upstream = http.request(`http://127.0.0.1:${keystone.port}${request.url}`, { method: request.method, headers: request.headers }, answer => {
      response.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(response)
    })
    upstream.on('error', () => response.destroy())
    request.pipe(upstream)
  })
  await new Promise<void>(resolve => front!.listen(0, '127.0.0.1', resolve))
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}/v3`
}, 600_000)

afterAll(async () => {
  await new Promise(resolve => (front ? front.close(resolve) : resolve(undefined)))
  await keystone?.stop()
})

/** Two processes that keep both cores busy, each ending by itself after `ms` at the latest. */
function busyCores(ms: number): ChildProcess[] {
  return [0, 1].map(() => spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end);`], { stdio: 'ignore' }))
}

interface Moment {
  afterMs: number
  authUrl: string
  inputs?: Record<string, string>
}

const range = (from: number, to: number, step: number): number[] =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step)

/** Runs one cancelled job; returns the status of its post step. */
async function cancelledJob({ afterMs, authUrl, inputs = {} }: Moment): Promise<string | undefined> {
  const fix = keystone.fixtures
  const transcript = await job({
    inputs: { 'auth-url': authUrl, 'user-id': fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD, 'project-id': fix.FIX_PROJ2_ID, ...inputs },
    secrets: [fix.FIX_USER2_PASSWORD],
    cancelled: { during: 'main', afterMs },
    timeoutMs: 30_000
  })
  return transcript.post?.status
}

test('cancelled at 80 moments of the main step, idle and busy: every token Keystone issued is revoked', async () => {
  const issuedBefore = countRequests(keystone.accessLogPath, { method: 'POST', status: 201 })
  const revokedBefore = countRequests(keystone.accessLogPath, { method: 'DELETE', status: 204 })
  // The main step takes about 100-300 ms here: node's start, the login, the file commands.
  const plain = range(0, 300, 10).map(afterMs => ({ afterMs, authUrl: keystone.authUrl }))
  // Job 2 of 2 at 60/min waits a second for its slot before it logs in.
  const paced = range(100, 1300, 200).map(afterMs => ({
    afterMs,
    authUrl: keystone.authUrl,
    inputs: { 'job-index': '1', 'job-total': '2', 'rate-limit': '60/min' }
  }))
  // A 503 with Retry-After: 1 first, then the retry logs in.
  const retried = range(100, 1600, 150).map(afterMs => ({ afterMs, authUrl: frontUrl }))

  const posts: (string | undefined)[] = []
  for (const moment of [...plain, ...paced, ...retried]) posts.push(await cancelledJob(moment))
  const busy = busyCores(120_000)
  try {
    for (const moment of plain) posts.push(await cancelledJob(moment))
  } finally {
    for (const child of busy) child.kill('SIGKILL')
  }

  const issued = countRequests(keystone.accessLogPath, { method: 'POST', status: 201 }) - issuedBefore
  const revoked = countRequests(keystone.accessLogPath, { method: 'DELETE', status: 204 }) - revokedBefore
  console.log(`cancelled jobs: ${posts.length}; tokens issued (POST 201): ${issued}; revoked (DELETE 204): ${revoked}`)
  expect(posts).toHaveLength(plain.length * 2 + paced.length + retried.length)
  // The post step runs after every cancellation and never fails the job.
  expect(posts.every(status => status === 'success')).toBe(true)
  // Enough of the moments fell after the login went out for this to prove something.
  expect(issued).toBeGreaterThanOrEqual(20)
  expect(revoked).toBe(issued)
}, 600_000)
