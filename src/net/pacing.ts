import { UserError } from '../errors.js'

/**
 * Pacing for matrix jobs that all log in at once. Backing off after 429s spreads a crowd out, but
 * at the price of wasted requests and a longer makespan; a job that knows its place in the matrix
 * (`${{ strategy.job-index }}` of `${{ strategy.job-total }}`) and the cloud's rate can instead
 * wait for its own slot and log in once. Slot i starts at (i − burst) / rate: the first `burst + 1`
 * jobs go at once (what a token bucket lets through), then one per interval.
 */

export interface RateLimit {
  /** Requests allowed per window. */
  count: number
  windowMs: number
  /** Requests the cloud lets through at once on top of the steady rate. */
  burst: number
  text: string
}

const UNITS: Record<string, number> = { s: 1000, sec: 1000, second: 1000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000 }
const RATE = /^(\d{1,6})\s*\/\s*(s|sec|second|m|min|minute|h|hour)(?:\s*,?\s*burst\s*(\d{1,6}))?$/i

export function parseRateLimit(text: string, from: string): RateLimit {
  const m = RATE.exec(text.trim())
  const count = m ? Number(m[1]) : 0
  if (!m || count === 0) {
    throw new UserError(
      `${from} is "${text}": give the cloud's login rate as N/min (or N/s, N/h), optionally with a burst, e.g. 60/min or 60/min burst 10.`
    )
  }
  return { count, windowMs: UNITS[m[2]!.toLowerCase()]!, burst: m[3] ? Number(m[3]) : 0, text: text.trim() }
}

export interface Pacing {
  jobIndex: number
  jobTotal: number
  rate: RateLimit
}

/** How long this job waits before its first attempt. */
export function slotDelay({ jobIndex, rate }: Pacing): number {
  const interval = rate.windowMs / rate.count
  return Math.max(0, jobIndex - rate.burst) * interval
}

/** `job-index`, `job-total` and `rate-limit` go together: all three, or none. */
export function resolvePacing(values: { jobIndex?: string; jobTotal?: string; rateLimit?: string }): Pacing | undefined {
  const given = [values.jobIndex, values.jobTotal, values.rateLimit].filter(v => v !== undefined && v.trim() !== '')
  if (given.length === 0) return undefined
  if (given.length < 3) {
    throw new UserError(
      'Pacing needs all three of `job-index` (${{ strategy.job-index }}), `job-total` (${{ strategy.job-total }}) and `rate-limit` (e.g. 60/min): set the missing ones, or none.'
    )
  }
  const jobIndex = wholeNumber(values.jobIndex!, 'input `job-index`')
  const jobTotal = wholeNumber(values.jobTotal!, 'input `job-total`')
  if (jobTotal < 1 || jobIndex >= jobTotal) {
    throw new UserError(
      `input \`job-index\` is ${jobIndex} and \`job-total\` ${jobTotal}: the index counts from 0 and stays below the total, as strategy.job-index does.`
    )
  }
  return { jobIndex, jobTotal, rate: parseRateLimit(values.rateLimit!, 'input `rate-limit`') }
}

function wholeNumber(text: string, from: string): number {
  if (!/^\d{1,6}$/.test(text.trim())) throw new UserError(`${from} is "${text}": give a whole number, such as \${{ strategy.job-index }}.`)
  return Number(text.trim())
}
