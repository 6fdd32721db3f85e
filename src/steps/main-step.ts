import { LOGIN_METHODS, loginMethodOf } from '../login/methods.js'
import { checkRegion, endpointsFor } from '../keystone/catalog.js'
import { resolveConfig, resolveSharing } from '../config/config.js'
import { type ConfigSource, type CredentialFile, type InputName, secretValues } from '../config/inputs.js'
import type { ActionConfig, SharingSettings } from '../config/types.js'
import { failStep, type Core } from '../runtime/core.js'
import { loadCredentialFile } from '../credential-files/load.js'
import { handOn } from '../handoff/hand-on.js'
import { KeystoneError } from '../errors.js'
import { nodeFiles, type StepFiles } from '../runtime/files.js'
import { remainingMs, type Token } from '../keystone/token.js'
import { type Keystone } from '../keystone/client.js'
import { slotDelay, type Pacing } from '../net/pacing.js'
import { realClock } from '../net/retry.js'
import { useSharedToken } from './shared-token-step.js'
import { sealForOutput } from '../share/payload.js'
import { forgetToken, saveToken, type SavedToken } from '../runtime/state.js'
import { keystoneFor, retryRunFor, type StepContext } from './step-context.js'
import { tokenSummary } from '../handoff/summary.js'
import { formatDuration, formatSeconds, formatTime } from '../time.js'
import { prepareTls, type PreparedTls } from '../net/tls.js'
import { checkIssuedToken, checkScoped, describeScope, displayName } from '../keystone/token-checks.js'
import { startRenewal } from '../renew/start.js'
import { refreshEnvironment, refreshRequested } from '../renew/refresh.js'

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
    if (refreshRequested(source)) return await refreshEnvironment(core, env)
    const sharing = resolveSharing(source)
    if (sharing.sharedToken && (await useSharedToken(context, source, sharing))) return
    await issueToken(context, source, sharing, masked)
  } catch (error) {
    failStep(core, error)
  }
}

/** Logs in with this job's credentials; as a producer, also seals the token for the other jobs. */
async function issueToken(context: StepContext, source: ConfigSource, sharing: SharingSettings, masked: Set<string>): Promise<void> {
  const { core, env, signal } = context
  const files = context.files ?? nodeFiles(env)
  let keystone: Keystone | undefined
  let reach: KeystoneReach | undefined
  try {
    const { config, tls } = await configure(context, source, files, masked)
    reach = reachOf(config, tls)
    keystone = keystoneFor(config.authUrl, config.timing, context, tls, { loadCoreMeanwhile: true })
    if (config.pacing) await waitForSlot(context, config.pacing)
    // The catalog weighs kilobytes: asked for only when a region is there to check against it, or
    // when later steps get the variables (OS_STORAGE_URL comes from it, and direct use hands the
    // whole catalog to the clients). Same single request either way, only a larger answer.
    const issued = await logIn(context, keystone, config, config.region !== undefined || config.exportEnv)
    core.setSecret(issued.value)
    await core.ready?.()
    // Saved at once: from here on, whatever happens, the post step can revoke it (and anything a
    // keyless login could not revoke on the way).
    const saved: SavedToken = {
      ...reach,
      token: issued.value,
      others: [...keystone.outstanding].filter(token => token !== issued.value),
      expiresAt: issued.expiresAt.toISOString(),
      revoke: config.revoke,
      ...(issued.accessRules && { accessRules: true })
    }
    saveToken(core, saved)
    // Cancelled while the login was on the wire: the token is revoked below, before the process ends.
    signal?.throwIfAborted()
    checkToken(issued, config, sharing)
    const producer = sharing.key !== undefined && !sharing.sharedToken
    if (producer) {
      signal?.throwIfAborted()
      core.setOutput('shared-token', sealForOutput(issued, config, sharing, env, masked))
      // The other jobs of the run use it after this one ends: the revoker job revokes it.
      saveToken(core, { ...saved, revoke: false, keptBecause: 'shared with the other jobs: the job with revoke-shared: true revokes it' })
    }
    await handOnIssued(context, source, issued, config, tls, files, producer)
  } catch (error) {
    if (keystone && reach && keystone.outstanding.size > 0) await revokeAfterFailure(core, keystone, reach, signal?.aborted === true)
    throw error
  }
}

/** The configuration of this job's login: its credential file (its secrets masked first), the configuration, the TLS trust. */
async function configure(
  context: StepContext,
  source: ConfigSource,
  files: StepFiles,
  masked: Set<string>
): Promise<{ config: ActionConfig; tls: PreparedTls }> {
  const { core, env } = context
  const file = await loadCredentialFile(source, files)
  if (file) {
    for (const secret of secretValues({ ...source, file })) {
      if (!masked.has(secret)) core.setSecret(secret)
      masked.add(secret)
    }
  }
  const config = resolveConfig({ ...source, ...(file && { file }) }, LOGIN_METHODS)
  for (const line of config.overrides) core.info(line)
  for (const warning of configWarnings(config, env, file)) core.warning(warning)
  return { config, tls: prepareTls(config.tls, files) }
}

function reachOf(config: ActionConfig, tls: PreparedTls): KeystoneReach {
  return {
    authUrl: config.authUrl,
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.caFile !== undefined && { caFile: tls.caFile }),
    ...(tls.insecure && { insecure: true })
  }
}

/** What must hold of the issued token before anything is handed on (token-checks.ts, catalog.ts). */
function checkToken(issued: Token, config: ActionConfig, sharing: SharingSettings): void {
  checkIssuedToken(issued, config.scope)
  checkScoped(issued, config.blankScope, config.allowUnscoped)
  checkMinValidity(issued, sharing)
  if (config.region !== undefined) checkRegion(issued.catalog, config.region, regionSource(config))
}

/** Hands the issued token to later steps, starts its renewal when they use it directly, and says so. */
async function handOnIssued(
  context: StepContext,
  source: ConfigSource,
  issued: Token,
  config: ActionConfig,
  tls: PreparedTls,
  files: StepFiles,
  producer: boolean
): Promise<void> {
  const { core, env, now = () => new Date() } = context
  const direct = config.tokenUse === 'direct' && config.exportEnv
  handOn(core, issued, config, tls, env, files)
  core.info(issuedLine(issued, config, now()))
  // A shared token is the producer's to keep, and its consumers cannot see a renewal.
  if (direct && !producer) {
    await startRenewal({ core, env, source, config, token: issued, tls, runnerTemp: files.tempDir, ...(context.spawn && { spawn: context.spawn }) })
  }
  if (producer) core.info('Sealed the token into the shared-token output for the other jobs of this run.')
  if (issued.applicationCredential && config.exportEnv && !direct) {
    core.warning(
      'This token comes from an application credential, and Keystone refuses to exchange such a token for another one: with token-use: exchange the `openstack` CLI cannot use it; use token-use: direct (the default).'
    )
  }
  await writeJobSummary(context, issued, config)
}

/** How the post step reaches Keystone: the URL and the TLS trust, kept in its state, not in files. */
type KeystoneReach = Pick<SavedToken, 'authUrl' | 'ca' | 'caFile' | 'insecure'>

/** One login, by the method the configuration chose (src/login/). */
function logIn(context: StepContext, keystone: Keystone, config: ActionConfig, catalog: boolean): Promise<Token> {
  return loginMethodOf(config.credentials).logIn(config.credentials, {
    core: context.core,
    keystone,
    scope: config.scope,
    catalog,
    diagnoseRefusal: config.diagnoseRefusal,
    retry: retryRunFor(config.timing, context),
    timeoutMs: config.timing.timeoutMs
  })
}

/** A Keystone whose tokens live shorter than the job needs is worth knowing before the job starts. */
function checkMinValidity(token: Token, sharing: SharingSettings): void {
  if (sharing.minValidityMs === undefined) return
  // Keystone's clock: a runner's clock that is off must not refuse a good token, or pass a bad one.
  const left = token.validForMs
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
  await (context.clock ?? realClock).sleep(delay, context.signal)
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

/** The one log line that says what was issued, for whom, and for how long. */
function issuedLine(token: Token, config: ActionConfig, now: Date): string {
  const user = displayName(token.user)
  const userDomain = token.user.domain ? ` (domain ${displayName(token.user.domain)})` : ''
  const via = token.applicationCredential ? ` through application credential ${displayName(token.applicationCredential)}` : ''
  const exported = config.exportEnv ? 'exported as OS_TOKEN' : 'not exported (export-env: false)'
  return `Issued a Keystone token for user ${user}${userDomain}${via}, scoped to ${describeScope(token)}, valid until ${formatTime(token.expiresAt)} (${formatDuration(remainingMs(token, now))}); ${exported}.`
}

/**
 * A token nobody will use must not stay valid for hours: every token Keystone issued during this
 * step is revoked before the failure is reported. They are saved for the post step first, because a
 * cancelled job's process is killed a few seconds after the signal, maybe before Keystone answers.
 */
async function revokeAfterFailure(core: Core, keystone: Keystone, reach: KeystoneReach, cancelled: boolean): Promise<void> {
  const tokens = [...keystone.outstanding]
  const saved = await saveQuietly(core, () => saveToken(core, { ...reach, token: '', others: tokens, revoke: true }))
  await keystone.revokeOutstanding()
  const left = [...keystone.outstanding]
  const why = cancelled ? 'the cancellation' : 'the failure'
  const count = (n: number): string => (n === 1 ? 'the token' : `the ${n} tokens`)
  if (left.length === 0) {
    core.info(`Revoked ${count(tokens.length)} Keystone issued before ${why}.`)
    if (saved) await saveQuietly(core, () => forgetToken(core))
    return
  }
  if (saved) await saveQuietly(core, () => saveToken(core, { ...reach, token: '', others: left, revoke: true }))
  const next = saved ? 'the post step tries again' : 'it stays valid until it expires'
  core.warning(`Could not revoke ${count(left.length)} Keystone issued before ${why}: ${next}.`)
}

/** State the runner may not take any more (the core failed to load): the failure itself is what counts. */
async function saveQuietly(core: Core, save: () => void): Promise<boolean> {
  try {
    await core.ready?.()
    save()
    return true
  } catch {
    return false
  }
}
