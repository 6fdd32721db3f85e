import { isLoopback } from './auth-url.js'
import { authRequestBody } from './auth-request.js'
import { resolveConfig, secretValues, type ActionConfig, type ConfigSource, type InputName } from './config.js'
import { failStep, type Core } from './core.js'
import { tokenEnvironment } from './environment.js'
import { Keystone, type Token } from './keystone.js'
import { forgetToken, saveToken } from './state.js'
import { checkIssuedToken, describeScope } from './token-checks.js'
import { formatDuration, formatTime } from './time.js'

export interface StepContext {
  core: Core
  env: Readonly<Record<string, string | undefined>>
  now?: () => Date
  /** Deadline of each Keystone request. */
  timeoutMs?: number
}

export const DEFAULT_TIMEOUT_MS = 30_000

/** The main step: log in once, mask, hand the token to later steps, keep it for the post step. */
export async function runMain({ core, env, now = () => new Date(), timeoutMs = DEFAULT_TIMEOUT_MS }: StepContext): Promise<void> {
  const source: ConfigSource = {
    // Secrets keep their inner spaces; the config module trims what may be trimmed.
    input: (name: InputName) => core.getInput(name, { trimWhitespace: false }),
    env
  }
  // Before anything can print: the secrets the step can read, whether or not it will use them.
  for (const secret of secretValues(source)) core.setSecret(secret)

  let keystone: Keystone | undefined
  let issued: Token | undefined
  try {
    const config = resolveConfig(source)
    for (const warning of configWarnings(config, env)) core.warning(warning)

    keystone = new Keystone(config.authUrl, { timeoutMs })
    issued = await keystone.issue(authRequestBody(config.credentials, config.scope), { catalog: false })
    core.setSecret(issued.value)
    // Saved at once: from here on, whatever happens, the post step can revoke it.
    saveToken(core, { token: issued.value, authUrl: config.authUrl, expiresAt: issued.expiresAt.toISOString(), revoke: config.revoke })

    checkIssuedToken(issued, config.scope, now())
    setOutputs(core, issued)
    if (config.exportEnv) {
      for (const [name, value] of Object.entries(tokenEnvironment(config, issued))) core.exportVariable(name, value)
    }
    core.info(summary(issued, config, now()))
    if (issued.applicationCredential && config.exportEnv) {
      core.warning(
        'This token comes from an application credential, and Keystone refuses to exchange such a token for another one: the `openstack` CLI (OS_AUTH_TYPE=v3token) cannot use it. Tools that send OS_TOKEN as it is (curl, admin_token) can.'
      )
    }
  } catch (error) {
    if (issued && keystone) await revokeAfterFailure(core, keystone, issued.value)
    failStep(core, error)
  }
}

function configWarnings(config: ActionConfig, env: StepContext['env']): string[] {
  const warnings = [...config.warnings]
  if (new URL(config.authUrl).protocol === 'http:' && !isLoopback(config.authUrl)) {
    warnings.push(`auth-url ${config.authUrl} uses plain http: the password and the token cross the network unencrypted; use https.`)
  }
  if (config.exportEnv && (env.OS_CLOUD ?? '').trim() !== '') {
    warnings.push(
      `OS_CLOUD is set (${env.OS_CLOUD}) in the job: with it, openstacksdk and the CLI read clouds.yaml and ignore OS_TOKEN, so later steps get OS_CLOUD=''; remove it from the job's env to silence this.`
    )
  }
  return warnings
}

function setOutputs(core: Core, token: Token): void {
  core.setOutput('token', token.value)
  core.setOutput('expires-at', token.expiresAt.toISOString())
  core.setOutput('issued-at', token.issuedAt.toISOString())
  core.setOutput('user-id', token.user.id)
  core.setOutput('project-id', token.project?.id ?? '')
  core.setOutput('domain-id', token.domain?.id ?? token.project?.domain?.id ?? '')
}

function summary(token: Token, config: ActionConfig, now: Date): string {
  const user = token.user.name ?? token.user.id
  const userDomain = token.user.domain ? ` (domain ${token.user.domain.name ?? token.user.domain.id})` : ''
  const via = token.applicationCredential ? ` through application credential ${token.applicationCredential.name ?? token.applicationCredential.id}` : ''
  const exported = config.exportEnv ? 'exported as OS_TOKEN' : 'not exported (export-env: false)'
  return `Issued a Keystone token for user ${user}${userDomain}${via}, scoped to ${describeScope(token)}, valid until ${formatTime(token.expiresAt)} (${formatDuration(token.expiresAt.getTime() - now.getTime())}); ${exported}.`
}

/** A token nobody will use must not stay valid for hours: revoke it before reporting the failure. */
async function revokeAfterFailure(core: Core, keystone: Keystone, token: string): Promise<void> {
  try {
    await keystone.revoke(token)
    forgetToken(core)
    core.info('Revoked the token issued before the failure.')
  } catch (error) {
    core.warning(`Could not revoke the token issued before the failure (${(error as Error).message}); the post step tries again.`)
  }
}
