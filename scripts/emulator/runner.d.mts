// Types for runner.mjs (a GitHub Actions runner emulator for tests).

export interface ActionInput {
  description?: string
  required: boolean
  /** Always a string when present (YAML numbers/booleans are converted, as the runner does). */
  default?: string
  deprecationMessage?: string
}

export interface ActionDefinition {
  /** Absolute action directory. */
  dir: string
  /** Path of action.yml / action.yaml. */
  file: string
  name: string
  description: string
  inputs: Record<string, ActionInput>
  outputs: Record<string, { description?: string }>
  runs: {
    using: string
    main: string
    pre?: string
    post?: string
    preIf?: string
    /** Absent means always(), as in the runner. */
    postIf?: string
  }
}

export interface WorkflowCommand {
  /** Lower-case command name: add-mask, error, warning, notice, debug, group, endgroup, set-output, … */
  name: string
  properties: Record<string, string>
  /** Unescaped message (%0A → newline, …). For add-mask: the secret itself. */
  message: string
  stream: 'stdout' | 'stderr'
  /** The raw output line. */
  raw: string
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice'
  message: string
  properties: Record<string, string>
}

export interface LogLine {
  stream: 'stdout' | 'stderr'
  /** Raw, unmasked. */
  text: string
  /** Masked with the masks known when the line was printed (what the Actions log shows). */
  masked: string
  /** False for lines the runner does not echo (::add-mask::). */
  visible: boolean
  /** Set when the line is a workflow command. */
  command?: string
}

export interface StepResult {
  name: string
  stage: 'main' | 'post' | 'run'
  status: 'success' | 'failure' | 'cancelled' | 'skipped'
  /** null when skipped, killed by a signal, or not started. */
  exitCode: number | null
  signal: string | null
  timedOut: boolean
  durationMs: number
  /** Raw output lines (unmasked), so tests can assert the action never printed a secret. */
  stdout: string[]
  stderr: string[]
  /** Both streams in arrival order, with the masked form of each line. */
  log: LogLine[]
  commands: WorkflowCommand[]
  /** ::error::/::warning::/::notice:: plus the runner's own (timeout, exit code, deprecations, NODE_OPTIONS). */
  annotations: Annotation[]
  /** Runner-level errors that failed the step (malformed file commands, disabled commands, spawn errors). */
  errors: string[]
  /** Values added with ::add-mask:: in this step. */
  masks: string[]
  /** GITHUB_ENV values written by this step. */
  exportedEnv: Record<string, string>
  /** GITHUB_OUTPUT (and deprecated ::set-output). */
  outputs: Record<string, string>
  /** GITHUB_STATE (and deprecated ::save-state). */
  state: Record<string, string>
  /** GITHUB_PATH additions. */
  path: string[]
  /** GITHUB_STEP_SUMMARY content. */
  summary: string
  /** The complete env the step ran with. */
  env: Record<string, string>
  /** The header lines the runner prints (with:, env:, "Post job cleanup."), masked. */
  header: string[]
  /** A workflow command or file command failed the step. */
  commandFailed: boolean
}

export interface JobOptions {
  /** Replaces the runner machine's env (default: PATH and HOME of this process only). */
  baseEnv?: Record<string, string>
  /** The job's `env:` (on top of baseEnv; GITHUB_ENV exports override it). */
  jobEnv?: Record<string, string>
  /** Overrides of the GITHUB_* / RUNNER_* context variables (e.g. GITHUB_REPOSITORY, ACTIONS_ID_TOKEN_REQUEST_URL). */
  runnerEnv?: Record<string, string>
  /** GITHUB_WORKSPACE and the steps' cwd (default: a fresh temp dir). */
  workspace?: string
  /** Payload written to GITHUB_EVENT_PATH (default {}). */
  event?: unknown
  /** Values masked from the start of the job, as the runner does for the secrets a workflow uses. */
  secrets?: string[]
  /** RUNNER_DEBUG=1. */
  debug?: boolean
  /** Keep the job's temp dir (RUNNER_TEMP, file-command files) instead of removing it. */
  keepTemp?: boolean
  /** The node binary that runs the action's steps (default: this process's, process.execPath). */
  node?: string
}

export interface RunStepOptions extends Omit<JobOptions, 'jobEnv'> {
  /** A dir (its action.yml is loaded) or a loaded definition. */
  action: string | ActionDefinition
  stage: 'main' | 'post'
  inputs?: Record<string, string | number | boolean>
  /** The job env for this step. */
  env?: Record<string, string>
  /** Main-step state, given to the post step as STATE_<name>. */
  state?: Record<string, string>
  /** Default 60 000 ms; the step is killed and reported as timed out. */
  timeoutMs?: number
  /** Simulated cancellation: SIGINT after this many ms, then SIGTERM (+7.5 s), SIGKILL (+2.5 s). */
  cancelAfterMs?: number
}

export interface RunStepSpec {
  /** Display name; also how `cancelled.after/during` and `transcript.step()` find it. */
  name?: string
  /** For `${{ steps.ID.outputs.NAME }}` in the `run`, `env` and `uses.inputs` of later steps. */
  id?: string
  /**
   * Another step using the action (`uses: ./` with `with:`): its main step here, its post step at
   * the end of the job, in reverse order of the main steps, as the runner does (named `Post NAME`).
   */
  uses?: { inputs?: Record<string, string | number | boolean> }
  /** A bash script, run like the runner: `bash --noprofile --norc -eo pipefail <file>`. */
  run?: string
  /** Or test code, run in this process with the env the step would get; a throw fails the step. */
  fn?: (context: {
    env: Record<string, string>
    workspace: string
  }) => void | { env?: Record<string, string> } | Promise<void | { env?: Record<string, string> }>
  /** The step's `env:` (wins over the job env and GITHUB_ENV exports). */
  env?: Record<string, string>
  /** Step condition; default success(). Status functions, !, &&, ||, () only. */
  if?: string
  /** Relative to the workspace. */
  workingDirectory?: string
  timeoutMs?: number
}

export interface RunJobOptions extends JobOptions {
  /** Default '.'. */
  actionDir?: string
  action?: ActionDefinition
  inputs?: Record<string, string | number | boolean>
  /** The action step's own `env:`. */
  actionEnv?: Record<string, string>
  /** Steps before the action. */
  before?: RunStepSpec[]
  /** Steps between the action's main and post steps. */
  steps?: RunStepSpec[]
  /** The id of the action's own step, for `${{ steps.ID.outputs.NAME }}` in later steps. */
  id?: string
  /**
   * Simulated cancellation. true: once the main step has finished. { after: name }: once that step
   * (name, or 'main') has finished. { during: name, afterMs }: interrupts that step afterMs after it
   * started (SIGINT, SIGTERM, SIGKILL like the runner).
   */
  cancelled?: boolean | { after?: string; during?: string; afterMs?: number }
  /** Per-step timeout, default 60 000 ms. */
  timeoutMs?: number
  /** Timeout of the post step (default timeoutMs). */
  postTimeoutMs?: number
}

export interface JobTranscript {
  /** In execution order, skipped steps included (status 'skipped'). */
  steps: StepResult[]
  main?: StepResult
  post?: StepResult
  /** Final job env: jobEnv plus everything exported through GITHUB_ENV. */
  env: Record<string, string>
  /** Outputs of the action's main step. */
  outputs: Record<string, string>
  /** State saved by the main step. */
  state: Record<string, string>
  /** Every ::add-mask:: value of the job. */
  masks: string[]
  status: 'success' | 'failure' | 'cancelled'
  failed: boolean
  cancelled: boolean
  workspace: string
  /** Only with keepTemp. */
  tempDir?: string
  /** Applies all of the job's masks, as the runner would to a line printed at the end of the job. */
  masked(line: string): string
  /** A step by display name or stage ('main', 'post'). */
  step(nameOrStage: string): StepResult | undefined
}

export function loadAction(actionDir: string): ActionDefinition
export function runStep(options: RunStepOptions): Promise<StepResult>
export function runJob(options: RunJobOptions): Promise<JobTranscript>

export function inputEnvName(name: string): string
export function parseFileCommand(text: string, options?: { windows?: boolean }): Array<[string, string]>
export function parseCommand(line: string): { name: string; properties: Record<string, string>; message: string } | null
export function maskVariants(value: string): string[]
export function maskLine(line: string, masks: Iterable<string>): string
export function evaluateCondition(condition: string | undefined, status: 'success' | 'failure' | 'cancelled'): boolean
export function renderStep(step: StepResult, options?: { debug?: boolean }): string[]
