import { loadAction, runStep, type ActionDefinition, type StepResult } from '../../scripts/emulator/runner.mjs'
import { startRateLimiter, type RateLimiter } from '../../scripts/front/front.mjs'
import { startKeystone, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import { ROOT } from './helpers.js'

/**
 * The issue "Survive the token rate limit", at CI scale: 60 main steps of the built action (dist/)
 * start at once through the runner emulator and log in through a real nginx limit_req at 600r/m
 * (burst 0, only POST /auth/tokens limited, an OVHcloud-like 429) in front of a real Keystone.
 * Every one of them must get its token: with Retry-After, without it (plain backoff), and with
 * pacing (job-index, job-total, rate-limit). Requests, 429s and the makespan against the
 * theoretical minimum are logged; the full-size benchmark is scripts/bench/burst.mjs.
 */

const N = 60
const RATE = '600r/m'

let keystone: KeystoneInstance
let fix: KeystoneInstance['fixtures']
let action: ActionDefinition

beforeAll(async () => {
  keystone = await startKeystone()
  fix = keystone.fixtures
  action = loadAction(ROOT)
}, 600_000)

afterAll(async () => {
  await keystone?.stop()
})

/** Polls until check() holds: nginx writes its access log line just after the answer has gone out. */
async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check() && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
}

/** N main steps spawned from one synchronous loop: the common start is t0. */
async function burst(
  limited: RateLimiter,
  extra: (index: number) => Record<string, string> = () => ({})
): Promise<{ steps: StepResult[]; t0: number }> {
  const t0 = Date.now()
  const steps = await Promise.all(
    Array.from({ length: N }, (_, index) =>
      runStep({
        action,
        stage: 'main',
        inputs: {
          'auth-url': limited.authUrl,
          username: fix.FIX_USER2_NAME,
          password: fix.FIX_USER2_PASSWORD,
          'user-domain-name': fix.FIX_DOM2_NAME,
          'project-id': fix.FIX_PROJ2_ID,
          'max-wait': '120s',
          ...extra(index)
        },
        baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' },
        secrets: [fix.FIX_USER2_PASSWORD],
        timeoutMs: 150_000
      })
    )
  )
  return { steps, t0 }
}

function report(label: string, limited: RateLimiter, steps: StepResult[], t0: number): { posts: number; admitted: number; refused: number } {
  const posts = limited.entries().filter(entry => entry.method === 'POST')
  const admitted = posts.filter(entry => entry.status === 201)
  const refused = posts.filter(entry => entry.status === 429)
  const retries = steps.map(step => step.stdout.filter(line => / retrying in /.test(line)).length)
  const makespanMs = Math.max(...admitted.map(entry => entry.timeMs)) - t0
  const minimumMs = limited.minimumMakespanMs(N)
  console.log(
    `burst ${JSON.stringify({
      label,
      jobs: N,
      rate: limited.rate,
      burst: limited.burst,
      retryAfter: limited.retryAfterSeconds ?? 'none',
      served: steps.filter(step => step.status === 'success' && step.outputs.token).length,
      posts: posts.length,
      refused429: refused.length,
      requestsPerJob: Number((posts.length / N).toFixed(2)),
      maxRequestsPerJob: Math.max(...retries) + 1,
      firstPostMs: Math.min(...posts.map(entry => entry.timeMs - entry.durationMs)) - t0,
      makespanMs,
      minimumMs,
      ratio: Number((makespanMs / minimumMs).toFixed(2)),
      wallMs: Date.now() - t0
    })}`
  )
  return { posts: posts.length, admitted: admitted.length, refused: refused.length }
}

describe(`${N} main steps at once through nginx limit_req ${RATE}, burst 0`, () => {
  test.each([
    ['backoff with Retry-After: 1', true, false],
    ['backoff without Retry-After', false, false],
    ['pacing (job-index, job-total, rate-limit 600/min)', true, true]
  ])(
    '%s: all 60 get a token',
    async (label, retryAfter, pacing) => {
      const limited = await startRateLimiter({ upstream: keystone.authUrl, rate: RATE, burst: 0, retryAfter })
      try {
        const pacingInputs = (index: number): Record<string, string> =>
          pacing ? { 'job-index': String(index), 'job-total': String(N), 'rate-limit': '600/min' } : {}
        const { steps, t0 } = await burst(limited, pacingInputs)
        const failed = steps
          .filter(step => step.status !== 'success')
          .map(step => step.stdout.find(line => line.startsWith('::error::')) ?? `exit ${step.exitCode}`)
        expect(failed).toEqual([])
        expect(steps.filter(step => step.outputs.token).length).toBe(N)
        await eventually(() => limited.count({ method: 'POST', status: 201 }) === N)
        const { posts, admitted, refused } = report(label, limited, steps, t0)
        // Jobs served = 60, each with exactly one admitted login; every other login POST was a 429.
        expect(admitted).toBe(N)
        expect(posts).toBe(N + refused)
      } finally {
        await limited.stop()
      }
    },
    170_000
  )
})
