import { parseRateLimit, resolvePacing, slotDelay } from '../src/net/pacing.js'
import { UserError } from '../src/errors.js'

describe('parseRateLimit', () => {
  test.each([
    ['60/min', 60, 60_000, 0],
    ['600 / m', 600, 60_000, 0],
    ['10/s', 10, 1000, 0],
    ['3600/hour', 3600, 3_600_000, 0],
    ['60/min burst 10', 60, 60_000, 10],
    ['60/min, burst 59', 60, 60_000, 59]
  ])('%s', (text, count, windowMs, burst) => {
    expect(parseRateLimit(text, 'input `rate-limit`')).toMatchObject({ count, windowMs, burst })
  })

  test.each(['', '60', '0/min', '60/day', 'sixty/min', '60/min burst', '-1/min'])('rejects %j', text => {
    expect(() => parseRateLimit(text, 'input `rate-limit`')).toThrow(/^input `rate-limit` is ".*": give the cloud's login rate as N\/min/)
  })
})

describe('slotDelay', () => {
  const rate = parseRateLimit('60/min', 'x')
  test('one slot per interval, counted from 0', () => {
    expect([0, 1, 2, 99].map(jobIndex => slotDelay({ jobIndex, jobTotal: 100, rate }))).toEqual([0, 1000, 2000, 99_000])
  })

  test('the burst goes at once, then one per interval', () => {
    const bursty = parseRateLimit('60/min burst 10', 'x')
    expect([0, 10, 11, 99].map(jobIndex => slotDelay({ jobIndex, jobTotal: 100, rate: bursty }))).toEqual([0, 0, 1000, 89_000])
  })

  test('a 100-job matrix at 60/min spreads over the minimum makespan and no slot is shared', () => {
    const delays = Array.from({ length: 100 }, (_, jobIndex) => slotDelay({ jobIndex, jobTotal: 100, rate }))
    expect(new Set(delays).size).toBe(100)
    expect(Math.max(...delays)).toBe(99_000)
  })
})

describe('resolvePacing', () => {
  test('none given: no pacing', () => {
    expect(resolvePacing({ jobIndex: '', jobTotal: '', rateLimit: '' })).toBeUndefined()
  })

  test('all three', () => {
    expect(resolvePacing({ jobIndex: '3', jobTotal: '10', rateLimit: '60/min' })).toMatchObject({ jobIndex: 3, jobTotal: 10, rate: { count: 60 } })
  })

  test.each([
    [{ jobIndex: '3', jobTotal: '', rateLimit: '' }, /needs all three/],
    [{ jobIndex: '', jobTotal: '10', rateLimit: '60/min' }, /needs all three/],
    [{ jobIndex: 'x', jobTotal: '10', rateLimit: '60/min' }, /input `job-index` is "x": give a whole number/],
    [{ jobIndex: '10', jobTotal: '10', rateLimit: '60/min' }, /counts from 0 and stays below the total/],
    [{ jobIndex: '0', jobTotal: '0', rateLimit: '60/min' }, /counts from 0/]
  ])('%j', (values, message) => {
    expect(() => resolvePacing(values)).toThrow(UserError)
    expect(() => resolvePacing(values)).toThrow(message)
  })
})
