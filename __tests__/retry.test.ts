import { KeystoneError } from '../src/errors.js'
import { NetworkError } from '../src/errors.js'
import { fakeClock } from './helpers/clock.js'
import { backoffDelay, isRetryable, parseRetryAfter, parseRetryHint, retryHintHeader, withRetries, type RetryPolicy } from '../src/net/retry.js'

const POLICY: RetryPolicy = { maxWaitMs: 300_000, outageMaxWaitMs: 300_000, baseDelayMs: 2_000, maxDelayMs: 60_000, rateLimitMaxDelayMs: 15_000 }

const status = (code: number, retryAfter?: string) =>
  new KeystoneError(`HTTP ${code}`, { status: code, ...(retryAfter !== undefined && { retryAfter }) })
const network = (failure: NetworkError['failure'], code?: string) => new KeystoneError(failure, { network: new NetworkError(failure, failure, code) })

describe('isRetryable', () => {
  test.each([429, 502, 503, 504])('HTTP %i is retried', code => expect(isRetryable(status(code))).toBe(true))
  test.each([400, 401, 403, 404, 409, 500, 501])('HTTP %i is not', code => expect(isRetryable(status(code))).toBe(false))
  test.each(['refused', 'reset', 'timeout', 'unreachable'] as const)('network %s is retried', f => expect(isRetryable(network(f))).toBe(true))
  test.each(['tls', 'too-large', 'other'] as const)('network %s is not', f => expect(isRetryable(network(f))).toBe(false))
  test('a name that does not resolve is not retried, a resolver hiccup is', () => {
    expect(isRetryable(network('dns', 'ENOTFOUND'))).toBe(false)
    expect(isRetryable(network('dns', 'EAI_AGAIN'))).toBe(true)
  })
  test('neither is a configuration error or a bug', () => {
    expect(isRetryable(new Error('bug'))).toBe(false)
    expect(isRetryable(new KeystoneError('bad token document'))).toBe(false)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-30T10:00:00Z')
  test.each<[string | undefined, number | undefined]>([
    ['0', 0],
    ['7', 7000],
    [' 120 ', 120_000],
    ['Mon, 30 Nov 2026 10:00:30 GMT', 30_000],
    ['Mon, 30 Nov 2026 09:59:00 GMT', 0],
    [undefined, undefined],
    ['', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['30 Nov 2026 10:00:30', undefined],
    ['99999999999999999999', 1e23]
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected)
  })
})

describe('backoffDelay (full jitter)', () => {
  test('stays within [0, min(max, base·2^(n-1))) and doubles its bound', () => {
    for (const [retry, bound] of [
      [1, 2000],
      [2, 4000],
      [3, 8000],
      [5, 32_000],
      [6, 60_000],
      [60, 60_000]
    ] as const) {
      expect(backoffDelay(retry, POLICY, 0)).toBe(0)
      expect(backoffDelay(retry, POLICY, 0.999999)).toBeLessThan(bound)
      expect(backoffDelay(retry, POLICY, 0.999999)).toBeGreaterThan(bound * 0.99)
    }
  })
})

test('after a 429 the backoff is capped at 15 s, after an outage at 60 s', () => {
  expect(backoffDelay(10, POLICY, 0.999999, true)).toBeLessThan(15_000)
  expect(backoffDelay(10, POLICY, 0.999999, true)).toBeGreaterThan(14_900)
  expect(backoffDelay(10, POLICY, 0.999999, false)).toBeGreaterThan(59_900)
})

describe('withRetries', () => {
  test('returns at once on success', async () => {
    const clock = fakeClock()
    const lines: string[] = []
    expect(await withRetries(async () => 'ok', { policy: POLICY, clock, log: l => lines.push(l) })).toBe('ok')
    expect(clock.sleeps).toEqual([])
    expect(lines).toEqual([])
  })

  test('backs off with jitter between attempts, one log line per retry', async () => {
    const clock = fakeClock([0.5, 0.25])
    const lines: string[] = []
    let calls = 0
    const result = await withRetries(
      async () => {
        if (++calls < 3) throw status(429)
        return calls
      },
      { policy: POLICY, clock, log: l => lines.push(l) }
    )
    expect(result).toBe(3)
    expect(clock.sleeps).toEqual([1000, 1000])
    expect(lines).toEqual([
      'Keystone answered HTTP 429; retrying in 1 s (attempt 2, up to max-wait 5 min): Keystone is rate-limiting logins.',
      'Keystone answered HTTP 429; retrying in 1 s (attempt 3, up to max-wait 5 min): Keystone is rate-limiting logins.'
    ])
  })

  test('never retries before Retry-After, and adds jitter on top', async () => {
    const clock = fakeClock([0.25])
    let calls = 0
    await withRetries(
      async () => {
        if (++calls === 1) throw status(429, '17')
        return 'ok'
      },
      { policy: POLICY, clock, log: () => {} }
    )
    expect(clock.sleeps).toEqual([17_000 + 500])
  })

  test('does not retry a 401', async () => {
    const clock = fakeClock()
    let calls = 0
    await expect(
      withRetries(
        async () => {
          calls++
          throw status(401)
        },
        { policy: POLICY, clock, log: () => {} }
      )
    ).rejects.toThrow('HTTP 401')
    expect(calls).toBe(1)
  })

  test('stops within the budget and says how long and how many attempts', async () => {
    const clock = fakeClock([0.999])
    let calls = 0
    const error = await withRetries(
      async () => {
        calls++
        throw status(503)
      },
      { policy: { ...POLICY, maxWaitMs: 30_000 }, clock, log: () => {} }
    ).catch((e: KeystoneError) => e)
    const waited = clock.sleeps.reduce((a, b) => a + b, 0)
    // The last backoff is cut so that one more attempt happens right at the end of the budget.
    expect(waited).toBe(30_000)
    expect(calls).toBe(clock.sleeps.length + 1)
    expect(error.message).toMatch(new RegExp(`^Gave up after ${calls} attempts over \\d+ s \\(max-wait 30 s\\)\\. Last answer: HTTP 503$`))
    expect(error.status).toBe(503)
  })

  test('Retry-After: 0 is waited as 1 s at least, so a refusing server is not hammered', async () => {
    const clock = fakeClock([0])
    let calls = 0
    await withRetries(
      async () => {
        if (++calls < 3) throw status(429, '0')
        return 'ok'
      },
      { policy: POLICY, clock, log: () => {} }
    )
    expect(clock.sleeps).toEqual([1000, 1000])
  })

  test('the jitter on top of Retry-After never runs past max-wait', async () => {
    const clock = fakeClock([0.999])
    let calls = 0
    await withRetries(
      async () => {
        if (++calls < 2) throw status(429, '9')
        return 'ok'
      },
      { policy: { ...POLICY, maxWaitMs: 10_000 }, clock, log: () => {} }
    )
    expect(clock.sleeps).toEqual([10_000])
  })

  test('max-wait 0 means a single attempt', async () => {
    const clock = fakeClock()
    let calls = 0
    const error = await withRetries(
      async () => {
        calls++
        throw status(503)
      },
      { policy: { ...POLICY, maxWaitMs: 0 }, clock, log: () => {} }
    ).catch((e: KeystoneError) => e)
    expect(calls).toBe(1)
    expect(error.message).toMatch(/^Gave up after 1 attempt over 0 s \(max-wait 0 s\)\. Last answer: HTTP 503$/)
  })

  test('a Retry-After beyond the budget fails at once instead of sleeping', async () => {
    const clock = fakeClock()
    const error = await withRetries(
      async () => {
        throw status(429, '86400')
      },
      { policy: POLICY, clock, log: () => {} }
    ).catch((e: KeystoneError) => e)
    expect(clock.sleeps).toEqual([])
    expect(error.message).toMatch(
      /^Gave up after 1 attempt over 0 s \(max-wait 5 min; the next attempt, after Retry-After: 86400, would start past it\)/
    )
  })
})

describe('two budgets: max-wait for a rate limit, outage-wait for an outage', () => {
  const TWO: RetryPolicy = { ...POLICY, maxWaitMs: 300_000, outageMaxWaitMs: 30_000 }
  const failing = (make: () => KeystoneError) => {
    let calls = 0
    return {
      calls: () => calls,
      attempt: async (): Promise<never> => {
        calls++
        throw make()
      }
    }
  }

  test('a refused connection gives up after outage-wait, naming it and what to check on each retry', async () => {
    const clock = fakeClock([0.999])
    const lines: string[] = []
    const run = failing(
      () =>
        new KeystoneError('Could not issue a token at 127.0.0.1:1: connection refused; check auth-url (host and port).', {
          network: new NetworkError('refused', 'connection refused', 'ECONNREFUSED'),
          brief: 'connection refused at 127.0.0.1:1'
        })
    )
    const error = await withRetries(run.attempt, { policy: TWO, clock, log: l => lines.push(l) }).catch((e: KeystoneError) => e)
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(30_000)
    expect(error.message).toMatch(
      /^Gave up after \d+ attempts over 30 s \(outage-wait 30 s; a rate limit \(429\) gets max-wait\)\. Last answer: .*check auth-url \(host and port\)/
    )
    expect(lines[0]).toMatch(
      /^connection refused at 127\.0\.0\.1:1; retrying in .* \(attempt 2, up to outage-wait 30 s\): nothing accepts connections there: check auth-url's host and port\.$/
    )
  })

  test.each([502, 503, 504])('HTTP %i (a proxy page or an unavailable Keystone) is an outage too', async code => {
    const clock = fakeClock([0.999])
    const error = await withRetries(failing(() => status(code)).attempt, { policy: TWO, clock, log: () => {} }).catch((e: KeystoneError) => e)
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(30_000)
    expect(error.message).toContain('(outage-wait 30 s;')
  })

  test('a 429 storm still gets the whole max-wait', async () => {
    const clock = fakeClock([0.999])
    const run = failing(() => status(429))
    const error = await withRetries(run.attempt, { policy: TWO, clock, log: () => {} }).catch((e: KeystoneError) => e)
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(300_000)
    expect(error.message).toMatch(/\(max-wait 5 min\)\. Last answer: HTTP 429$/)
  })

  test('an outage after minutes of 429s gets its own outage-wait, counted from its first failure', async () => {
    const clock = fakeClock([0.999])
    let calls = 0
    const error = await withRetries(
      async () => {
        calls++
        // About two minutes of rate limiting (15 s caps), then Keystone goes away.
        throw clock.sleeps.reduce((a, b) => a + b, 0) < 120_000 ? status(429) : status(503)
      },
      { policy: TWO, clock, log: () => {} }
    ).catch((e: KeystoneError) => e)
    const total = clock.sleeps.reduce((a, b) => a + b, 0)
    expect(total).toBeGreaterThanOrEqual(150_000)
    expect(total).toBeLessThan(120_000 + 15_000 + 30_000)
    expect(error.message).toContain('(outage-wait 30 s;')
    expect(calls).toBeGreaterThan(5)
  })

  test('max-wait shorter than outage-wait bounds an outage too, and is the budget named', async () => {
    const clock = fakeClock([0.999])
    const error = await withRetries(failing(() => status(503)).attempt, { policy: { ...TWO, maxWaitMs: 10_000 }, clock, log: () => {} }).catch(
      (e: KeystoneError) => e
    )
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(10_000)
    expect(error.message).toMatch(/\(max-wait 10 s\)\. Last answer: HTTP 503$/)
  })
})

describe("other limiters' hints: X-RateLimit-Retry-After, X-Retry-After, X-RateLimit-Reset", () => {
  const now = Date.parse('2026-11-30T10:00:00Z')
  const nowS = now / 1000
  test.each<[string, string, number | undefined]>([
    ['X-RateLimit-Retry-After', '7', 7000],
    ['X-RateLimit-Retry-After', '1.5', 1500],
    ['X-Retry-After', '3', 3000],
    ['X-Retry-After', 'Mon, 30 Nov 2026 10:00:30 GMT', 30_000],
    ['X-RateLimit-Reset', '20', 20_000],
    ['X-RateLimit-Reset', String(nowS + 42), 42_000],
    ['X-RateLimit-Reset', String(nowS + 2.5), 2500],
    ['X-RateLimit-Reset', String(now + 9000), 9000],
    ['X-RateLimit-Reset', String(nowS - 60), 0],
    ['X-RateLimit-Reset', 'soon', undefined],
    ['X-RateLimit-Reset', '-1', undefined],
    ['X-Retry-After', '', undefined]
  ])('%s: %j → %j', (header, value, expected) => {
    expect(parseRetryHint(header, value, now)).toBe(expected)
  })

  test('Retry-After itself keeps its strict shapes', () => {
    expect(parseRetryHint(undefined, '1.5', now)).toBeUndefined()
    expect(parseRetryHint('Retry-After', String(nowS + 42), now)).toBe((nowS + 42) * 1000)
  })

  test('the header is found whichever a limiter sends, Retry-After first', () => {
    const from = (headers: Record<string, string>) => retryHintHeader(name => headers[name])
    expect(from({ 'retry-after': '5', 'x-ratelimit-reset': '9' })).toEqual({ retryAfter: '5' })
    expect(from({ 'x-ratelimit-retry-after': '4' })).toEqual({ retryAfter: '4', retryAfterHeader: 'X-RateLimit-Retry-After' })
    expect(from({ 'x-retry-after': '3' })).toEqual({ retryAfter: '3', retryAfterHeader: 'X-Retry-After' })
    expect(from({ 'x-ratelimit-reset': '2', 'retry-after': ' ' })).toEqual({ retryAfter: '2', retryAfterHeader: 'X-RateLimit-Reset' })
    expect(from({})).toEqual({})
  })

  const limited = (header: string, value: string) => new KeystoneError('HTTP 429', { status: 429, retryAfter: value, retryAfterHeader: header })

  test.each([
    ['X-RateLimit-Retry-After', '17'],
    ['X-Retry-After', '17'],
    ['X-RateLimit-Reset', '17']
  ])('%s is waited like Retry-After, jitter on top, and named in the log', async (header, value) => {
    const clock = fakeClock([0.25])
    const lines: string[] = []
    let calls = 0
    await withRetries(
      async () => {
        if (++calls === 1) throw limited(header, value)
        return 'ok'
      },
      { policy: POLICY, clock, log: l => lines.push(l) }
    )
    expect(clock.sleeps).toEqual([17_500])
    expect(lines[0]).toContain(`(attempt 2, ${header} 17 s plus jitter,`)
  })

  test('X-RateLimit-Reset as a Unix time is waited until then', async () => {
    let time = Date.parse('2026-11-30T10:00:00Z')
    const sleeps: number[] = []
    const clock = {
      now: () => time,
      random: () => 0,
      sleep: async (ms: number) => {
        sleeps.push(ms)
        time += ms
      }
    }
    let calls = 0
    await withRetries(
      async () => {
        if (++calls === 1) throw limited('X-RateLimit-Reset', String(clock.now() / 1000 + 8))
        return 'ok'
      },
      { policy: POLICY, clock, log: () => {} }
    )
    expect(sleeps).toEqual([8000])
  })

  test('the same caps: at least 1 s, and a hint beyond max-wait gives up at once naming the header', async () => {
    const clock = fakeClock([0])
    let calls = 0
    await withRetries(
      async () => {
        if (++calls === 1) throw limited('X-Retry-After', '0.2')
        return 'ok'
      },
      { policy: POLICY, clock, log: () => {} }
    )
    expect(clock.sleeps).toEqual([1000])
    const error = await withRetries(
      async () => {
        throw limited('X-RateLimit-Reset', '86400')
      },
      { policy: POLICY, clock: fakeClock(), log: () => {} }
    ).catch((e: KeystoneError) => e)
    expect(error.message).toMatch(
      /^Gave up after 1 attempt over 0 s \(max-wait 5 min; the next attempt, after X-RateLimit-Reset: 86400, would start past it\)/
    )
  })
})
