import { authRequestBody } from './auth-request.js'
import { resolveConfig, secretValues, type ActionConfig, type ConfigSource, type InputName, type Timing } from './config.js'
import { failStep, type Core } from './core.js'
import { tokenEnvironment } from './environment.js'
import { Keystone, type Token } from './keystone.js'
import { DEFAULT_RETRY_POLICY, realClock, type RetryClock } from './retry.js'
import { forgetToken, saveToken } from './state.js'
import { checkIssuedToken, describeScope, shown } from './token-checks.js'
import { formatDuration, formatTime } from './time.js'

export interface StepContext {
  core: Core
  env: Readonly<Record<string, string | undefined>>
  now?: () => Date
  /** Replaces the `timeout` input: the deadline of each Keystone request. */
  timeoutMs?: number
  /** What the retry policy reads the time from and sleeps on. */
  clock?: RetryClock
}

/** The Keystone client of a step: its deadline per request, and the shared retry policy. */
export function keystoneFor(authUrl: string, timing: Timing, context: StepContext): Keystone {
  return new Keystone(authUrl, {
    timeoutMs: context.timeoutMs ?? timing.timeoutMs,
    retry: {
      policy: { ...DEFAULT_RETRY_POLICY, maxWaitMs: timing.maxWaitMs },
      clock: context.clock ?? realClock,
      log: line => context.core.info(line)
    }
  })
}

/** The main step: log in once, mask, hand the token to later steps, keep it for the post step. */
export async function runMain(context: StepContext): Promise<void> {
  const { core, env, now = () => new Date() } = context
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

    keystone = keystoneFor(config.authUrl, config.timing, context)
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
  const user = shown(token.user)
  const userDomain = token.user.domain ? ` (domain ${shown(token.user.domain)})` : ''
  const via = token.applicationCredential ? ` through application credential ${shown(token.applicationCredential)}` : ''
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
