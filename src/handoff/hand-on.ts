import type { ActionConfig } from '../config/types.js'
import type { Token } from '../keystone/token.js'
import type { PreparedTls } from '../net/tls.js'
import type { Core } from '../runtime/core.js'
import type { StepFiles } from '../runtime/files.js'
import { setUpDirectUse } from './direct-use-step.js'
import { tokenEnvironment } from './environment.js'
import { exportToken, setOutputs } from './outputs.js'

/** What a step decides about handing its token on: where later steps go and how they use it. */
export type HandOnSettings = Pick<ActionConfig, 'authUrl' | 'region' | 'interface' | 'exportEnv' | 'tokenUse'>

/**
 * What every step that holds a token does with it for the steps after it, whether it logged in
 * or took a token another job shared: its outputs, then the variables later steps see (the token,
 * its scope, the login variables blanked), with direct use's files written first.
 */
export function handOn(
  core: Core,
  token: Token,
  settings: HandOnSettings,
  tls: Pick<PreparedTls, 'caFile' | 'insecure'>,
  env: Readonly<Record<string, string | undefined>>,
  files: StepFiles
): void {
  setOutputs(core, token, settings)
  if (!settings.exportEnv) return
  exportToken(core, tokenEnvironment(settings, token, tls, env))
  if (settings.tokenUse === 'direct') setUpDirectUse(core, token, settings, env, files)
}
