/**
 * Keystone's timestamps (`2026-08-21T10:00:00.000000Z`, microseconds, always UTC in practice).
 * Parsed strictly: an unparseable expiry must stop the step, not turn into an Invalid Date that
 * compares false with everything.
 */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/

export function parseKeystoneTime(text: string): Date | undefined {
  const m = TIMESTAMP.exec(text)
  if (!m) return undefined
  const [, y, mo, d, h, mi, s, fraction = '0', zone] = m as unknown as string[]
  const millis = Math.floor(Number(`0.${fraction}`) * 1000)
  let time = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis)
  const date = new Date(time)
  // Date.UTC rolls 2026-02-31 over into March: a field out of range is a malformed timestamp.
  if (
    date.getUTCFullYear() !== Number(y) ||
    date.getUTCMonth() !== Number(mo) - 1 ||
    date.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return undefined
  }
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1
    const digits = zone!.slice(1).replace(':', '')
    time -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
  }
  return new Date(time)
}

/** `2026-11-30T04:00:00Z`: the expiry as people read it in a log (no milliseconds). */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** `59 min`, `23 h 59 min`: how long until then. */
export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000))
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`
}

/** `0.3 s`, `12 s`, `3 min 20 s`: a wait or an elapsed time in a log line. */
export function formatSeconds(ms: number): string {
  const seconds = Math.max(0, ms) / 1000
  if (seconds < 10) return `${Number(seconds.toFixed(1))} s`
  if (seconds < 120) return `${Math.round(seconds)} s`
  const whole = Math.round(seconds)
  return whole % 60 === 0 ? `${whole / 60} min` : `${Math.floor(whole / 60)} min ${whole % 60} s`
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/i
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 }

/** `30`, `30s`, `5m`, `2h`: a duration input in milliseconds (a bare number is seconds). */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim())
  if (!m) return undefined
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? 's').toLowerCase()]!
  return Number.isFinite(ms) ? Math.round(ms) : undefined
}
