import type { Readable } from 'node:stream'
import { realClock } from '../net/retry.js'
import { decodeHandover } from './handover.js'
import { fetchIdToken } from './id-token.js'
import { runRenewer } from './renewer.js'

/**
 * The renewer process (dist/renew/index.js), started detached by the main step with its stdout and
 * stderr closed: it has no log. It reads the hand-over from stdin to its end, keeps it in memory,
 * and renews until SIGTERM (the post step) or until there is nothing left to renew for.
 */
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
  const idTokenRequest = handover.idTokenRequest
  await runRenewer(handover, {
    clock: realClock,
    now: () => new Date(),
    signal: stop.signal,
    pid: process.pid,
    ...(idTokenRequest && { getIDToken: (audience?: string) => fetchIdToken(idTokenRequest, audience, handover.timing.timeoutMs) })
  })
}
