import { resolveConfig, resolveJobSettings } from '../config/config.js'
import { defaultTokenUseOf } from '../login/methods.js'
import type { ActionConfig, SharingSettings } from '../config/types.js'
import type { ConfigSource } from '../config/inputs.js'
import type { Core } from '../runtime/core.js'
import { loadCredentialFile } from '../credential-files/load.js'
import { tokenEnvironment } from '../handoff/environment.js'
import { UserError } from '../errors.js'
import { handOnDirectUse, prepareDirectUse } from '../handoff/direct-use-step.js'
import { nodeFiles, type StepFiles } from '../runtime/files.js'
import { remainingMs, type Keystone, type Token } from '../keystone/client.js'
import { exportToken, setOutputs } from '../handoff/outputs.js'
import { sealSharedToken, SharedTokenTooOld, unsealSharedToken, type ShareBinding, type SharedTokenPayload } from '../share/sealed-token.js'
import { saveToken } from '../runtime/state.js'
import { keystoneFor, type StepContext } from './step-context.js'
import { formatDuration, formatTime } from '../time.js'
import { prepareTls } from '../net/tls.js'
import { describeScope, displayName } from '../keystone/token-checks.js'

/**
 * One token for a whole workflow run: a producer job seals it into its `shared-token` output,
 * consumer jobs unseal it (no Keystone request), a final job revokes it. GitHub drops job outputs
 * that contain a secret, so the token travels encrypted with the `share-key` secret, bound to this
 * repository and run.
 */

export function shareBinding(env: Readonly<Record<string, string | undefined>>): ShareBinding {
  return {
    repository: env.GITHUB_REPOSITORY ?? '',
    runId: env.GITHUB_RUN_ID ?? '',
    ...(env.GITHUB_REPOSITORY_ID && { repositoryId: env.GITHUB_REPOSITORY_ID }),
    ...(env.GITHUB_RUN_ATTEMPT && { runAttempt: env.GITHUB_RUN_ATTEMPT })
  }
}

export function payloadOf(token: Token, config: Pick<ActionConfig, 'authUrl' | 'region' | 'interface'>): SharedTokenPayload {
  return {
    token: token.value,
    authUrl: config.authUrl,
    expiresAt: token.expiresAt.toISOString(),
    issuedAt: token.issuedAt.toISOString(),
    userId: token.user.id,
    methods: token.methods,
    scope: {
      ...(token.project && {
        projectId: token.project.id,
        ...(token.project.name !== undefined && { projectName: token.project.name }),
        ...(token.project.domain && { projectDomainId: token.project.domain.id })
      }),
      ...(token.domain && { domainId: token.domain.id, ...(token.domain.name !== undefined && { domainName: token.domain.name }) }),
      ...(token.system && { system: true })
    },
    ...(config.region !== undefined && { region: config.region }),
    ...(config.interface !== undefined && { interface: config.interface })
  }
}

/**
 * The token as the main step would have received it from Keystone. Without a request to Keystone,
 * what is left of its life can only be read off this runner's clock.
 */
export function tokenOf(payload: SharedTokenPayload, now: Date): Token {
  const { scope } = payload
  const expiresAt = new Date(payload.expiresAt)
  return {
    value: payload.token,
    issuedAt: new Date(payload.issuedAt),
    expiresAt,
    validForMs: expiresAt.getTime() - now.getTime(),
    receivedAt: now,
    methods: payload.methods ?? [],
    user: { id: payload.userId },
    ...(scope.projectId && {
      project: {
        id: scope.projectId,
        ...(scope.projectName !== undefined && { name: scope.projectName }),
        ...(scope.projectDomainId && { domain: { id: scope.projectDomainId } })
      }
    }),
    ...(scope.domainId && { domain: { id: scope.domainId, ...(scope.domainName !== undefined && { name: scope.domainName }) } }),
    system: scope.system === true
  }
}

/**
 * Seals the token for the output. GitHub refuses an output in which any masked value appears, and
 * a random envelope could contain a short masked secret by chance: seal again in that case.
 */
export function sealForOutput(
  token: Token,
  config: ActionConfig,
  sharing: SharingSettings,
  env: Readonly<Record<string, string | undefined>>,
  masked: ReadonlySet<string>
): string {
  for (let attempt = 0; attempt < 5; attempt++) {
    const sealed = sealSharedToken(payloadOf(token, config), sharing.key!, shareBinding(env))
    if (![...masked].some(secret => sealed.includes(secret))) return sealed
  }
  throw new UserError('The shared token kept containing one of the masked secrets, so GitHub would drop the output: use a longer password or secret.')
}

/**
 * Opens the shared token. `tooOld` is this runner's clock saying it expires too soon; the runner's
 * clock may run fast, so the caller asks Keystone before acting on it.
 */
export function openShared(
  sharing: SharingSettings,
  env: Readonly<Record<string, string | undefined>>,
  now: Date
): { payload: SharedTokenPayload; tooOld?: SharedTokenTooOld } {
  const open = (ignoreExpiry: boolean): SharedTokenPayload =>
    unsealSharedToken(sharing.sharedToken!, sharing.key!, shareBinding(env), now, {
      ...(sharing.minValidityMs !== undefined && { minValidityMs: sharing.minValidityMs }),
      ignoreExpiry
    })
  try {
    return { payload: open(false) }
  } catch (error) {
    if (!(error instanceof SharedTokenTooOld)) throw error
    return { payload: open(true), tooOld: error }
  }
}

/** The final job: revoke the shared token, once every consumer is done with it. */
export async function revokeShared(core: Core, keystone: Keystone, payload: SharedTokenPayload): Promise<void> {
  // Asked of Keystone even when this runner's clock says the token has expired: the clock may be fast.
  const result = await keystone.revoke(payload.token)
  core.info(result === 'revoked' ? 'Shared token revoked.' : 'Shared token already revoked or expired: nothing to do.')
}

/**
 * Takes the token a producer job shared: no Keystone request unless `validate` asks for one.
 * Returns false when the token expires too soon and this job has credentials to log in itself.
 */
export async function useSharedToken(context: StepContext, source: ConfigSource, sharing: SharingSettings): Promise<boolean> {
  const { core, env, now = () => new Date() } = context
  const files = context.files ?? nodeFiles(env)
  const { payload, tooOld } = openShared(sharing, env, now())
  core.setSecret(payload.token)
  // A token that cannot be exchanged (an application credential's) is used directly here too.
  const settings = resolveJobSettings(source, defaultTokenUseOf(payload.methods))
  const tls = prepareTls(settings.tls, files)
  const keystone = keystoneFor(payload.authUrl, settings.timing, context, tls, { loadCoreMeanwhile: !sharing.revokeShared })
  if (sharing.revokeShared) {
    await revokeShared(core, keystone, payload)
    return true
  }
  // Direct use needs the token's catalog, which the sealed payload does not carry (it can weigh
  // more than a job output should): one GET reads it, and checks the token on the way.
  const direct = settings.tokenUse === 'direct' && settings.exportEnv
  let token = tokenOf(payload, now())
  if (direct || sharing.validate || tooOld) {
    const known = await keystone.read(payload.token, { catalog: direct })
    // Keystone's clock, not this runner's, says how long it has left.
    const left = known ? remainingMs(known, now()) : 0
    if (tooOld && (left <= 0 || left < (sharing.minValidityMs ?? 0))) {
      if (!(await hasCredentials(source, files))) throw tooOld
      core.info(`${tooOld.reason}: logging in with this job's own credentials instead.`)
      return false
    }
    if (!known) {
      throw new UserError(
        'The shared token is no longer valid at Keystone (revoked, or expired early): re-run all jobs of the workflow so the producer job issues a new one.'
      )
    }
    if (tooOld) {
      core.warning(
        `This runner's clock says the shared token expires too soon, Keystone's says it has ${formatDuration(left)} left: the runner's clock is probably ahead; using the token.`
      )
    }
    // OS_STORAGE_URL comes from the catalog; without a catalog read, the consumer exports it blank.
    token = {
      ...token,
      validForMs: known.validForMs,
      receivedAt: known.receivedAt,
      ...(direct && { document: known.document }),
      ...(direct && known.catalog && { catalog: known.catalog })
    }
  }
  const config = {
    authUrl: payload.authUrl,
    ...settings,
    region: settings.region ?? payload.region,
    interface: settings.interface ?? payload.interface
  }
  // Written before anything is handed on: a setup that fails leaves nothing exported.
  const directUse = direct ? prepareDirectUse(token, config, context.env, files) : undefined
  await core.ready?.()
  // Not this job's to revoke: its revoker job does, once every consumer is done.
  saveToken(core, {
    token: token.value,
    authUrl: payload.authUrl,
    expiresAt: payload.expiresAt,
    revoke: false,
    keptBecause: 'shared by another job: its revoker job revokes it'
  })
  setOutputs(core, token, config)
  if (settings.exportEnv) exportToken(core, tokenEnvironment(config, token, tls, context.env))
  if (directUse) handOnDirectUse(core, directUse)
  const requests = direct ? 'one Keystone request for its catalog' : sharing.validate ? 'checked with Keystone' : 'no Keystone request'
  core.info(
    `Using the token shared by the producer job: user ${displayName(token.user)}, scoped to ${describeScope(token)}, valid until ${formatTime(token.expiresAt)} (${formatDuration(remainingMs(token, now()))}); ${requests}.`
  )
  return true
}

async function hasCredentials(source: ConfigSource, files: StepFiles): Promise<boolean> {
  try {
    const file = await loadCredentialFile(source, files)
    resolveConfig({ ...source, ...(file && { file }) })
    return true
  } catch {
    return false
  }
}
