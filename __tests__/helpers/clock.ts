import type { RetryClock } from '../../src/net/retry.js'

/**
 * A retry clock whose sleeps return at once and are recorded, moving its own time on by as much.
 * `random` answers from `randoms` in turn (the jitter of each back-off).
 */
export function fakeClock(randoms: number[] = [0.5], start = 1_000_000): RetryClock & { sleeps: number[] } {
  let now = start
  let i = 0
  const sleeps: number[] = []
  return {
    sleeps,
    now: () => now,
    random: () => randoms[i++ % randoms.length]!,
    sleep: async (ms: number) => {
      sleeps.push(ms)
      now += ms
    }
  }
}
