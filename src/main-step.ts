import { authRequestBody } from './auth-request.js'
import { checkRegion, endpointsFor } from './catalog.js'
import {
  resolveConfig,
  resolveSharing,
  secretValues,
  type ActionConfig,
  type ConfigSource,
  type CredentialFile,
  type InputName,
  type SharingSettings
} from './config.js'
import { failStep, type Core } from './core.js'
import { loadCredentialFile } from './credential-files.js'
import { useTokenAsItIs } from './direct-use-step.js'
import { tokenEnvironment } from './environment.js'
import { KeystoneError } from './errors.js'
import { nodeFiles } from './files.js'
import type { Keystone, Token } from './keystone.js'
import { keylessLogin } from './oidc.js'
import { exportToken, setOutputs } from './outputs.js'
import { slotDelay, type Pacing } from './pacing.js'
import { realClock } from './retry.js'
import { sealForOutput, useSharedToken } from './share-step.js'
import { forgetToken, saveToken, type SavedToken } from './state.js'
import { keystoneFor, type StepContext } from './step-context.js'
import { tokenSummary } from './summary.js'
import { formatDuration, formatSeconds, formatTime } from './time.js'
import { prepareTls } from './tls.js'
import { checkIssuedToken, describeScope, shown } from './token-checks.js'

/** The main step: log in once (or take a shared token), mask, hand the token to later steps. */
export async function runMain(context: StepContext): Promise<void> {
  const { core, env } = context
  const source: ConfigSource = {
    // Secrets keep their inner spaces; the config module trims what may be trimmed.
    input: (name: InputName) => core.getInput(name, { trimWhitespace: false }),
    env
  }
  // Before anything can print: the secrets the step can read, whether or not it will use them.
  const masked = new Set(secretValues(source))
  for (const secret of masked) core.setSecret(secret)
  try {
    const sharing = resolveSharing(source)
    if (sharing.sharedToken && (await useSharedToken(context, source, sharing))) return
    await issueToken(context, source, sharing, masked)
  } catch (error) {
    failStep(core, error)
  }
}

/** Logs in with this job's credentials; as a producer, also seals the token for the other jobs. */
async function issueToken(context: StepContext, source: ConfigSource, sharing: SharingSettings, masked: Set<string>): Promise<void> {
  const { core, env, now = () => new Date() } = context
  const files = context.files ?? nodeFiles(env)
  let keystone: Keystone | undefined
  let issued: Token | undefined
  try {
    const file = await loadCredentialFile(source, files)
    if (file) {
      for (const secret of secretValues({ ...source, file })) {
        if (!masked.has(secret)) core.setSecret(secret)
        masked.add(secret)
      }
    }
    const config = resolveConfig({ ...source, ...(file && { file }) })
    for (const line of config.overrides) core.info(line)
    for (const warning of configWarnings(config, env, file)) core.warning(warning)
    const tls = prepareTls(config.tls, files)

    keystone = keystoneFor(config.authUrl, config.timing, context, tls, { loadCoreMeanwhile: true })
    if (config.pacing) await waitForSlot(context, config.pacing)
    // The catalog weighs kilobytes: asked for only when a region is there to check against it, or
    // when later steps get the variables (OS_STORAGE_URL comes from it, and direct use hands the
    // whole catalog to the clients). Same single request either way, only a larger answer.
    const direct = config.tokenUse === 'direct' && config.exportEnv
    const wantCatalog = config.region !== undefined || config.exportEnv
    issued = await logIn(context, keystone, config, wantCatalog)
    core.setSecret(issued.value)
    await core.ready?.()
    const producer = sharing.key !== undefined && !sharing.sharedToken
    // Saved at once: from here on, whatever happens, the post step can revoke it.
    const saved: SavedToken = {
      token: issued.value,
      authUrl: config.authUrl,
      expiresAt: issued.expiresAt.toISOString(),
      revoke: config.revoke,
      ...(issued.accessRules && { accessRules: true }),
      ...(tls.caFile !== undefined && { caFile: tls.caFile }),
      ...(tls.insecure && { insecure: true })
    }
    saveToken(core, saved)

    checkIssuedToken(issued, config.scope, now())
    checkMinValidity(issued, sharing, now())
    if (config.region !== undefined) checkRegion(issued.catalog, config.region, regionSource(config))
    setOutputs(core, issued, config)
    if (producer) {
      core.setOutput('shared-token', sealForOutput(issued, config, sharing, env, masked, now()))
      // The other jobs of the run use it after this one ends: the revoker job revokes it.
      saveToken(core, { ...saved, revoke: false, keptBecause: 'shared with the other jobs: the job with revoke-shared: true revokes it' })
    }
    if (config.exportEnv) exportToken(core, tokenEnvironment(config, issued, tls, env))
    if (direct) useTokenAsItIs(core, issued, config, env, files)
    core.info(summary(issued, config, now()))
    if (producer) core.info('Sealed the token into the shared-token output for the other jobs of this run.')
    if (issued.applicationCredential && config.exportEnv && !direct) {
      core.warning(
        'This token comes from an application credential, and Keystone refuses to exchange such a token for another one: with token-use: exchange the `openstack` CLI cannot use it; use token-use: direct (the default for application credentials).'
      )
    }
    await writeJobSummary(context, issued, config)
  } catch (error) {
    if (issued && keystone) await revokeAfterFailure(core, keystone, issued.value)
    throw error
  }
}

/** One login: a request body with the credentials, or the keyless exchange of a GitHub ID token. */
function logIn(context: StepContext, keystone: Keystone, config: ActionConfig, catalog: boolean): Promise<Token> {
  const { credentials } = config
  if (credentials.method !== 'oidc') return keystone.issue(authRequestBody(credentials, config.scope), { catalog })
  const core = context.core
  return keylessLogin(
    { core, getIDToken: audience => core.getIDToken(audience), keystone },
    { identityProvider: credentials.identityProvider, protocol: credentials.protocol, audience: credentials.audience },
    config.scope,
    { catalog, idTokenTimeoutMs: config.timing.timeoutMs }
  )
}

/** A Keystone whose tokens live shorter than the job needs is worth knowing before the job starts. */
function checkMinValidity(token: Token, sharing: SharingSettings, now: Date): void {
  if (sharing.minValidityMs === undefined) return
  const left = token.expiresAt.getTime() - now.getTime()
  if (left < sharing.minValidityMs) {
    throw new KeystoneError(
      `Keystone's token expires at ${formatTime(token.expiresAt)}, in ${formatDuration(left)}, sooner than min-validity ${formatDuration(sharing.minValidityMs)}: this cloud's tokens live shorter than that, so split the job or lower min-validity.`
    )
  }
}

/** This job's slot in the matrix: the wait does not count against max-wait. */
async function waitForSlot(context: StepContext, pacing: Pacing): Promise<void> {
  const delay = slotDelay(pacing)
  if (delay <= 0) return
  context.core.info(`Waiting ${formatSeconds(delay)} for this job's slot (job ${pacing.jobIndex + 1} of ${pacing.jobTotal} at ${pacing.rate.text}).`)
  await (context.clock ?? realClock).sleep(delay)
}

function regionSource(config: ActionConfig): string {
  return config.regionFrom ?? 'region'
}

function configWarnings(config: ActionConfig, env: StepContext['env'], file: CredentialFile | undefined): string[] {
  const warnings = [...config.warnings]
  const cloud = (env.OS_CLOUD ?? '').trim()
  // OS_CLOUD that named the clouds.yaml just read is expected; one left over from elsewhere is not.
  if (config.exportEnv && cloud !== '' && file?.cloud !== cloud) {
    warnings.push(
      `OS_CLOUD is set (${cloud}) in the job: with it, openstacksdk and the CLI read clouds.yaml and ignore OS_TOKEN, so later steps get OS_CLOUD=''; remove it from the job's env to silence this.`
    )
  }
  if (config.tls.insecure) {
    warnings.push("insecure: true: Keystone's certificate is not verified, for the action and, through OS_INSECURE, for later steps; prefer cacert.")
  }
  return warnings
}

/** The job summary is a courtesy: failing to write it must not cost the job its token. */
async function writeJobSummary(context: StepContext, token: Token, config: ActionConfig): Promise<void> {
  if (!context.env.GITHUB_STEP_SUMMARY || !context.core.summary) return
  try {
    const services =
      token.catalog && config.region !== undefined ? Object.keys(endpointsFor(token.catalog, config.region, config.interface)).sort() : undefined
    await tokenSummary(context.core.summary, token, config, services).write()
  } catch (error) {
    context.core.warning(`Could not write the job summary: ${(error as Error).message}`)
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
  } catch (error) {
    core.warning(`Could not revoke the token issued before the failure (${(error as Error).message}); the post step tries again.`)
    return
  }
  core.info('Revoked the token issued before the failure.')
  try {
    forgetToken(core)
  } catch {
    // The state could not be written (nor, then, the token saved): the post step has nothing to do.
  }
}
