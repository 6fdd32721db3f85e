import * as fs from 'node:fs'
import type { ConfigSource } from '../config/inputs.js'
import { Reader, resolveBoolean } from '../config/reader.js'
import { UserError } from '../errors.js'
import { isObject } from '../json.js'
import type { Core } from '../runtime/core.js'
import { TOKEN_SHAPE } from '../keystone/token.js'
import { tokenStatePath } from '../handoff/direct-use.js'

/**
 * `refresh-env: true`: no login. A later step of the job hands on the current token of the job's
 * login (the renewed one, once a renewal has landed) as OS_TOKEN, OS_AUTH_TOKEN and the `token`
 * output, for tools that read the token once at their start (Terraform/OpenTofu, swift, rclone).
 * The token state is found by the OS_TOKEN the job has (the renewer keeps it under each token it
 * handed out). The post step of such a step revokes nothing: the login's own post step does.
 */
export function refreshRequested(source: ConfigSource): boolean {
  return resolveBoolean(new Reader(source).fromInput('refresh-env'), false)
}

export async function refreshEnvironment(
  core: Pick<Core, 'setSecret' | 'info' | 'exportVariable' | 'setOutput' | 'ready'>,
  env: Readonly<Record<string, string | undefined>>
): Promise<void> {
  const jobToken = env.OS_TOKEN?.trim()
  if (!jobToken) {
    throw new UserError(
      'refresh-env: true hands on the token of an earlier openstack-token step of this job, and OS_TOKEN is not set: run the action with your credentials in an earlier step (with export-env: true).'
    )
  }
  const runnerTemp = env.RUNNER_TEMP
  if (!runnerTemp)
    throw new UserError('refresh-env: true reads the token state under RUNNER_TEMP, and RUNNER_TEMP is not set: run it in a GitHub Actions job.')
  const current = currentToken(tokenStatePath(runnerTemp, jobToken))
  if (current === undefined) {
    throw new UserError(
      "refresh-env: true found no token state for the job's OS_TOKEN under RUNNER_TEMP: the earlier openstack-token step used token-use: exchange or renew: false, or ran in another job; only a renewed login of this job can be handed on."
    )
  }
  core.setSecret(current)
  await core.ready?.()
  core.exportVariable('OS_TOKEN', current)
  core.exportVariable('OS_AUTH_TOKEN', current)
  core.setOutput('token', current)
  core.info(
    current === jobToken
      ? 'The token has not been renewed yet: OS_TOKEN and OS_AUTH_TOKEN stay as they are.'
      : 'Handed on the renewed token as OS_TOKEN and OS_AUTH_TOKEN (and the token output), with no new login.'
  )
}

function currentToken(file: string): string | undefined {
  try {
    const state: unknown = JSON.parse(fs.readFileSync(file, 'utf8'))
    if (!isObject(state) || typeof state.auth_token !== 'string' || !TOKEN_SHAPE.test(state.auth_token)) return undefined
    return state.auth_token
  } catch {
    return undefined
  }
}
