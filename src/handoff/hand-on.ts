import type { ActionConfig } from '../config/types.js'
import type { Token } from '../keystone/token.js'
import type { PreparedTls } from '../net/tls.js'
import type { Core } from '../runtime/core.js'
import type { StepFiles } from '../runtime/files.js'
import { handOnDirectUse, prepareDirectUse } from './direct-use-step.js'
import { tokenEnvironment } from './environment.js'
import { exportToken, setOutputs } from './outputs.js'

/** What a step decides about handing its token on: where later steps go and how they use it. */
export type HandOnSettings = Pick<ActionConfig, 'authUrl' | 'region' | 'interface' | 'exportEnv' | 'tokenUse'>

/**
 * What every step that holds a token does with it for the steps after it, whether it logged in
 * or took a token another job shared: direct use's files first (a setup that cannot write them
 * fails before anything is handed on), then its outputs, then the variables later steps see (the
 * token, its scope, the login variables blanked, and direct use's).
 */
export function handOn(
  core: Core,
  token: Token,
  settings: HandOnSettings,
  tls: Pick<PreparedTls, 'caFile' | 'insecure'>,
  env: Readonly<Record<string, string | undefined>>,
  files: StepFiles
): void {
  const directUse = settings.exportEnv && settings.tokenUse === 'direct' ? prepareDirectUse(token, settings, env, files) : undefined
  setOutputs(core, token, settings)
  if (!settings.exportEnv) return
  exportToken(core, tokenEnvironment(settings, token, tls, env))
  if (directUse) handOnDirectUse(core, directUse)
}
