import type { Token } from '../keystone/token.js'

/**
 * When to renew a token: at two thirds of its life, but never so late that keystoneauth (the CLI,
 * openstacksdk, Ansible) already holds the token for expired. keystoneauth treats a token with less
 * than MIN_TOKEN_LIFE_SECONDS (120 s) left as expired and asks its plugin again; the renewed token
 * must be in the state file before then, with a margin for the renewal's own retries.
 *
 * Everything is counted from the token's arrival on the runner's clock, for as long as Keystone's
 * clock said it had left (Token.validForMs): a runner clock that is off moves nothing.
 */

/** keystoneauth's MIN_TOKEN_LIFE_SECONDS: below this much life left, a client asks for a new token. */
export const KEYSTONEAUTH_MIN_LIFE_MS = 120_000

/** Room before keystoneauth's limit for a renewal that needs retries (an outage, a rate limit). */
export const RENEW_MARGIN_MS = 60_000

/** The shortest time between two renewals, for tokens too short for the rules above. */
export const MIN_RENEW_INTERVAL_MS = 30_000

/** How long after its arrival a token of this life is renewed. */
export function renewAfterMs(validForMs: number): number {
  const twoThirds = (validForMs * 2) / 3
  const beforeKeystoneauth = validForMs - KEYSTONEAUTH_MIN_LIFE_MS - RENEW_MARGIN_MS
  const planned = Math.min(twoThirds, beforeKeystoneauth)
  // A token that short is already "expiring" for keystoneauth: renew at half its life, not in a loop.
  const floor = Math.min(validForMs / 2, MIN_RENEW_INTERVAL_MS)
  return Math.max(Math.floor(planned), Math.floor(floor), 0)
}

/** How long from `now` (runner's clock) until the token is renewed; 0 when that time has passed. */
export function renewDelayMs(token: Pick<Token, 'validForMs' | 'receivedAt'>, now: Date): number {
  const elapsed = Math.max(0, now.getTime() - token.receivedAt.getTime())
  return Math.max(0, renewAfterMs(token.validForMs) - elapsed)
}

/** After a renewal that failed for now (its retries spent), when to try again. */
export const RETRY_FAILED_RENEWAL_MS = 60_000
