import type { ActionConfig } from '../config/types.js'
import type { Core } from '../runtime/core.js'
import { directUseSetup, DirectUseError, PLUGIN_PATH_NOTE, type DirectUseSetup } from './direct-use.js'
import { UserError } from '../errors.js'
import type { StepFiles } from '../runtime/files.js'
import type { Token } from '../keystone/token.js'
import { exportToken } from './outputs.js'

/**
 * token-use: direct, in two halves: prepareDirectUse writes what later steps need (the auth plugin
 * `openstack-token` and the token's state) and exports nothing, so a step that cannot write them
 * fails before any variable is handed on; handOnDirectUse then exports its variables, after
 * tokenEnvironment()'s.
 */
export function prepareDirectUse(
  token: Token,
  config: Pick<ActionConfig, 'authUrl' | 'region' | 'interface'>,
  env: Readonly<Record<string, string | undefined>>,
  files: StepFiles
): DirectUseSetup {
  let setup
  try {
    setup = directUseSetup({
      token: token.value,
      receivedAt: token.receivedAt,
      validForMs: token.validForMs,
      tokenBody: token.document,
      authUrl: config.authUrl,
      ...(config.region !== undefined && { region: config.region }),
      ...(config.interface !== undefined && { interface: config.interface }),
      runnerTemp: files.tempDir,
      env
    })
  } catch (error) {
    if (error instanceof DirectUseError) throw new UserError(`${error.message} Use token-use: exchange, or check auth-url.`)
    throw error
  }
  try {
    files.writeWithMode(setup.files)
  } catch (error) {
    // The file seam's own sentences name the file and RUNNER_TEMP already.
    if (error instanceof UserError) throw error
    throw new UserError(
      `Could not write the files later steps need for token-use: direct under RUNNER_TEMP (${files.tempDir}): ${(error as Error).message}; RUNNER_TEMP must be a folder this job can write to, or set token-use: exchange.`
    )
  }
  return setup
}

/** Exports what prepareDirectUse set up, and says what it means for later steps. */
export function handOnDirectUse(core: Core, setup: DirectUseSetup): void {
  exportToken(core, setup.env)
  for (const warning of setup.warnings) core.warning(warning)
  for (const note of [...setup.notes, PLUGIN_PATH_NOTE]) core.debug(note)
}
