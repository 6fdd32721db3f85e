import type * as actionsCore from '@actions/core'
import { UserError } from './errors.js'
import type { SummaryWriter } from './summary.js'

/** The part of `@actions/core` the steps use; entry points pass the real module, tests may not. */
export type Core = Pick<
  typeof actionsCore,
  'getInput' | 'setSecret' | 'exportVariable' | 'setOutput' | 'saveState' | 'getState' | 'info' | 'warning' | 'debug' | 'setFailed' | 'getIDToken'
> & { summary?: SummaryWriter }

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
