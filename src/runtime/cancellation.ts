import { UserError } from '../errors.js'

/**
 * Cancelling a job (fail-fast, cancel-in-progress, timeout-minutes) makes the runner send the
 * step's process SIGINT, then SIGTERM about 7.5 s later, then kill it. Node's default is to die at
 * the first signal, which loses a token Keystone has just issued but the step has not saved yet.
 * Instead the signals abort one AbortSignal: waits and back-offs end at once and no new request
 * starts, while a request already on the wire is allowed to finish so that its token can be
 * revoked (or saved for the post step) before the process ends.
 */
export class JobCancelled extends UserError {
  override name = 'JobCancelled'
}

const CANCEL_SIGNALS = ['SIGINT', 'SIGTERM'] as const

/** What the entry point listens on: the process itself in production, an emitter in tests. */
export interface SignalSource {
  on(signal: (typeof CANCEL_SIGNALS)[number], listener: () => void): unknown
}

/** An AbortSignal that the runner's cancellation signals abort, with a JobCancelled as its reason. */
export function cancellationSignal(source: SignalSource = process, step: 'main' | 'post' = 'main'): AbortSignal {
  const controller = new AbortController()
  for (const name of CANCEL_SIGNALS) {
    source.on(name, () => {
      if (!controller.signal.aborted) controller.abort(new JobCancelled(`The job was cancelled (${name}) while the ${step} step was running.`))
    })
  }
  return controller.signal
}
