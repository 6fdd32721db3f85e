import * as fs from 'node:fs'
import type { Readable } from 'node:stream'
import { tokenStatePath } from '../handoff/direct-use.js'
import { realClock } from '../net/retry.js'
import { decodeHandover } from './handover.js'
import { fetchIdToken } from './id-token.js'
import { runRenewer } from './renewer.js'

/**
 * The renewer process (dist/renew/index.js), started detached by the main step with its stdout and
 * stderr closed: it has no log. It reads the hand-over from stdin to its end, keeps it in memory,
 * and renews until SIGTERM (the post step) or until there is nothing left to renew for.
 */

/** How often the process looks whether its token state is still there. */
const STATE_CHECK_MS = 10_000
export async function renewerProcess(stdin: Readable, argv: readonly string[], env: Record<string, string | undefined>): Promise<void> {
  let text = ''
  stdin.setEncoding('utf8')
  for await (const chunk of stdin) text += chunk as string
  stdin.destroy()
  const handover = decodeHandover(text)
  // Started for another login, or by hand: not ours to run.
  if (argv[2] !== handover.nonce) throw new Error('the nonce on the command line does not match the hand-over')
  // In this process's memory only: /proc/<pid>/environ keeps the environment it was started with.
  for (const [name, value] of Object.entries(handover.proxy)) env[name] = value

  const stop = new AbortController()
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => stop.abort(new Error(signal)))
  // A job whose post step never ran (a runner that does not end its leftovers, a test harness)
  // removes RUNNER_TEMP, and with it the token state: the renewer notices within a short while,
  // not only when its next renewal is due, hours later on some clouds.
  const state = tokenStatePath(handover.runnerTemp, handover.first.value)
  const watch = setInterval(() => {
    if (!fs.existsSync(state)) stop.abort(new Error('the token state is gone'))
  }, STATE_CHECK_MS)
  watch.unref()
  const idTokenRequest = handover.idTokenRequest
  await runRenewer(handover, {
    clock: realClock,
    now: () => new Date(),
    signal: stop.signal,
    pid: process.pid,
    ...(idTokenRequest && { getIDToken: (audience?: string) => fetchIdToken(idTokenRequest, audience, handover.timing.timeoutMs) })
  })
}
