import { UserError } from '../errors.js'

/** The job summary, as `@actions/core`'s `summary` builds it. */
export interface SummaryWriter {
  addHeading(text: string, level?: number): SummaryWriter
  addTable(rows: ({ data: string; header?: boolean } | string)[][]): SummaryWriter
  addRaw(text: string, addEOL?: boolean): SummaryWriter
  write(): Promise<unknown>
}

/**
 * What the steps ask of the runner, as `@actions/core` names it. The entry points pass lazyCore
 * (lazy-core.ts); tests pass the real @actions/core or a fake.
 */
export interface Core {
  getInput(name: string, options?: { trimWhitespace?: boolean }): string
  getState(name: string): string
  setSecret(secret: string): void
  info(message: string): void
  warning(message: string): void
  debug(message: string): void
  setFailed(message: string): void
  exportVariable(name: string, value: string): void
  setOutput(name: string, value: string): void
  saveState(name: string, value: string): void
  getIDToken(audience?: string): Promise<string>
  summary?: SummaryWriter
  /** A Keystone request is on the wire: a core that loads lazily starts loading now. */
  prepare?(): void
  /** Resolves once the file commands (state, outputs, env) and the summary can be used. */
  ready?(): Promise<void>
}

/** Ends a step: a user's mistake in one sentence, anything else as a short internal error. */
export function failStep(core: Core, error: unknown): void {
  if (error instanceof UserError) {
    core.setFailed(error.message)
    return
  }
  const message = error instanceof Error ? error.message : String(error)
  core.debug(error instanceof Error && error.stack ? error.stack : message)
  core.setFailed(`openstack-token hit an internal error (${message}); please report it with the step's debug log.`)
}
