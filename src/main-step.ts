import { authRequestBody } from './auth-request.js'
import { catalogRegions, checkRegion, endpointsFor } from './catalog.js'
import { resolveConfig, secretValues, type ActionConfig, type ConfigSource, type CredentialFile, type InputName, type Timing } from './config.js'
import { loadCredentialFile } from './credential-files.js'
import { nodeFiles, type StepFiles } from './files.js'
import { tokenSummary } from './summary.js'
import { prepareTls, type PreparedTls } from './tls.js'
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
  /** Files read (clouds.yaml, a CA) and written (a CA given as text); default: the real ones. */
  files?: StepFiles
}

/** The Keystone client of a step: its deadline per request, TLS trust, and the shared retry policy. */
export function keystoneFor(authUrl: string, timing: Timing, context: StepContext, tls: Omit<PreparedTls, 'caFile'> = { insecure: false }): Keystone {
  return new Keystone(authUrl, {
    timeoutMs: context.timeoutMs ?? timing.timeoutMs,
    retry: {
      policy: { ...DEFAULT_RETRY_POLICY, maxWaitMs: timing.maxWaitMs },
      clock: context.clock ?? realClock,
      log: line => context.core.info(line)
    },
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.insecure && { insecure: true })
  })
}

/** The main step: log in once, mask, hand the token to later steps, keep it for the post step. */
export async function runMain(context: StepContext): Promise<void> {
  const { core, env, now = () => new Date() } = context
  const files = context.files ?? nodeFiles(env)
  const source: ConfigSource = {
    // Secrets keep their inner spaces; the config module trims what may be trimmed.
    input: (name: InputName) => core.getInput(name, { trimWhitespace: false }),
    env
  }
  // Before anything can print: the secrets the step can read, whether or not it will use them.
  const masked = new Set(secretValues(source))
  for (const secret of masked) core.setSecret(secret)

  let keystone: Keystone | undefined
  let issued: Token | undefined
  try {
    const file = loadCredentialFile(source, files)
    if (file) for (const secret of secretValues({ ...source, file })) if (!masked.has(secret)) core.setSecret(secret)
    const config = resolveConfig({ ...source, ...(file && { file }) })
    for (const line of config.overrides) core.info(line)
    for (const warning of configWarnings(config, env, file)) core.warning(warning)
    const tls = prepareTls(config.tls, files)

    keystone = keystoneFor(config.authUrl, config.timing, context, tls)
    // The catalog weighs kilobytes: asked for only when a region is there to check against it.
    const wantCatalog = config.region !== undefined
    issued = await keystone.issue(authRequestBody(config.credentials, config.scope), { catalog: wantCatalog })
    core.setSecret(issued.value)
    // Saved at once: from here on, whatever happens, the post step can revoke it.
    saveToken(core, {
      token: issued.value,
      authUrl: config.authUrl,
      expiresAt: issued.expiresAt.toISOString(),
      revoke: config.revoke,
      ...(tls.caFile !== undefined && { caFile: tls.caFile }),
      ...(tls.insecure && { insecure: true })
    })

    checkIssuedToken(issued, config.scope, now())
    if (config.region !== undefined) checkRegion(issued.catalog, config.region, regionSource(config))
    setOutputs(core, issued, config)
    if (config.exportEnv) {
      for (const [name, value] of Object.entries(tokenEnvironment(config, issued, tls))) core.exportVariable(name, value)
    }
    core.info(summary(issued, config, now()))
    if (issued.applicationCredential && config.exportEnv) {
      core.warning(
        'This token comes from an application credential, and Keystone refuses to exchange such a token for another one: the `openstack` CLI (OS_AUTH_TYPE=v3token) cannot use it. Tools that send OS_TOKEN as it is (curl, admin_token) can.'
      )
    }
    await writeJobSummary(context, issued, config)
  } catch (error) {
    if (issued && keystone) await revokeAfterFailure(core, keystone, issued.value)
    failStep(core, error)
  }
}

function regionSource(config: ActionConfig): string {
  return config.regionFrom ?? 'region'
}

function configWarnings(config: ActionConfig, env: StepContext['env'], file: CredentialFile | undefined): string[] {
  const warnings = [...config.warnings]
  const cloud = (env.OS_CLOUD ?? '').trim()
  // OS_CLOUD that named the clouds.yaml just read is expected; one left over from elsewhere is not.
  if (config.exportEnv && cloud !== '' && !file?.label.startsWith('cloud ')) {
    warnings.push(
      `OS_CLOUD is set (${cloud}) in the job: with it, openstacksdk and the CLI read clouds.yaml and ignore OS_TOKEN, so later steps get OS_CLOUD=''; remove it from the job's env to silence this.`
    )
  }
  if (config.tls.insecure) {
    warnings.push('insecure: true: Keystone\'s certificate is not verified, for the action and, through OS_INSECURE, for later steps; prefer cacert.')
  }
  return warnings
}

/** The job summary is a courtesy: failing to write it must not cost the job its token. */
async function writeJobSummary(context: StepContext, token: Token, config: ActionConfig): Promise<void> {
  if (!context.env.GITHUB_STEP_SUMMARY || !context.core.summary) return
  try {
    const services = token.catalog && config.region !== undefined ? Object.keys(endpointsFor(token.catalog, config.region, config.interface)).sort() : undefined
    await tokenSummary(context.core.summary, token, config, services).write()
  } catch (error) {
    context.core.warning(`Could not write the job summary: ${(error as Error).message}`)
  }
}

function setOutputs(core: Core, token: Token, config: ActionConfig): void {
  core.setOutput('token', token.value)
  core.setOutput('expires-at', token.expiresAt.toISOString())
  core.setOutput('issued-at', token.issuedAt.toISOString())
  core.setOutput('user-id', token.user.id)
  core.setOutput('project-id', token.project?.id ?? '')
  core.setOutput('domain-id', token.domain?.id ?? token.project?.domain?.id ?? '')
  if (token.catalog && config.region !== undefined) {
    core.setOutput('endpoints', JSON.stringify(endpointsFor(token.catalog, config.region, config.interface)))
    core.setOutput('catalog-regions', JSON.stringify(catalogRegions(token.catalog)))
  }
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
