import type { Timing } from '../config/types.js'
import type { Core } from '../runtime/core.js'
import type { StepFiles } from '../runtime/files.js'
import { Keystone } from '../keystone/client.js'
import { DEFAULT_RETRY_POLICY, realClock, type RetryClock, type RetryRun } from '../net/retry.js'
import type { PreparedTls } from '../net/tls.js'

/** What a step runs with: the runner's core (lazy-core.ts; tests pass @actions/core), the job's env, and seams for time and files. */
export interface StepContext {
  core: Core
  env: Readonly<Record<string, string | undefined>>
  now?: () => Date
  /** Replaces the `timeout` input: the deadline of each Keystone request. */
  timeoutMs?: number
  /** What the retry policy reads the time from and sleeps on. */
  clock?: RetryClock
  /** Files read (clouds.yaml, a CA) and written (a CA given as text); default: the real ones. */
  files?: StepFiles
  /** Aborted when the runner cancels the job (cancellation.ts): no new request starts after it. */
  signal?: AbortSignal
}

/**
 * How a step retries: the one retry policy with the step's budgets (max-wait for rate limits,
 * outage-wait for outages), its clock, its log, and its cancellation.
 */
export function retryRunFor(timing: Timing, context: StepContext, onCancel: RetryRun['onCancel'] = 'stop'): RetryRun {
  return {
    policy: { ...DEFAULT_RETRY_POLICY, maxWaitMs: timing.maxWaitMs, outageMaxWaitMs: timing.outageWaitMs },
    clock: context.clock ?? realClock,
    log: line => context.core.info(line),
    ...(context.signal && { signal: context.signal, onCancel })
  }
}

/**
 * The Keystone client of a step: its deadline per request, TLS trust, and the shared retry policy.
 * A step that writes outputs, env or state once Keystone answers has `loadCoreMeanwhile`: its core
 * (lazy-core.ts) loads while the request is in flight, instead of before it or after it. The post
 * step has `onCancel: 'last-attempt'`: cancelled, it still sends each revocation once.
 */
export function keystoneFor(
  authUrl: string,
  timing: Timing,
  context: StepContext,
  tls: Omit<PreparedTls, 'caFile'> = { insecure: false },
  { loadCoreMeanwhile = false, onCancel = 'stop' }: { loadCoreMeanwhile?: boolean; onCancel?: RetryRun['onCancel'] } = {}
): Keystone {
  const core = context.core
  return new Keystone(authUrl, {
    timeoutMs: context.timeoutMs ?? timing.timeoutMs,
    retry: retryRunFor(timing, context, onCancel),
    ...(context.now && { now: context.now }),
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.insecure && { insecure: true }),
    ...(loadCoreMeanwhile && core.prepare && { onRequestSent: () => core.prepare?.() })
  })
}
