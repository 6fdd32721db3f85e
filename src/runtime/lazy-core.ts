import { EOL } from 'node:os'
import type * as actionsCore from '@actions/core'
import type { Core } from './core.js'

/**
 * `@actions/core` for the entry points, loaded while Keystone works.
 *
 * Loading the package costs a large part of the step's floor (Node's start and one request; the
 * figures are in docs/benchmarks.md), mostly for the HTTP client (undici) its OIDC client brings,
 * which a password login never uses. Nothing in it is needed before Keystone answers: inputs and
 * state are environment variables, and a log line or a mask is one write to stdout. Those are done here, at once, in the
 * runner's format (__tests__/lazy-core.test.ts holds them to @actions/core's own output, byte for
 * byte). The file commands (state, outputs, env: the delimiter and the checks are the package's),
 * the job summary and the GitHub ID token come from @actions/core itself: the bundler puts it in a
 * chunk of its own, which the main step starts loading once its request is on the wire (prepare)
 * and awaits before its first file command (ready). The post step only logs, and never loads it.
 */

type FileCommands = Pick<typeof actionsCore, 'exportVariable' | 'setOutput' | 'saveState' | 'getIDToken' | 'summary'>

export interface LazyCore extends Core {
  prepare(): void
  ready(): Promise<void>
}

type Env = Readonly<Record<string, string | undefined>>

/** The runner reads `::name::message` lines; the message is escaped so that it stays one line. */
function command(name: string, message: string): void {
  process.stdout.write(`::${name}::${message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}${EOL}`)
}

export function lazyCore(env: Env, load: () => Promise<FileCommands> = () => import('@actions/core')): LazyCore {
  let loading: Promise<FileCommands> | undefined
  let loaded: FileCommands | undefined
  const start = (): Promise<FileCommands> => (loading ??= load().then(module => (loaded = module)))
  const fileCommands = (what: string): FileCommands => {
    if (!loaded) throw new Error(`${what} was called before @actions/core was loaded (await core.ready() first)`)
    return loaded
  }
  return {
    // The runner's convention: INPUT_ and the name upper-cased, spaces as underscores.
    getInput: (name, options) => {
      const value = env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || ''
      return options?.trimWhitespace === false ? value : value.trim()
    },
    getState: name => env[`STATE_${name}`] || '',
    setSecret: secret => command('add-mask', secret),
    info: message => void process.stdout.write(message + EOL),
    debug: message => command('debug', message),
    warning: message => command('warning', message),
    setFailed: message => {
      process.exitCode = 1
      command('error', message)
    },
    exportVariable: (name, value) => fileCommands('exportVariable').exportVariable(name, value),
    setOutput: (name, value) => fileCommands('setOutput').setOutput(name, value),
    saveState: (name, value) => fileCommands('saveState').saveState(name, value),
    get summary() {
      return fileCommands('summary').summary
    },
    getIDToken: async audience => (await start()).getIDToken(audience),
    prepare: () => {
      // A failed load is reported by ready(), where the step awaits it.
      start().catch(() => undefined)
    },
    ready: async () => {
      await start()
    }
  }
}
