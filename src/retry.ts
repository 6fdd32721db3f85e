import { KeystoneError } from './errors.js'
import { formatSeconds } from './time.js'

/**
 * The retry policy of every Keystone call. Clouds cap logins (OVHcloud: 60 per minute per user,
 * HTTP 429 beyond), and a matrix of jobs that start together hits the cap at once; keystoneauth
 * retries only 503 and never reads Retry-After, and http-client never retries a POST. Here:
 * retry what a later attempt can fix (429, 502, 503, 504, a dropped or refused connection, a
 * timeout), never what it cannot (400, 401, 403, 404), honour Retry-After, otherwise back off
 * exponentially with full jitter so that a crowd of jobs spreads out instead of retrying in
 * lockstep, and stop when the overall budget (`max-wait`) is spent.
 */

export interface RetryPolicy {
  /** Overall budget: no attempt starts later than this after the first one. */
  maxWaitMs: number
  /** Upper bound of the first backoff; it doubles with each retry. */
  baseDelayMs: number
  /** Upper bound of any one backoff after an outage (502, 503, 504, a network error). */
  maxDelayMs: number
  /**
   * Upper bound of any one backoff after a 429. A rate limiter frees capacity every second, so a
   * long cap only leaves it idle while the last jobs sleep: simulated on 100 jobs at 60/min
   * (scripts/bench/simulate-burst.mjs), a 15 s cap roughly halves the excess makespan of a 60 s one.
   * An outage keeps the longer cap, so that a crowd does not hammer a recovering Keystone.
   */
  rateLimitMaxDelayMs: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxWaitMs: 300_000, baseDelayMs: 2_000, maxDelayMs: 60_000, rateLimitMaxDelayMs: 15_000 }

export interface RetryClock {
  now(): number
  /** Resolves after `ms`, or rejects with the signal's reason as soon as it is aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** Uniform in [0, 1). */
  random(): number
}

export const realClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => abortableSleep(ms, signal),
  random: () => Math.random()
}

/** A timer that a cancellation ends at once, so that a cancelled job sends no further request. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** The shortest wait between attempts, whatever Retry-After says. */
const MIN_RETRY_AFTER_MS = 1000

const RETRYABLE_STATUS = new Set([429, 502, 503, 504])
const RETRYABLE_NETWORK = new Set(['refused', 'reset', 'timeout', 'unreachable'])

/** Whether a later attempt can succeed where this one failed. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof KeystoneError)) return false
  if (error.status !== undefined) return RETRYABLE_STATUS.has(error.status)
  if (!error.network) return false
  // A name that does not resolve stays so, unless the resolver itself was down for a moment.
  if (error.network.failure === 'dns') return error.network.code === 'EAI_AGAIN'
  return RETRYABLE_NETWORK.has(error.network.failure)
}

/**
 * Retry-After as milliseconds from now: delta-seconds or an HTTP date (RFC 9110). Anything else,
 * negative or unparseable, is ignored (undefined) and backoff applies.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined
  const at = Date.parse(text)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - nowMs)
}

/** Full jitter: uniform between 0 and the exponential bound of this retry (1-based). */
export function backoffDelay(retry: number, policy: RetryPolicy, random: number, rateLimited = false): number {
  const cap = rateLimited ? policy.rateLimitMaxDelayMs : policy.maxDelayMs
  const bound = Math.min(cap, policy.baseDelayMs * 2 ** Math.min(retry - 1, 30))
  return Math.floor(random * bound)
}

export interface RetryRun {
  policy: RetryPolicy
  clock: RetryClock
  /** One line per retry, for the step's log. */
  log(line: string): void
  /** The job was cancelled: no attempt starts after it, and a back-off in progress ends at once. */
  signal?: AbortSignal
}

/** Runs `attempt` until it succeeds, fails for good, or the budget is spent. */
export async function withRetries<T>(attempt: () => Promise<T>, { policy, clock, log, signal }: RetryRun): Promise<T> {
  const started = clock.now()
  for (let attempts = 1; ; attempts++) {
    signal?.throwIfAborted()
    try {
      return await attempt()
    } catch (error) {
      if (!isRetryable(error)) throw error
      signal?.throwIfAborted()
      const failure = error as KeystoneError
      const elapsed = clock.now() - started
      const left = policy.maxWaitMs - elapsed
      const retryAfter = parseRetryAfter(failure.retryAfter, clock.now())
      // `Retry-After: 0` again and again would hammer a server that is already refusing.
      const asked = retryAfter === undefined ? undefined : Math.max(retryAfter, MIN_RETRY_AFTER_MS)
      // Never earlier than Retry-After, but not all at once either: a crowd told "1 s" that comes
      // back together is refused together. The jitter on top spreads it like the backoff does.
      const jitter = backoffDelay(attempts, policy, clock.random(), failure.status === 429)
      const wait = asked !== undefined ? asked + Math.min(jitter, Math.max(0, left - asked)) : Math.min(jitter, left)
      // A backoff longer than what is left is cut to a last attempt at the end of the budget;
      // a Retry-After beyond it is the server saying that no attempt within it will work.
      if (left <= 0 || wait > left) {
        const why = asked !== undefined && left > 0 ? `; the next attempt, after Retry-After: ${failure.retryAfter?.trim()}, would start past it` : ''
        throw new KeystoneError(
          `Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} over ${formatSeconds(elapsed)} (max-wait ${formatSeconds(policy.maxWaitMs)}${why}). Last answer: ${failure.message}`,
          failure
        )
      }
      const why = asked !== undefined ? `, Retry-After ${formatSeconds(asked)} plus jitter` : ''
      log(`${failure.brief}; retrying in ${formatSeconds(wait)} (attempt ${attempts + 1}${why}).`)
      await clock.sleep(wait, signal)
    }
  }
}
