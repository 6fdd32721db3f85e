/** How a request failed before any answer: what the retry policy and the log tell apart. */
export type NetworkFailure = 'refused' | 'dns' | 'tls' | 'timeout' | 'reset' | 'unreachable' | 'too-large' | 'other'

/** A request that got no usable answer (net/http.ts): refused, reset, timed out, too large, … */
export class NetworkError extends Error {
  override name = 'NetworkError'
  constructor(
    readonly failure: NetworkFailure,
    message: string,
    readonly code?: string
  ) {
    super(message)
  }
}

/**
 * A failure the user can fix. Its message is the one sentence the step prints with `::error::`:
 * what is wrong and what to do about it. Anything that is not a UserError is a bug in the action.
 */
export class UserError extends Error {
  override name = 'UserError'
}

/** What Keystone (or the network on the way to it) answered, for the retry policy and the logs. */
export interface KeystoneFailure {
  /** HTTP status; undefined for a network failure. */
  status?: number
  network?: NetworkError
  /** The Retry-After header (or another limiter's hint, see retryAfterHeader), as sent. */
  retryAfter?: string
  /** Which header retryAfter came from, when not Retry-After: `X-RateLimit-Reset`, … */
  retryAfterHeader?: string
  /** A few words for a retry's log line: `Keystone answered HTTP 429`, `connection refused`. */
  brief?: string
  /** What to check while a retry waits, when the failure is not Keystone's (an OIDC provider's). */
  hint?: string
}

/** A failure of a Keystone call: a UserError whose sentence says what to check. */
export class KeystoneError extends UserError {
  override name = 'KeystoneError'
  readonly status?: number
  readonly network?: NetworkError
  readonly retryAfter?: string
  readonly retryAfterHeader?: string
  readonly brief: string
  readonly hint?: string
  constructor(message: string, failure: KeystoneFailure = {}) {
    super(message)
    this.status = failure.status
    this.network = failure.network
    this.retryAfter = failure.retryAfter
    this.retryAfterHeader = failure.retryAfterHeader
    this.hint = failure.hint
    this.brief = failure.brief ?? (failure.status !== undefined ? `Keystone answered HTTP ${failure.status}` : (failure.network?.message ?? message))
  }
}

/**
 * Keeps a server-supplied text to one printable line of bounded length before it reaches a log.
 * The runner reads workflow commands from a line's start (`::`) and, in its legacy form, from a
 * `##[` anywhere in it: a name or message from Keystone must be able to do neither.
 */
export function oneLine(text: string, max = 300): string {
  const flat = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  const inert = flat.replace(/##\[/g, '#\u200b#[').replace(/^::/, ':\u200b:')
  const limit = Math.max(1, max)
  return inert.length > limit ? `${inert.slice(0, limit - 1)}…` : inert
}
