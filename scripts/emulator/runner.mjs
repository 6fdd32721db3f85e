#!/usr/bin/env node
// A GitHub Actions runner emulator for tests (never shipped): runs a JavaScript action's runs.main
// and runs.post from its action.yml, with `run:` steps in between, the way actions/runner does:
// INPUT_* from declared inputs and defaults, fresh GITHUB_ENV/OUTPUT/STATE/PATH/STEP_SUMMARY files
// per step, STATE_* for the post step, post-if, workflow commands on stdout (masks, annotations),
// env exported by earlier steps. Library API below; CLI at the end (`--help`). Types: runner.d.mts.
//
// Behaviour taken from the runner's sources (ActionRunner, Handler, NodeScriptActionHandler,
// FileCommandManager, ActionCommandManager, StepsRunner):
// - every declared input is set: the given value, else the default, else '' (EvaluateDefaultInput);
// - env precedence, low to high: the runner machine's env, the job's `env:`, values exported through
//   GITHUB_ENV, the step's own `env:`, STATE_* (post), INPUT_* (action steps), PATH with GITHUB_PATH
//   prepended, then the GITHUB_*/RUNNER_* context variables, which exported values cannot override;
// - `post-if` defaults to always(); the post step exists only if the main step ran;
// - a condition without a status function is implicitly `success() && (…)`;
// - GITHUB_ENV cannot set NODE_OPTIONS (an error annotation, the variable is ignored);
// - commands are parsed from stdout and stderr; `::add-mask::` lines are never echoed.

import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'

const DEFAULT_STEP_TIMEOUT_MS = 60_000
// On cancellation the runner sends SIGINT, then SIGTERM after 7.5 s, then kills after 2.5 s more.
const CANCEL_SIGTERM_AFTER_MS = 7_500
const CANCEL_SIGKILL_AFTER_MS = 2_500
// After the process exits, how long to wait for grandchildren that still hold stdout/stderr.
const STREAM_DRAIN_MS = 500

const COMMANDS = new Set([
  'add-mask',
  'add-matcher',
  'remove-matcher',
  'debug',
  'notice',
  'warning',
  'error',
  'group',
  'endgroup',
  'echo',
  'set-output',
  'save-state',
  'set-env',
  'add-path',
  'stop-commands'
])

// --- action.yml ----------------------------------------------------------------------------------

/**
 * Reads and checks action.yml (or action.yaml) of a JavaScript action.
 *
 * @param {string} actionDir
 * @returns {import('./runner.d.mts').ActionDefinition}
 */
export function loadAction(actionDir) {
  const dir = resolve(actionDir)
  const file = ['action.yml', 'action.yaml'].map(name => join(dir, name)).find(path => existsSync(path))
  if (!file) throw new Error(`no action.yml or action.yaml in ${dir}`)
  const doc = parseYaml(readFileSync(file, 'utf8'))
  if (!doc || typeof doc !== 'object') throw new Error(`${file}: not a YAML mapping`)
  const runs = doc.runs ?? {}
  if (typeof runs.using !== 'string' || !/^node\d+$/.test(runs.using)) {
    throw new Error(`${file}: runs.using is ${JSON.stringify(runs.using)}; the emulator runs JavaScript (nodeNN) actions only`)
  }
  if (typeof runs.main !== 'string' || !runs.main) throw new Error(`${file}: runs.main is missing`)

  /** @type {Record<string, import('./runner.d.mts').ActionInput>} */
  const inputs = {}
  for (const [name, spec] of Object.entries(doc.inputs ?? {})) {
    const s = spec ?? {}
    inputs[name] = {
      description: s.description === undefined ? undefined : String(s.description),
      required: s.required === true || s.required === 'true',
      // YAML may type a default as a number or boolean; the runner hands every input over as a string.
      default: s.default === undefined || s.default === null ? undefined : String(s.default),
      deprecationMessage: s.deprecationMessage === undefined ? undefined : String(s.deprecationMessage)
    }
  }
  /** @type {Record<string, { description?: string }>} */
  const outputs = {}
  for (const [name, spec] of Object.entries(doc.outputs ?? {})) {
    outputs[name] = { description: spec?.description === undefined ? undefined : String(spec.description) }
  }
  return {
    dir,
    file,
    name: doc.name === undefined ? '' : String(doc.name),
    description: doc.description === undefined ? '' : String(doc.description),
    inputs,
    outputs,
    runs: {
      using: runs.using,
      main: runs.main,
      pre: runs.pre,
      post: runs.post,
      preIf: runs['pre-if'],
      postIf: runs['post-if']
    }
  }
}

/** `INPUT_<NAME>` as the runner and @actions/core spell it: spaces to `_`, upper case, `-` kept. */
export function inputEnvName(name) {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

// --- file commands ---------------------------------------------------------------------------------

/**
 * Parses a GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE file: `NAME=value` lines and
 * `NAME<<DELIMITER` … `DELIMITER` blocks, as the runner does (empty lines skipped). Lines end with
 * LF; on Windows the runner also takes CRLF, which is what @actions/core writes there (os.EOL).
 * Throws on a malformed file (the runner then fails the step).
 *
 * @param {string} text
 * @param {{ windows?: boolean }} [options]
 * @returns {Array<[string, string]>} in file order (later pairs win)
 */
export function parseFileCommand(text, options = {}) {
  /** @type {Array<[string, string]>} */
  const pairs = []
  let index = 0
  /** @returns {{ line: string, newline: string } | null} */
  const readLine = () => {
    if (index >= text.length) return null
    const lf = text.indexOf('\n', index)
    if (lf < 0) {
      const line = text.slice(index)
      index = text.length
      return { line, newline: '' }
    }
    if (options.windows && lf > index && text[lf - 1] === '\r') {
      const line = text.slice(index, lf - 1)
      index = lf + 1
      return { line, newline: '\r\n' }
    }
    const line = text.slice(index, lf)
    index = lf + 1
    return { line, newline: '\n' }
  }
  for (let next = readLine(); next; next = readLine()) {
    const { line } = next
    if (line === '') continue
    const equals = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      const name = line.slice(0, equals)
      if (!name) throw new Error(`Invalid format '${line}': name must not be empty`)
      pairs.push([name, line.slice(equals + 1)])
    } else if (heredoc >= 0) {
      const name = line.slice(0, heredoc)
      const delim = line.slice(heredoc + 2)
      if (!name || !delim) throw new Error(`Invalid format '${line}': name and delimiter must not be empty`)
      const start = index
      let end = index
      for (;;) {
        const valueLine = readLine()
        if (!valueLine) throw new Error(`Invalid value. Matching delimiter not found '${delim}'`)
        if (valueLine.line === delim) break
        end = index - valueLine.newline.length
      }
      pairs.push([name, end > start ? text.slice(start, end) : ''])
    } else {
      throw new Error(`Invalid format '${line}'`)
    }
  }
  return pairs
}

// --- workflow commands -----------------------------------------------------------------------------

/**
 * Parses one output line as a workflow command (`::name k=v,k=v::message`), or returns null.
 * Like the runner: the line is trimmed; only known command names count; values are unescaped.
 *
 * @param {string} line
 * @returns {{ name: string, properties: Record<string, string>, message: string } | null}
 */
export function parseCommand(line) {
  const input = line.trim()
  if (!input.startsWith('::')) return null
  const end = input.indexOf('::', 2)
  if (end < 0) return null
  const info = input.slice(2, end)
  const space = info.indexOf(' ')
  const name = (space < 0 ? info : info.slice(0, space)).toLowerCase()
  if (!COMMANDS.has(name)) return null
  /** @type {Record<string, string>} */
  const properties = {}
  if (space > 0) {
    for (const part of info
      .slice(space + 1)
      .trim()
      .split(',')) {
      if (!part) continue
      const eq = part.indexOf('=')
      if (eq > 0 && eq < part.length - 1) properties[part.slice(0, eq)] = unescapeProperty(part.slice(eq + 1))
    }
  }
  return { name, properties, message: unescapeData(input.slice(end + 2)) }
}

/** @param {string} s */
function unescapeData(s) {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

/** @param {string} s */
function unescapeProperty(s) {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%')
}

// --- masking -------------------------------------------------------------------------------------

/**
 * The strings the runner masks for one `::add-mask::` value: the value, each of its lines (output
 * is masked line by line), and its JSON-string and URI-escaped forms. (The runner's base64 forms
 * are not emulated.)
 *
 * @param {string} value
 * @returns {string[]}
 */
export function maskVariants(value) {
  const variants = new Set([value])
  for (const line of value.split(/[\r\n]+/)) if (line.trim()) variants.add(line.trim())
  variants.add(JSON.stringify(value).slice(1, -1))
  variants.add(encodeURIComponent(value).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
  return [...variants].filter(v => v.trim() !== '')
}

/**
 * Replaces every occurrence of every mask with `***` (overlapping matches merged), as the runner's
 * secret masker does.
 *
 * @param {string} line
 * @param {Iterable<string>} masks values given to ::add-mask:: (their variants are masked too)
 * @returns {string}
 */
export function maskLine(line, masks) {
  /** @type {Array<[number, number]>} */
  const ranges = []
  for (const mask of masks) {
    for (const variant of maskVariants(mask)) {
      for (let at = line.indexOf(variant); at >= 0; at = line.indexOf(variant, at + 1)) {
        ranges.push([at, at + variant.length])
      }
    }
  }
  if (ranges.length === 0) return line
  ranges.sort((a, b) => a[0] - b[0])
  let out = ''
  let cursor = 0
  let [start, end] = ranges[0]
  for (const [s, e] of ranges.slice(1)) {
    if (s <= end) {
      end = Math.max(end, e)
    } else {
      out += line.slice(cursor, start) + '***'
      cursor = end
      ;[start, end] = [s, e]
    }
  }
  return out + line.slice(cursor, start) + '***' + line.slice(end)
}

// --- conditions ----------------------------------------------------------------------------------

/**
 * Evaluates a step condition (`post-if`, a run step's `if`) for a job status. Supports the status
 * functions always(), success(), failure(), cancelled(), `!`, `&&`, `||`, parentheses, true/false,
 * with or without `${{ }}`. Anything else throws: the emulator has no contexts to evaluate.
 *
 * @param {string | undefined} condition  absent: success()
 * @param {'success' | 'failure' | 'cancelled'} status
 * @returns {boolean}
 */
export function evaluateCondition(condition, status) {
  let text = (condition ?? '').trim()
  const wrapped = /^\$\{\{([\s\S]*)\}\}$/.exec(text)
  if (wrapped) text = wrapped[1].trim()
  if (text === '') text = 'success()'
  if (!/\b(always|success|failure|cancelled)\s*\(/.test(text)) text = `success() && (${text})`

  const tokens = text.match(/\s*(\(|\)|!|&&|\|\||[A-Za-z_][A-Za-z0-9_]*\s*\(\s*\)|true|false|\S+)/g) ?? []
  let pos = 0
  const peek = () => tokens[pos]?.trim()
  const fail = () => {
    throw new Error(`unsupported condition for the emulator: ${condition} (status functions, !, &&, ||, () only)`)
  }
  /** @returns {boolean} */
  const primary = () => {
    const token = peek()
    pos++
    if (token === '!') return !primary()
    if (token === '(') {
      const value = or()
      if (peek() !== ')') fail()
      pos++
      return value
    }
    if (token === 'true') return true
    if (token === 'false') return false
    const fn = /^([a-z]+)\s*\(\s*\)$/.exec(token ?? '')
    if (fn) {
      if (fn[1] === 'always') return true
      if (fn[1] === 'success') return status === 'success'
      if (fn[1] === 'failure') return status === 'failure'
      if (fn[1] === 'cancelled') return status === 'cancelled'
    }
    return fail()
  }
  const and = () => {
    let value = primary()
    while (peek() === '&&') {
      pos++
      const right = primary()
      value = value && right
    }
    return value
  }
  const or = () => {
    let value = and()
    while (peek() === '||') {
      pos++
      const right = and()
      value = value || right
    }
    return value
  }
  const result = or()
  if (pos !== tokens.length) fail()
  return result
}

// --- the job -------------------------------------------------------------------------------------

/** Minimal runner-machine env: the developer's own variables (OS_*, NODE_OPTIONS …) stay out. */
function defaultBaseEnv() {
  /** @type {Record<string, string>} */
  const env = {}
  for (const name of ['PATH', 'HOME']) if (process.env[name] !== undefined) env[name] = String(process.env[name])
  return env
}

/**
 * Per-job state shared by its steps: dirs, exported env, PATH additions, masks, status.
 * @param {import('./runner.d.mts').JobOptions} options
 */
function createJob(options = {}) {
  const root = mkdtempSync(join(tmpdir(), 'gha-emulator-'))
  const workspace = options.workspace ? resolve(options.workspace) : join(root, 'workspace')
  const runnerTemp = join(root, 'temp')
  for (const dir of [workspace, runnerTemp, join(root, 'file-commands'), join(root, 'tool-cache')]) {
    mkdirSync(dir, { recursive: true })
  }
  const eventPath = join(root, 'event.json')
  writeFileSync(eventPath, JSON.stringify(options.event ?? {}))
  const sha = randomBytes(20).toString('hex')
  const repository = options.runnerEnv?.GITHUB_REPOSITORY ?? 'octo-org/octo-repo'
  /** @type {Record<string, string>} */
  const contextEnv = {
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTOR: 'octocat',
    GITHUB_ACTOR_ID: '583231',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_BASE_REF: '',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
    GITHUB_HEAD_REF: '',
    GITHUB_JOB: 'test',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REF_PROTECTED: 'false',
    GITHUB_REF_TYPE: 'branch',
    GITHUB_REPOSITORY: repository,
    GITHUB_REPOSITORY_ID: '123456789',
    GITHUB_REPOSITORY_OWNER: repository.split('/')[0],
    GITHUB_REPOSITORY_OWNER_ID: '987654',
    GITHUB_RETENTION_DAYS: '90',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_RUN_ID: String(1_000_000_000 + Math.floor(Math.random() * 8_999_999_999)),
    GITHUB_RUN_NUMBER: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_SHA: sha,
    GITHUB_TRIGGERING_ACTOR: 'octocat',
    GITHUB_WORKFLOW: 'CI',
    GITHUB_WORKFLOW_REF: `${repository}/.github/workflows/ci.yml@refs/heads/main`,
    GITHUB_WORKFLOW_SHA: sha,
    GITHUB_WORKSPACE: workspace,
    RUNNER_ARCH: 'X64',
    RUNNER_ENVIRONMENT: 'github-hosted',
    RUNNER_NAME: 'GitHub Actions 2',
    RUNNER_OS: 'Linux',
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: join(root, 'tool-cache'),
    RUNNER_WORKSPACE: dirname(workspace),
    ...(options.debug ? { RUNNER_DEBUG: '1' } : {}),
    ...(options.runnerEnv ?? {})
  }
  return {
    root,
    workspace,
    runnerTemp,
    contextEnv,
    baseEnv: options.baseEnv ?? defaultBaseEnv(),
    // The runner starts the job's env with CI=true; the job's `env:` and GITHUB_ENV can change it.
    /** @type {Record<string, string>} */
    env: { CI: 'true', ...(options.jobEnv ?? {}) },
    /** @type {string[]} */
    prependPath: [],
    // Secrets referenced by the workflow are masked from the start of the job.
    /** @type {string[]} */
    masks: (options.secrets ?? []).filter(secret => secret.trim() !== ''),
    failed: false,
    cancelled: false,
    runCount: 0,
    keepTemp: Boolean(options.keepTemp),
    node: options.node,
    /** @returns {'success' | 'failure' | 'cancelled'} */
    status() {
      return this.failed ? 'failure' : this.cancelled ? 'cancelled' : 'success'
    },
    cleanup() {
      // A process the job left (a renewer whose post step did not run) may still be writing there.
      if (!this.keepTemp) rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
    }
  }
}

/** @typedef {ReturnType<typeof createJob>} Job */

/**
 * The env of a step, in the runner's order of precedence (see the top of this file).
 * @param {Job} job @param {Record<string, string>} [stepEnv] @param {Record<string, string>} [state]
 * @param {Record<string, string>} [inputs]
 */
function stepEnvironment(job, stepEnv, state, inputs) {
  /** @type {Record<string, string>} */
  const env = { ...job.baseEnv, ...job.env, ...(stepEnv ?? {}) }
  for (const [name, value] of Object.entries(state ?? {})) env[`STATE_${name}`] = value
  for (const [name, value] of Object.entries(inputs ?? {})) env[inputEnvName(name)] = value
  if (job.prependPath.length > 0) {
    env.PATH = [...job.prependPath].reverse().join(delimiter) + (env.PATH ? delimiter + env.PATH : '')
  }
  return Object.assign(env, job.contextEnv)
}

/**
 * Runs one process as a step: fresh file-command files, env layering, command processing,
 * timeout/cancel handling; then applies what the step exported to the job.
 *
 * @param {Job} job
 * @param {{ name: string, stage: 'main' | 'post' | 'run', command: string, args: string[], cwd: string,
 *   stepEnv?: Record<string, string>, state?: Record<string, string>, inputs?: Record<string, string>,
 *   timeoutMs?: number, cancelAfterMs?: number, header?: string[] }} spec
 * @returns {Promise<import('./runner.d.mts').StepResult>}
 */
async function runProcessStep(job, spec) {
  const files = {}
  for (const [key, prefix] of [
    ['GITHUB_ENV', 'set_env_'],
    ['GITHUB_OUTPUT', 'set_output_'],
    ['GITHUB_STATE', 'save_state_'],
    ['GITHUB_PATH', 'add_path_'],
    ['GITHUB_STEP_SUMMARY', 'step_summary_']
  ]) {
    files[key] = join(job.root, 'file-commands', prefix + randomUUID())
    writeFileSync(files[key], '')
  }

  const env = stepEnvironment(job, spec.stepEnv, spec.state, spec.inputs)
  Object.assign(env, files)
  if (spec.stage === 'run') {
    job.runCount += 1
    env.GITHUB_ACTION = job.runCount === 1 ? '__run' : `__run_${job.runCount}`
  } else {
    env.GITHUB_ACTION = '__self'
  }

  const step = newStepResult(spec.name, spec.stage)
  step.env = env
  step.header = spec.header ?? []
  const commandsStopped = { token: /** @type {string | null} */ (null) }
  const allowUnsecure = String(env.ACTIONS_ALLOW_UNSECURE_COMMANDS).toLowerCase() === 'true'

  /** @param {'stdout' | 'stderr'} stream @param {string} text */
  const onLine = (stream, text) => {
    step[stream].push(text)
    /** @type {import('./runner.d.mts').LogLine} */
    const entry = { stream, text, masked: '', visible: true }
    const command = commandsStopped.token === null ? parseCommand(text) : resumeCommand(text, commandsStopped)
    if (command) {
      entry.command = command.name
      step.commands.push({ ...command, stream, raw: text })
      applyCommand(job, step, command, allowUnsecure, commandsStopped)
      // add-mask is never echoed; the other commands show up as annotations, folds and so on.
      if (command.name === 'add-mask') entry.visible = false
    }
    entry.masked = maskLine(text, job.masks)
    step.log.push(entry)
  }

  const started = Date.now()
  const outcome = await execute({
    command: spec.command,
    args: spec.args,
    cwd: spec.cwd,
    env,
    onLine,
    timeoutMs: spec.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
    cancelAfterMs: spec.cancelAfterMs
  })
  step.durationMs = Date.now() - started
  step.exitCode = outcome.exitCode
  step.signal = outcome.signal
  step.timedOut = outcome.timedOut
  if (outcome.spawnError) step.errors.push(outcome.spawnError)

  processFileCommands(job, step, files)
  step.summary = readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8')

  if (outcome.cancelled) {
    step.status = 'cancelled'
    annotate(step, 'error', 'The operation was canceled.')
  } else if (outcome.timedOut) {
    step.status = 'failure'
    annotate(step, 'error', `The action has timed out (${spec.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS} ms).`)
  } else if (outcome.exitCode !== 0) {
    step.status = 'failure'
    if (spec.stage === 'run') annotate(step, 'error', `Process completed with exit code ${outcome.exitCode}.`)
  } else if (step.commandFailed) {
    step.status = 'failure'
  } else {
    step.status = 'success'
  }
  return step
}

/**
 * @param {string} name
 * @param {'main' | 'post' | 'run'} stage
 * @returns {import('./runner.d.mts').StepResult}
 */
function newStepResult(name, stage) {
  return {
    name,
    stage,
    status: 'skipped',
    exitCode: null,
    signal: null,
    timedOut: false,
    durationMs: 0,
    stdout: [],
    stderr: [],
    log: [],
    commands: [],
    annotations: [],
    errors: [],
    masks: [],
    exportedEnv: {},
    outputs: {},
    state: {},
    path: [],
    summary: '',
    env: {},
    header: [],
    commandFailed: false
  }
}

/**
 * @param {string} text
 * @param {{ token: string | null }} stopped
 */
function resumeCommand(text, stopped) {
  // While commands are stopped, only `::<token>::` is recognised (and resumes processing).
  if (text.trim() === `::${stopped.token}::`) {
    stopped.token = null
    return { name: 'resume-commands', properties: {}, message: '' }
  }
  return null
}

/**
 * @param {import('./runner.d.mts').StepResult} step
 * @param {'error' | 'warning' | 'notice'} level
 * @param {string} message
 * @param {Record<string, string>} [properties]
 */
function annotate(step, level, message, properties = {}) {
  step.annotations.push({ level, message, properties })
}

/**
 * @param {Job} job
 * @param {import('./runner.d.mts').StepResult} step
 * @param {{ name: string, properties: Record<string, string>, message: string }} command
 * @param {boolean} allowUnsecure
 * @param {{ token: string | null }} stopped
 */
function applyCommand(job, step, command, allowUnsecure, stopped) {
  const { name, properties, message } = command
  switch (name) {
    case 'add-mask':
      if (message.trim() === '') {
        annotate(step, 'warning', "Can't add secret mask for empty string in ##[add-mask] command.")
      } else {
        job.masks.push(message)
        step.masks.push(message)
      }
      break
    case 'error':
    case 'warning':
    case 'notice':
      annotate(step, name, message, properties)
      break
    case 'set-output':
    case 'save-state': {
      const key = properties.name
      if (!key) {
        step.errors.push(`Required field 'name' is missing in ##[${name}] command.`)
        step.commandFailed = true
        break
      }
      annotate(step, 'warning', `The \`${name}\` command is deprecated and will be disabled soon. Please upgrade to using Environment Files.`)
      if (name === 'set-output') step.outputs[key] = message
      else step.state[key] = message
      break
    }
    case 'set-env':
    case 'add-path':
      if (!allowUnsecure) {
        step.errors.push(
          `The \`${name}\` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the \`ACTIONS_ALLOW_UNSECURE_COMMANDS\` environment variable to \`true\`.`
        )
        step.commandFailed = true
      } else if (name === 'set-env' && properties.name && properties.name.toUpperCase() !== 'NODE_OPTIONS') {
        job.env[properties.name] = message
        step.exportedEnv[properties.name] = message
      } else if (name === 'add-path' && message) {
        job.prependPath = job.prependPath.filter(p => p !== message).concat(message)
        step.path.push(message)
      }
      break
    case 'stop-commands':
      stopped.token = message
      break
    default:
      break
  }
}

/**
 * @param {Job} job
 * @param {import('./runner.d.mts').StepResult} step
 * @param {Record<string, string>} files
 */
function processFileCommands(job, step, files) {
  const windows = job.contextEnv.RUNNER_OS === 'Windows'
  /** @param {string} kind @param {string} path @param {(pairs: Array<[string, string]>) => void} apply */
  const each = (kind, path, apply) => {
    try {
      apply(parseFileCommand(readFileSync(path, 'utf8'), { windows }))
    } catch (error) {
      step.errors.push(`Unable to process file command '${kind}' successfully. ${/** @type {Error} */ (error).message}`)
      step.commandFailed = true
    }
  }
  each('env', files.GITHUB_ENV, pairs => {
    for (const [name, value] of pairs) {
      if (name.toUpperCase() === 'NODE_OPTIONS') {
        annotate(step, 'error', "Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command.")
        continue
      }
      job.env[name] = value
      step.exportedEnv[name] = value
    }
  })
  each('output', files.GITHUB_OUTPUT, pairs => {
    for (const [name, value] of pairs) step.outputs[name] = value
  })
  each('state', files.GITHUB_STATE, pairs => {
    for (const [name, value] of pairs) step.state[name] = value
  })
  // The runner reads this one with File.ReadAllLines: CR, LF and CRLF all end a line.
  for (const line of readFileSync(files.GITHUB_PATH, 'utf8').split(/\r\n|\r|\n/)) {
    if (!line) continue
    job.prependPath = job.prependPath.filter(p => p !== line).concat(line)
    step.path.push(line)
  }
}

/**
 * Spawns a process in its own process group, feeds its output line by line, enforces the timeout
 * (kill) and a simulated cancellation (SIGINT, SIGTERM, SIGKILL like the runner).
 *
 * @param {{ command: string, args: string[], cwd: string, env: Record<string, string>,
 *   onLine: (stream: 'stdout' | 'stderr', line: string) => void, timeoutMs: number, cancelAfterMs?: number }} spec
 * @returns {Promise<{ exitCode: number | null, signal: string | null, timedOut: boolean, cancelled: boolean, spawnError?: string }>}
 */
function execute(spec) {
  return new Promise(resolvePromise => {
    let timedOut = false
    let cancelled = false
    /** @type {NodeJS.Timeout[]} */
    const timers = []
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    /** @param {NodeJS.Signals} signal */
    const signalGroup = signal => {
      try {
        process.kill(-(/** @type {number} */ (child.pid)), signal)
      } catch {
        /* gone */
      }
    }

    /** @type {Record<'stdout' | 'stderr', string>} */
    const pending = { stdout: '', stderr: '' }
    /** @param {'stdout' | 'stderr'} stream */
    const feed = stream => (/** @type {string} */ chunk) => {
      pending[stream] += chunk
      let newline
      while ((newline = pending[stream].indexOf('\n')) >= 0) {
        spec.onLine(stream, pending[stream].slice(0, newline).replace(/\r$/, ''))
        pending[stream] = pending[stream].slice(newline + 1)
      }
    }
    child.stdout.setEncoding('utf8').on('data', feed('stdout'))
    child.stderr.setEncoding('utf8').on('data', feed('stderr'))

    timers.push(
      setTimeout(() => {
        timedOut = true
        signalGroup('SIGKILL')
      }, spec.timeoutMs)
    )
    if (spec.cancelAfterMs !== undefined) {
      timers.push(
        setTimeout(() => {
          cancelled = true
          signalGroup('SIGINT')
          timers.push(setTimeout(() => signalGroup('SIGTERM'), CANCEL_SIGTERM_AFTER_MS))
          timers.push(setTimeout(() => signalGroup('SIGKILL'), CANCEL_SIGTERM_AFTER_MS + CANCEL_SIGKILL_AFTER_MS))
        }, spec.cancelAfterMs)
      )
    }

    let settled = false
    /** @param {number | null} exitCode @param {string | null} signal @param {string} [spawnError] */
    const finish = (exitCode, signal, spawnError) => {
      if (settled) return
      settled = true
      timers.forEach(clearTimeout)
      for (const stream of /** @type {const} */ (['stdout', 'stderr'])) {
        if (pending[stream]) spec.onLine(stream, pending[stream].replace(/\r$/, ''))
        pending[stream] = ''
      }
      child.stdout.destroy()
      child.stderr.destroy()
      resolvePromise({ exitCode, signal, timedOut, cancelled, ...(spawnError ? { spawnError } : {}) })
    }
    child.on('error', error => finish(null, null, `could not start ${spec.command}: ${error.message}`))
    child.on('exit', (code, signal) => {
      // Normally 'close' follows at once; a grandchild holding the pipes must not hang the step.
      timers.push(setTimeout(() => finish(code, signal), STREAM_DRAIN_MS))
    })
    child.on('close', (code, signal) => finish(code, signal))
  })
}

// --- public step and job API ---------------------------------------------------------------------

/**
 * Resolves the INPUT_* values for a step: given values (matched case-insensitively to declared
 * names), else defaults, else ''. Unknown names throw (the runner only warns; here it is a typo).
 *
 * @param {import('./runner.d.mts').ActionDefinition} action
 * @param {Record<string, string | number | boolean>} given
 * @param {Record<string, string>} contextEnv
 * @param {Record<string, string>} jobEnv
 * @returns {{ values: Record<string, string>, warnings: string[] }}
 */
function resolveInputs(action, given, contextEnv, jobEnv) {
  const declared = Object.keys(action.inputs)
  /** @type {Record<string, string>} */
  const values = {}
  const warnings = []
  for (const [name, value] of Object.entries(given)) {
    const match = declared.find(d => d.toLowerCase() === name.toLowerCase())
    if (!match) {
      throw new Error(`Unexpected input '${name}', valid inputs are ['${declared.join("', '")}']`)
    }
    values[match] = String(value)
    const deprecation = action.inputs[match].deprecationMessage
    if (deprecation) warnings.push(`Input '${match}' has been deprecated with message: ${deprecation}`)
  }
  for (const name of declared) {
    if (!(name in values)) values[name] = evaluateDefault(action.inputs[name].default ?? '', name, contextEnv, jobEnv)
  }
  return { values, warnings }
}

/**
 * Input defaults may use `${{ github.* }}`, `${{ runner.* }}` and `${{ env.* }}`.
 * @param {string} value @param {string} input @param {Record<string, string>} contextEnv
 * @param {Record<string, string>} jobEnv
 */
function evaluateDefault(value, input, contextEnv, jobEnv) {
  return value.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, expression) => {
    const ref = /^(github|runner|env)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expression)
    if (!ref) throw new Error(`default of input '${input}': the emulator cannot evaluate \${{ ${expression} }}`)
    if (ref[1] === 'env') return jobEnv[ref[2]] ?? ''
    if (ref[1] === 'github' && ref[2] === 'token') return contextEnv.GITHUB_TOKEN ?? ''
    return contextEnv[`${ref[1].toUpperCase()}_${ref[2].toUpperCase()}`] ?? ''
  })
}

/**
 * Runs one stage of the action as its own one-step job (fresh temp dirs, removed afterwards).
 *
 * @param {import('./runner.d.mts').RunStepOptions} options
 * @returns {Promise<import('./runner.d.mts').StepResult>}
 */
export async function runStep(options) {
  const action = typeof options.action === 'string' ? loadAction(options.action) : options.action
  const job = createJob({ ...options, jobEnv: options.env })
  try {
    const step = await runActionStep(job, action, options.stage, options.inputs ?? {}, {
      state: options.state,
      timeoutMs: options.timeoutMs,
      cancelAfterMs: options.cancelAfterMs
    })
    recordForLeakScan(action, [step], [...job.masks])
    return step
  } finally {
    job.cleanup()
  }
}

/**
 * With LEAK_SCAN_DIR set (the test suites' global setup sets it), every job of this project's
 * action is appended there, raw, with its masks: the suites' global teardown then checks that no
 * masked value appears in any line but its own ::add-mask:: (scripts/leak-scan.mjs).
 *
 * @param {import('./runner.d.mts').ActionDefinition} action
 * @param {import('./runner.d.mts').StepResult[]} steps
 * @param {string[]} masks
 */
function recordForLeakScan(action, steps, masks) {
  const dir = process.env.LEAK_SCAN_DIR
  if (!dir || action.name !== 'OpenStack Keystone token') return
  const lines = steps.flatMap(step => [...step.stdout, ...step.stderr].map(line => `${step.name}: ${line}`))
  appendFileSync(join(dir, `emulator-${process.pid}.jsonl`), `${JSON.stringify({ masks, lines })}\n`)
}

/**
 * @param {Job} job
 * @param {import('./runner.d.mts').ActionDefinition} action
 * @param {'main' | 'post'} stage
 * @param {Record<string, string | number | boolean>} givenInputs
 * @param {{ name?: string, state?: Record<string, string>, stepEnv?: Record<string, string>, timeoutMs?: number, cancelAfterMs?: number }} extra
 */
async function runActionStep(job, action, stage, givenInputs, extra) {
  const target = stage === 'main' ? action.runs.main : action.runs.post
  if (!target) throw new Error(`${action.file} has no runs.${stage}`)
  const { values, warnings } = resolveInputs(action, givenInputs, job.contextEnv, job.env)
  const displayName = extra.name !== undefined ? (stage === 'main' ? extra.name : `Post ${extra.name}`) : stage === 'main' ? 'Run ./' : 'Post Run ./'
  // Printed with the masks known when the step starts, like the runner's step header.
  const header = (
    stage === 'post'
      ? ['Post job cleanup.']
      : [
          ...(Object.values(values).some(v => v !== '') ? ['with:'] : []),
          ...Object.entries(values)
            .filter(([, v]) => v !== '')
            .map(([k, v]) => `  ${k}: ${v}`),
          ...envBlock(job, extra.stepEnv)
        ]
  ).map(line => maskLine(line, job.masks))
  const step = await runProcessStep(job, {
    name: displayName,
    stage,
    // The runtime of the action: this process's node unless the job names another (e.g. Node 24).
    command: job.node ?? process.execPath,
    args: [join(action.dir, target)],
    cwd: job.workspace,
    stepEnv: extra.stepEnv,
    state: extra.state,
    inputs: values,
    timeoutMs: extra.timeoutMs,
    cancelAfterMs: extra.cancelAfterMs,
    header
  })
  for (const warning of warnings) annotate(step, 'warning', warning)
  return step
}

/**
 * The `env:` block the runner prints under a step's header: job env, exported values, step env.
 * @param {Job} job @param {Record<string, string> | undefined} stepEnv
 */
function envBlock(job, stepEnv) {
  const shown = { ...job.env, ...(stepEnv ?? {}) }
  delete shown.CI
  const names = Object.keys(shown)
  return names.length === 0 ? [] : ['env:', ...names.map(name => `  ${name}: ${shown[name]}`)]
}

/**
 * @param {Job} job
 * @param {import('./runner.d.mts').RunStepSpec} spec
 * @param {number | undefined} defaultTimeoutMs
 * @param {number | undefined} cancelAfterMs
 */
async function runScriptStep(job, spec, defaultTimeoutMs, cancelAfterMs) {
  const name = spec.name ?? `Run ${(spec.run ?? '').split('\n')[0]}`
  const header = [...envBlock(job, spec.env)].map(line => maskLine(line, job.masks))
  if (spec.fn) return runFunctionStep(job, spec, name, header)
  // Like the runner: the script goes to a file run with `bash --noprofile --norc -eo pipefail`.
  const script = join(job.runnerTemp, `${randomUUID()}.sh`)
  writeFileSync(script, spec.run ?? '')
  const cwd = spec.workingDirectory ? resolve(job.workspace, spec.workingDirectory) : job.workspace
  return runProcessStep(job, {
    name,
    stage: 'run',
    command: 'bash',
    args: ['--noprofile', '--norc', '-eo', 'pipefail', script],
    cwd,
    stepEnv: spec.env,
    timeoutMs: spec.timeoutMs ?? defaultTimeoutMs,
    cancelAfterMs,
    header
  })
}

/**
 * A test-code step: runs `fn` in this process with the env a step would get.
 * @param {Job} job @param {import('./runner.d.mts').RunStepSpec} spec @param {string} name @param {string[]} header
 */
async function runFunctionStep(job, spec, name, header) {
  const step = newStepResult(name, 'run')
  step.header = header
  const env = stepEnvironment(job, spec.env)
  step.env = env
  const started = Date.now()
  try {
    const result = await /** @type {NonNullable<typeof spec.fn>} */ (spec.fn)({ env, workspace: job.workspace })
    for (const [key, value] of Object.entries(result?.env ?? {})) {
      job.env[key] = value
      step.exportedEnv[key] = value
    }
    step.exitCode = 0
    step.status = 'success'
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    step.stderr.push(message)
    step.log.push({ stream: 'stderr', text: message, masked: maskLine(message, job.masks), visible: true })
    step.exitCode = 1
    step.status = 'failure'
  }
  step.durationMs = Date.now() - started
  return step
}

/**
 * Runs a job: `before` steps, the action's main step, `steps`, then the post step (if main ran and
 * post-if allows). A failing step skips the later steps whose condition is (implicitly) success().
 *
 * @param {import('./runner.d.mts').RunJobOptions} options
 * @returns {Promise<import('./runner.d.mts').JobTranscript>}
 */
export async function runJob(options) {
  const action = options.action ?? loadAction(options.actionDir ?? '.')
  const job = createJob(options)
  const cancel = normalizeCancel(options.cancelled)
  /** @type {import('./runner.d.mts').StepResult[]} */
  const steps = []
  let mainStep = /** @type {import('./runner.d.mts').StepResult | undefined} */ (undefined)
  let mainPost = /** @type {import('./runner.d.mts').StepResult | undefined} */ (undefined)
  /** Outputs of the steps with an id, for `${{ steps.ID.outputs.NAME }}`. @type {Record<string, Record<string, string>>} */
  const outputsById = {}
  /**
   * Action steps that ran, for their post steps: the runner runs those in reverse order.
   * @type {Array<{ name?: string, inputs: Record<string, string | number | boolean>, env?: Record<string, string>, main: import('./runner.d.mts').StepResult }>}
   */
  const ranActions = []

  /** @param {import('./runner.d.mts').StepResult} step @param {string} id */
  const record = (step, id) => {
    steps.push(step)
    if (step.status === 'failure') job.failed = true
    if (step.status === 'cancelled' || cancel?.after === id) job.cancelled = true
  }
  /** @param {string} name @param {'main' | 'post' | 'run'} stage */
  const skipped = (name, stage) => steps.push(newStepResult(name, stage))
  /** The one expression form tests need: `${{ steps.ID.outputs.NAME }}` ('' when unknown, as in Actions). @param {string} text */
  const expand = text =>
    text.replace(/\$\{\{\s*steps\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)\s*\}\}/g, (_all, id, name) => outputsById[id]?.[name] ?? '')
  /** @param {Record<string, any> | undefined} values */
  const expandAll = values =>
    values === undefined ? undefined : Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? expand(v) : v]))

  try {
    const runScripts = async (/** @type {import('./runner.d.mts').RunStepSpec[]} */ list) => {
      for (const given of list) {
        const id = given.name ?? ''
        const spec = { ...given, ...(given.run !== undefined && { run: expand(given.run) }), ...(given.env && { env: expandAll(given.env) }) }
        if (!evaluateCondition(spec.if, job.status())) {
          skipped(spec.name ?? (spec.uses ? 'Run ./' : `Run ${(spec.run ?? '').split('\n')[0]}`), spec.uses ? 'main' : 'run')
          continue
        }
        const cancelAfterMs = cancel?.during === id ? cancel.afterMs : undefined
        if (spec.uses) {
          const inputs = /** @type {Record<string, string | number | boolean>} */ (expandAll(spec.uses.inputs ?? {}))
          const step = await runActionStep(job, action, 'main', inputs, {
            name: spec.name,
            stepEnv: spec.env,
            timeoutMs: spec.timeoutMs ?? options.timeoutMs,
            cancelAfterMs
          })
          record(step, id)
          ranActions.push({ name: spec.name, inputs, env: spec.env, main: step })
          if (spec.id) outputsById[spec.id] = step.outputs
        } else {
          const step = await runScriptStep(job, spec, options.timeoutMs, cancelAfterMs)
          record(step, id)
          if (spec.id) outputsById[spec.id] = step.outputs
        }
      }
    }

    await runScripts(options.before ?? [])
    if (job.status() === 'success') {
      mainStep = await runActionStep(job, action, 'main', options.inputs ?? {}, {
        stepEnv: options.actionEnv,
        timeoutMs: options.timeoutMs,
        cancelAfterMs: cancel?.during === 'main' ? cancel.afterMs : undefined
      })
      record(mainStep, 'main')
      ranActions.unshift({ inputs: options.inputs ?? {}, env: options.actionEnv, main: mainStep })
      if (options.id) outputsById[options.id] = mainStep.outputs
    } else {
      skipped('Run ./', 'main')
    }
    await runScripts(options.steps ?? [])

    if (action.runs.post) {
      for (const ran of [...ranActions].reverse()) {
        const postName = ran.name !== undefined ? `Post ${ran.name}` : 'Post Run ./'
        if (evaluateCondition(action.runs.postIf ?? 'always()', job.status())) {
          const post = await runActionStep(job, action, 'post', ran.inputs, {
            name: ran.name,
            stepEnv: ran.env,
            state: ran.main.state,
            timeoutMs: options.postTimeoutMs ?? options.timeoutMs
          })
          record(post, postName)
          if (ran.main === mainStep) mainPost = post
        } else {
          skipped(postName, 'post')
        }
      }
    }
  } finally {
    job.cleanup()
  }

  const masks = [...job.masks]
  const status = job.status()
  recordForLeakScan(action, steps, masks)
  return {
    steps,
    main: mainStep,
    post: mainPost ?? (mainStep ? steps.find(s => s.stage === 'post' && s.name === 'Post Run ./') : undefined),
    env: { ...job.env },
    outputs: mainStep?.outputs ?? {},
    state: mainStep?.state ?? {},
    masks,
    status,
    failed: status === 'failure',
    cancelled: job.cancelled,
    workspace: job.workspace,
    tempDir: job.keepTemp ? job.root : undefined,
    masked: line => maskLine(line, masks),
    step: name => steps.find(s => s.name === name || s.stage === name)
  }
}

/**
 * `true`: cancelled once the main step has finished; `{ after: name }`: once that step has
 * finished; `{ during: name, afterMs }`: while that step runs, afterMs after it started.
 * @param {import('./runner.d.mts').RunJobOptions['cancelled']} cancelled
 */
function normalizeCancel(cancelled) {
  if (!cancelled) return undefined
  if (cancelled === true) return { after: 'main', during: undefined, afterMs: undefined }
  if (cancelled.during !== undefined && cancelled.afterMs === undefined) {
    throw new Error('cancelled.during needs afterMs (use cancelled.after to cancel once a step has finished)')
  }
  return { after: cancelled.after, during: cancelled.during, afterMs: cancelled.afterMs }
}

// --- rendering (CLI) -----------------------------------------------------------------------------

/**
 * The log of a step as a person sees it in the Actions UI: header, masked lines, annotations.
 *
 * @param {import('./runner.d.mts').StepResult} step
 * @param {{ debug?: boolean }} [options]
 * @returns {string[]}
 */
export function renderStep(step, options = {}) {
  const lines = [`▶ ${step.name}`]
  if (step.status === 'skipped') return [`○ ${step.name} (skipped)`]
  for (const line of step.header) lines.push(`  ${line}`)
  let indent = ''
  for (const entry of step.log) {
    if (!entry.visible) continue
    const command = entry.command ? parseCommand(entry.masked) : null
    if (!command) {
      lines.push(indent + entry.masked)
      continue
    }
    switch (command.name) {
      case 'error':
        lines.push(`${indent}Error: ${command.message}`)
        break
      case 'warning':
        lines.push(`${indent}Warning: ${command.message}`)
        break
      case 'notice':
        lines.push(`${indent}Notice: ${command.message}`)
        break
      case 'debug':
        if (options.debug) lines.push(`${indent}##[debug]${command.message}`)
        break
      case 'group':
        lines.push(`▼ ${command.message}`)
        indent = '  '
        break
      case 'endgroup':
        indent = ''
        break
      default:
        break
    }
  }
  for (const a of step.annotations) {
    if (!step.commands.some(c => c.name === a.level && c.message === a.message)) {
      lines.push(`${a.level === 'error' ? 'Error' : a.level === 'warning' ? 'Warning' : 'Notice'}: ${a.message}`)
    }
  }
  for (const error of step.errors) lines.push(`Error: ${error}`)
  const seconds = (step.durationMs / 1000).toFixed(2)
  const mark = step.status === 'success' ? '✓' : step.status === 'cancelled' ? '⊘' : '✗'
  const why = step.timedOut
    ? 'timed out'
    : step.status === 'cancelled'
      ? 'cancelled'
      : step.status === 'failure'
        ? `exit ${step.exitCode ?? step.signal}`
        : 'ok'
  lines.push(`${mark} ${step.name} (${why}, ${seconds} s)`)
  return lines
}

// --- CLI -----------------------------------------------------------------------------------------

const USAGE = `Usage: node scripts/emulator/runner.mjs [--action DIR] [--input NAME=VALUE]... [--secret NAME=VALUE]...
          [--env NAME=VALUE]...
          [--before 'bash'] [--run 'bash']... [--cancel] [--timeout MS] [--debug] [--json]

Runs DIR's action.yml (default .) like the GitHub runner: --before steps, the main step, --run steps,
then the post step; prints each step's log as a person would see it (masked), exits 1 if the job failed.
  --input NAME=VALUE   an action input (repeatable; unknown names are an error)
  --secret NAME=VALUE  an input whose value comes from a secret: masked from the start, like
                       with: NAME: \${{ secrets.X }}
  --env NAME=VALUE     a job-level env variable (repeatable); the job otherwise only gets PATH and HOME
  --before SCRIPT      a bash step before the action (repeatable)
  --run SCRIPT         a bash step after the action's main step (repeatable)
  --cancel             cancel the job right after the main step (post-if: always() still runs)
  --timeout MS         per-step timeout (default ${DEFAULT_STEP_TIMEOUT_MS})
  --debug              RUNNER_DEBUG=1 and show ::debug:: lines
  --json               print the transcript as JSON instead`

/** @param {string[]} argv */
async function cli(argv) {
  /** @type {import('./runner.d.mts').RunJobOptions & { inputs: Record<string, string>, jobEnv: Record<string, string>, before: import('./runner.d.mts').RunStepSpec[], steps: import('./runner.d.mts').RunStepSpec[], secrets: string[] }} */
  const options = { actionDir: '.', inputs: {}, jobEnv: {}, before: [], steps: [], secrets: [] }
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`)
      return argv[++i]
    }
    /** @param {string} pair */
    const split = pair => {
      const eq = pair.indexOf('=')
      if (eq <= 0) throw new Error(`${arg} expects NAME=VALUE, got '${pair}'`)
      return [pair.slice(0, eq), pair.slice(eq + 1)]
    }
    if (arg === '--action') options.actionDir = value()
    else if (arg === '--input') {
      const [k, v] = split(value())
      options.inputs[k] = v
    } else if (arg === '--secret') {
      const [k, v] = split(value())
      options.inputs[k] = v
      options.secrets.push(v)
    } else if (arg === '--env') {
      const [k, v] = split(value())
      options.jobEnv[k] = v
    } else if (arg === '--before') options.before.push({ run: value() })
    else if (arg === '--run') options.steps.push({ run: value() })
    else if (arg === '--cancel') options.cancelled = true
    else if (arg === '--timeout') {
      options.timeoutMs = Number(value())
      if (!(options.timeoutMs > 0)) throw new Error('--timeout expects a positive number of milliseconds')
    } else if (arg === '--debug') options.debug = true
    else if (arg === '--json') json = true
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE)
      return 0
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`)
  }
  const transcript = await runJob(options)
  if (json) {
    // Each step's full env is noise here (and holds the machine's PATH and HOME).
    console.log(JSON.stringify({ ...transcript, steps: transcript.steps.map(({ env, ...step }) => step) }, null, 2))
  } else {
    for (const step of transcript.steps) console.log(renderStep(step, { debug: options.debug }).join('\n'))
    console.log(transcript.status === 'success' ? 'Job succeeded' : transcript.status === 'cancelled' ? 'Job cancelled' : 'Job failed')
  }
  return transcript.status === 'success' ? 0 : 1
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli(process.argv.slice(2)).then(
    code => {
      process.exitCode = code
    },
    error => {
      console.error(`runner.mjs: ${error instanceof Error ? error.message : error}`)
      process.exitCode = 2
    }
  )
}
