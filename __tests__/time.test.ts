import { formatDuration, formatSeconds, formatTime, parseDuration, parseKeystoneTime } from '../src/time.js'

/**
 * Keystone's times read strictly (an expiry that cannot be read stops the step), and the times and
 * durations the log shows. properties.test.ts holds parseKeystoneTime against the Date parser over
 * generated timestamps; these are the cases a user meets.
 */

describe("parseKeystoneTime: Keystone's own format and its neighbours", () => {
  test.each([
    ['2026-08-21T10:00:00.000000Z', '2026-08-21T10:00:00.000Z'],
    ['2026-08-21T10:00:00Z', '2026-08-21T10:00:00.000Z'],
    ['2026-08-21T10:00:00.123456789Z', '2026-08-21T10:00:00.123Z'],
    ['2026-08-21T12:00:00+02:00', '2026-08-21T10:00:00.000Z'],
    ['2026-08-21T05:30:00-0430', '2026-08-21T10:00:00.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z']
  ])('%s is %s', (text, iso) => {
    expect(parseKeystoneTime(text)?.toISOString()).toBe(iso)
  })

  test.each([
    ['a day that does not exist', '2026-02-31T10:00:00Z'],
    ['29 February of a common year', '2026-02-29T00:00:00Z'],
    ['hour 24', '2026-08-21T24:00:00Z'],
    ['a leap second', '2026-12-31T23:59:60Z'],
    ['no time zone', '2026-08-21T10:00:00'],
    ['a space for the T', '2026-08-21 10:00:00Z'],
    ['a date alone', '2026-08-21'],
    ['an HTTP date', 'Fri, 21 Aug 2026 10:00:00 GMT'],
    ['nothing', ''],
    ['trailing text', '2026-08-21T10:00:00Z; evil']
  ])('%s is not a time: undefined, never an Invalid Date', (_what, text) => {
    expect(parseKeystoneTime(text)).toBeUndefined()
  })
})

test('formatTime: UTC to the second, as the log and the post step show an expiry', () => {
  expect(formatTime(new Date('2026-11-30T04:00:00.999Z'))).toBe('2026-11-30T04:00:00Z')
})

test.each([
  [-5000, '0 min'],
  [59_999, '0 min'],
  [60_000, '1 min'],
  [59 * 60_000, '59 min'],
  [3_600_000, '1 h'],
  [24 * 3_600_000 - 60_000, '23 h 59 min']
])('formatDuration(%i) is %s', (ms, text) => {
  expect(formatDuration(ms)).toBe(text)
})

test.each([
  [-1, '0 s'],
  [250, '0.3 s'],
  [3000, '3 s'],
  [9_940, '9.9 s'],
  [12_400, '12 s'],
  [119_000, '119 s'],
  [120_000, '2 min'],
  [200_000, '3 min 20 s']
])('formatSeconds(%i) is %s', (ms, text) => {
  expect(formatSeconds(ms)).toBe(text)
})

describe('parseDuration: what a duration input accepts', () => {
  test.each([
    ['30', 30_000],
    [' 30 ', 30_000],
    ['30s', 30_000],
    ['30 s', 30_000],
    ['1.5s', 1500],
    ['250ms', 250],
    ['5m', 300_000],
    ['5min', 300_000],
    ['5MIN', 300_000],
    ['2h', 7_200_000],
    ['0', 0]
  ])('%j is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  test.each(['', 'soon', '-1', '1e3', '5 minutes', '1d', '1h30m', '.5s', 'Infinity', `${'9'.repeat(400)}h`])('%j is not a duration', text => {
    expect(parseDuration(text)).toBeUndefined()
  })
})
