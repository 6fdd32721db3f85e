import { KeystoneError } from '../errors.js'
import { formatSeconds } from '../time.js'

/**
 * The retry policy of every Keystone call. Clouds cap logins (OVHcloud: 60 per minute per user,
 * HTTP 429 beyond), and a matrix of jobs that start together hits the cap at once; keystoneauth
 * retries only 503 and never reads Retry-After, and http-client never retries a POST. Here:
 * retry what a later attempt can fix (429, 502, 503, 504, a dropped or refused connection, a
 * timeout), never what it cannot (400, 401, 403, 404), honour Retry-After, otherwise back off
 * exponentially with full jitter so that a crowd of jobs spreads out instead of retrying in
 * lockstep, and stop when the budget of the failure's kind is spent: `max-wait` for a rate limit,
 * the shorter `outage-wait` for an outage (a refused connection, a proxy's 502), because a wrong
 * port or host looks like an outage and must not hold every job of a matrix for minutes.
 */

/** How long the step may spend on Keystone. */
export interface Timing {
  /** Overall budget of retries (`max-wait`): what a rate limit (429) may take. */
  maxWaitMs: number
  /** Budget of an outage within it (`outage-wait`): a refused connection, a proxy's 502, a 503. */
  outageWaitMs: number
  /** Deadline of one request (`timeout`). */
  timeoutMs: number
}

export interface RetryPolicy {
  /** Overall budget: no attempt starts later than this after the first one. */
  maxWaitMs: number
  /**
   * Budget of an outage (502, 503, 504, a network error), counted from the first attempt of an
   * unbroken run of such failures, within maxWaitMs. A rolling restart of Keystone takes seconds.
   */
  outageMaxWaitMs: number
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

/** The budgets' defaults, one place for all of them: `max-wait`, `outage-wait`, `timeout`. */
export const DEFAULT_TIMING: Timing = { maxWaitMs: 300_000, outageWaitMs: 30_000, timeoutMs: 30_000 }

/** Revoking is a courtesy the job's result does not hang on: the post step retries a minute at most. */
export const POST_STEP_MAX_WAIT_MS = 60_000

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxWaitMs: 300_000,
  outageMaxWaitMs: 30_000,
  baseDelayMs: 2_000,
  maxDelayMs: 60_000,
  rateLimitMaxDelayMs: 15_000
}

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

/**
 * Rate limiters in front of Keystone that do not send Retry-After send one of these (SAP's
 * rate-limit middleware: X-Retry-After; others X-RateLimit-Retry-After or X-RateLimit-Reset).
 * Retry-After wins when there are several.
 */
export const RETRY_HINT_HEADERS = ['retry-after', 'x-ratelimit-retry-after', 'x-retry-after', 'x-ratelimit-reset'] as const

const HEADER_NAMES: Record<(typeof RETRY_HINT_HEADERS)[number], string> = {
  'retry-after': 'Retry-After',
  'x-ratelimit-retry-after': 'X-RateLimit-Retry-After',
  'x-retry-after': 'X-Retry-After',
  'x-ratelimit-reset': 'X-RateLimit-Reset'
}

/** The first retry hint an answer carries, with the name of its header when it is not Retry-After. */
export function retryHintHeader(header: (name: string) => string | undefined): { retryAfter?: string; retryAfterHeader?: string } {
  for (const name of RETRY_HINT_HEADERS) {
    const value = header(name)
    if (value === undefined || value.trim() === '') continue
    return name === 'retry-after' ? { retryAfter: value } : { retryAfter: value, retryAfterHeader: HEADER_NAMES[name] }
  }
  return {}
}

/** From this many seconds on, a number is a Unix time, not a delay (2001-09-09: no limiter asks to wait 31 years). */
const UNIX_TIME_FROM_S = 1e9

/**
 * A limiter's own hint as milliseconds from now: what parseRetryAfter accepts, plus the shapes of
 * the X- headers: seconds with a fraction (`1.5`), or a Unix time in seconds or milliseconds
 * (X-RateLimit-Reset is either a delay or a time, depending on the limiter). Undefined otherwise.
 */
export function parseRetryHint(header: string | undefined, value: string | undefined, nowMs: number): number | undefined {
  if (header === undefined || header === 'Retry-After') return parseRetryAfter(value, nowMs)
  if (value === undefined) return undefined
  const text = value.trim()
  if (!/^\d+(\.\d+)?$/.test(text)) return parseRetryAfter(text, nowMs)
  const number = Number(text)
  if (number >= UNIX_TIME_FROM_S * 1000) return Math.max(0, Math.round(number - nowMs))
  if (number >= UNIX_TIME_FROM_S) return Math.max(0, Math.round(number * 1000 - nowMs))
  return Math.round(number * 1000)
}

/** Full jitter: uniform between 0 and the exponential bound of this retry (1-based). */
export function backoffDelay(retry: number, policy: RetryPolicy, random: number, rateLimited = false): number {
  const cap = rateLimited ? policy.rateLimitMaxDelayMs : policy.maxDelayMs
  const bound = Math.min(cap, policy.baseDelayMs * 2 ** Math.min(retry - 1, 30))
  return Math.floor(random * bound)
}

/** A rate limit waits for capacity; anything else retryable is an outage, possibly a typo. */
export type FailureKind = 'rate-limit' | 'outage'

export function failureKind(failure: KeystoneError): FailureKind {
  return failure.status === 429 ? 'rate-limit' : 'outage'
}

/** The budget the loop checks for a failure of this kind: the input a user raises, and its value. */
export function budgetFor(kind: FailureKind, policy: RetryPolicy): { input: 'max-wait' | 'outage-wait'; ms: number } {
  if (kind === 'outage' && policy.outageMaxWaitMs < policy.maxWaitMs) return { input: 'outage-wait', ms: policy.outageMaxWaitMs }
  return { input: 'max-wait', ms: policy.maxWaitMs }
}

/** What to check while a retry waits: a refused connection is more often a typo than an outage. */
export function retryHint(failure: KeystoneError): string {
  if (failure.hint !== undefined) return failure.hint
  if (failure.status === 429) return 'Keystone is rate-limiting logins'
  if (failure.status === 502 || failure.status === 504)
    return 'a proxy in front of Keystone got no answer from it: check auth-url, or wait out a restart'
  if (failure.status === 503) return 'Keystone is unavailable (restarting or in maintenance)'
  switch (failure.network?.failure) {
    case 'refused':
      return "nothing accepts connections there: check auth-url's host and port"
    case 'dns':
      return "the name server did not answer: check the runner's DNS"
    case 'timeout':
      return "check auth-url and the runner's network or proxy (https_proxy, no_proxy)"
    case 'reset':
      return "check auth-url's scheme and port (https to an http port is reset) and any proxy"
    case 'unreachable':
      return "check auth-url's host and the runner's network"
    default:
      return 'check auth-url'
  }
}

/** What the retry loop needs to know of a failure that a later attempt may fix. */
export interface RetryableFailure {
  kind: FailureKind
  /** A few words for the retry's log line: `Keystone answered HTTP 429`, `connection refused`. */
  brief: string
  /** What to check while the retry waits; none when the brief says it all. */
  hint?: string
  /** The server's own hint (Retry-After or another limiter's header), as sent, and its header. */
  retryAfter?: string
  retryAfterHeader?: string
  /** The error to throw once the budget is spent; `spent` says how (`Gave up after 3 attempts over 30 s (outage-wait 30 s)`). */
  gaveUp(spent: string, budget: 'max-wait' | 'outage-wait'): Error
}

/** Whether an error may be retried, and in which words: every request of the action goes through one loop with one of these. */
export type FailureClassifier = (error: unknown) => RetryableFailure | undefined

/** Keystone's failures, and those of the other parties a login asks (an OIDC provider) when told as a KeystoneError. */
export const keystoneFailures: FailureClassifier = error => {
  if (!isRetryable(error)) return undefined
  const failure = error as KeystoneError
  return {
    kind: failureKind(failure),
    brief: failure.brief,
    hint: retryHint(failure),
    ...(failure.retryAfter !== undefined && { retryAfter: failure.retryAfter }),
    ...(failure.retryAfterHeader !== undefined && { retryAfterHeader: failure.retryAfterHeader }),
    gaveUp: (spent, budget) => {
      const other = budget === 'outage-wait' ? '; a rate limit (429) gets max-wait' : ''
      return new KeystoneError(`${spent.replace(/\)$/, `${other})`)}. Last answer: ${failure.message}`, failure)
    }
  }
}

export interface RetryRun {
  policy: RetryPolicy
  clock: RetryClock
  /** One line per retry, for the step's log. */
  log(line: string): void
  /** The job was cancelled: no attempt starts after it, and a back-off in progress ends at once. */
  signal?: AbortSignal
  /**
   * What a cancellation means: `stop` (the main step: no attempt starts after it), or `last-attempt`
   * (the post step, whose one job is to revoke: the attempt goes out at once, without waiting, and
   * its answer is final).
   */
  onCancel?: 'stop' | 'last-attempt'
}

/** Runs `attempt` until it succeeds, fails for good, or the budget of its failure's kind is spent. */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  { policy, clock, log, signal, onCancel = 'stop' }: RetryRun,
  classify: FailureClassifier = keystoneFailures
): Promise<T> {
  const started = clock.now()
  // When the current run of outage failures began; a rate limit in between ends the run.
  let outageSince: number | undefined
  // Cancelled, with one attempt still owed (onCancel: last-attempt): it goes out now, and is the last.
  const cancelled = (): boolean => {
    if (!signal?.aborted) return false
    if (onCancel === 'stop') signal.throwIfAborted()
    return true
  }
  for (let attempts = 1; ; attempts++) {
    const last = cancelled()
    const attemptStarted = clock.now()
    try {
      return await attempt()
    } catch (error) {
      const failure = classify(error)
      if (!failure || last) throw error
      if (cancelled()) continue
      const kind = failure.kind
      outageSince = kind === 'outage' ? (outageSince ?? attemptStarted) : undefined
      const budget = budgetFor(kind, policy)
      const elapsed = clock.now() - started
      const spent = budget.input === 'outage-wait' ? clock.now() - (outageSince ?? started) : elapsed
      const left = Math.min(budget.ms - spent, policy.maxWaitMs - elapsed)
      const retryAfter = parseRetryHint(failure.retryAfterHeader, failure.retryAfter, clock.now())
      const hintHeader = failure.retryAfterHeader ?? 'Retry-After'
      // `Retry-After: 0` again and again would hammer a server that is already refusing.
      const asked = retryAfter === undefined ? undefined : Math.max(retryAfter, MIN_RETRY_AFTER_MS)
      // Never earlier than Retry-After, but not all at once either: a crowd told "1 s" that comes
      // back together is refused together. The jitter on top spreads it like the backoff does.
      const jitter = backoffDelay(attempts, policy, clock.random(), kind === 'rate-limit')
      const wait = asked !== undefined ? asked + Math.min(jitter, Math.max(0, left - asked)) : Math.min(jitter, left)
      // A backoff longer than what is left is cut to a last attempt at the end of the budget;
      // a Retry-After beyond it is the server saying that no attempt within it will work.
      if (left <= 0 || wait > left) {
        const why =
          asked !== undefined && left > 0 ? `; the next attempt, after ${hintHeader}: ${failure.retryAfter?.trim()}, would start past it` : ''
        throw failure.gaveUp(
          `Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} over ${formatSeconds(elapsed)} (${budget.input} ${formatSeconds(budget.ms)}${why})`,
          budget.input
        )
      }
      const why = asked !== undefined ? `, ${hintHeader} ${formatSeconds(asked)} plus jitter` : ''
      const check = failure.hint === undefined ? '' : `: ${failure.hint}`
      log(
        `${failure.brief}; retrying in ${formatSeconds(wait)} (attempt ${attempts + 1}${why}, up to ${budget.input} ${formatSeconds(budget.ms)})${check}.`
      )
      try {
        await clock.sleep(wait, signal)
      } catch (reason) {
        if (!cancelled()) throw reason
      }
    }
  }
}
