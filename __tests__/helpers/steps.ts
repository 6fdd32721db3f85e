import { performance } from 'node:perf_hooks'
import { JobCancelled } from '../../src/runtime/cancellation.js'
import type { RetryClock } from '../../src/net/retry.js'
import type { Core } from '../../src/runtime/core.js'
import type { StepFiles } from '../../src/runtime/files.js'
import { STATE_KEYS } from '../../src/runtime/state.js'
import { runMain } from '../../src/steps/main-step.js'
import { runPost } from '../../src/steps/post-step.js'
import type { StepContext } from '../../src/steps/step-context.js'
import { githubStep, type StepRun } from './github.js'

/**
 * Runs the action's steps as the runner would (real @actions/core, real command files; github.ts),
 * one function per kind of step: `runMainStep` (which also takes a shared token, as the action's
 * main entry does) and `runPostStep`. Every run is restored by `restoreSteps()`, which each test
 * file calls in its `afterEach`.
 *
 * Faking Keystone: a test of what the step does with an answer (a status, a body, a header) uses
 * nock, as main-step, post-step, share-step and the module tests do. The loopback server of
 * hostile-server.ts is for what only a real socket shows: an answer cut or stalled mid-body, bytes
 * Node's HTTP client must survive, a redirect to another host, TLS, cancellation at a moment in a
 * request's life (hostile-keystone, cancellation), the built bundles run as processes (dist); and
 * for a test that must see every request that reaches the host whatever its path, to prove there
 * was none (bad-input, env-injection).
 */

export interface StepOptions {
  /** The job's `env:` (OS_* variables, GITHUB_*); none by default. */
  env?: Record<string, string>
  /** The deadline of each Keystone request, instead of the `timeout` input. */
  timeoutMs?: number
  clock?: RetryClock
  now?: () => Date
  /** Files read and written instead of the real ones (clouds.yaml, a CA). */
  files?: StepFiles
  /**
   * Changes the core the step gets (a file command that fails, say, or the lazy core the entry
   * points pass); the lines and command files are still those of the run.
   */
  core?: (core: Core) => Core
  /** Cancels the step this long after it starts, as the runner's SIGINT would; negative: before it starts. */
  cancelAfterMs?: number
}

export interface PostStepOptions extends StepOptions {
  /** The post step sees the same `with:` inputs as its main step (max-wait, timeout). */
  inputs?: Record<string, string>
}

/** A finished step: what it wrote (github.ts), and how long it took. */
export interface FinishedStep extends StepRun {
  elapsedMs: number
}

/** What the runner passes from action.yml's defaults, which every main step in these tests has. */
const INPUT_DEFAULTS = { revoke: 'true', 'export-env': 'true' }

/** Every run not restored yet, in the order started. */
const running: StepRun[] = []

/** The main step with these `with:` inputs (on top of revoke: true and export-env: true). */
export function runMainStep(inputs: Record<string, string> = {}, options: StepOptions = {}): Promise<FinishedStep> {
  return run(githubStep({ ...INPUT_DEFAULTS, ...inputs }), runMain, options, 'main')
}

/** The post step, given the state its main step saved (`run.state()`, or built with `savedState`). */
export function runPostStep(state: Record<string, string>, options: PostStepOptions = {}): Promise<FinishedStep> {
  return run(githubStep(options.inputs ?? {}, state), runPost, options, 'post')
}

/** Restores every step run since the last call, the latest first (each put back what the one before it set). */
export function restoreSteps(): void {
  while (running.length > 0) running.pop()!.restore()
}

async function run(
  step: StepRun,
  body: (context: StepContext) => Promise<void>,
  { env = {}, timeoutMs, clock, now, files, core = same => same, cancelAfterMs }: StepOptions,
  kind: 'main' | 'post'
): Promise<FinishedStep> {
  running.push(step)
  const controller = cancelAfterMs === undefined ? undefined : new AbortController()
  const cancel = (): void => controller?.abort(new JobCancelled(`The job was cancelled (SIGINT) while the ${kind} step was running.`))
  const timer = cancelAfterMs === undefined ? undefined : cancelAfterMs < 0 ? (cancel(), undefined) : setTimeout(cancel, cancelAfterMs)
  const start = performance.now()
  try {
    await body({
      core: core(step.core),
      env,
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(clock && { clock }),
      ...(now && { now }),
      ...(files && { files }),
      ...(controller && { signal: controller.signal })
    })
  } finally {
    clearTimeout(timer)
  }
  return Object.assign(step, { elapsedMs: performance.now() - start })
}

/** A field of the state the main step saves (SavedToken in src/runtime/state.ts). */
export type StateField = keyof typeof STATE_KEYS

/**
 * Saved state by field name, as the runner hands it to the post step: `savedState({ token, authUrl })`
 * is `{ token: …, 'auth-url': … }`. Values stay strings, so a test can save what the main step never
 * would; a renamed field fails type-checking.
 */
export function savedState(fields: Partial<Record<StateField, string>>): Record<string, string> {
  const state: Record<string, string> = {}
  for (const [field, value] of Object.entries(fields) as [StateField, string][]) state[STATE_KEYS[field]] = value
  return state
}

/** Saved state as the runner hands it to the post step's process: one STATE_<name> variable each. */
export function stateVariables(state: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(state).map(([name, value]) => [`STATE_${name}`, value]))
}

/** One field of the state a step saved, by field name. */
export function savedField(run: StepRun, field: StateField): string | undefined {
  return run.state()[STATE_KEYS[field]]
}

/** No line may show a secret, except the ::add-mask:: line that registers it. */
export function expectNoLeak(run: Pick<StepRun, 'lines'>, ...secrets: string[]): void {
  for (const line of run.lines) {
    if (line.startsWith('::add-mask::')) continue
    for (const secret of secrets) expect(line).not.toContain(secret)
  }
}
