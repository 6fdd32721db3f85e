import type { ActionConfig } from '../config/types.js'
import type { Core } from '../runtime/core.js'
import { directUseSetup, DirectUseError } from './direct-use.js'
import { UserError } from '../errors.js'
import type { StepFiles } from '../runtime/files.js'
import type { Token } from '../keystone/token.js'
import { exportToken } from './outputs.js'

/**
 * token-use: direct. openstacksdk (and so the CLI) asks its keyring for cached auth state: a small
 * keyring shim on PYTHONPATH answers with our token and its catalog, so later commands use the
 * token as it is, with no Keystone request, and an application credential's token works too.
 */
export function setUpDirectUse(
  core: Core,
  token: Token,
  config: Pick<ActionConfig, 'authUrl' | 'region' | 'interface'>,
  env: Readonly<Record<string, string | undefined>>,
  files: StepFiles
): void {
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
  files.writeWithMode(setup.files)
  exportToken(core, setup.env)
  for (const warning of setup.warnings) core.warning(warning)
  for (const note of setup.notes) core.debug(note)
}
