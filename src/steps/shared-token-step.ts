import { resolveConfig } from '../config/config.js'
import { resolveJobSettings } from '../config/job-settings.js'
import { defaultTokenUseOf, LOGIN_METHODS } from '../login/methods.js'
import type { SharingSettings } from '../config/types.js'
import type { ConfigSource } from '../config/inputs.js'
import type { Core } from '../runtime/core.js'
import { loadCredentialFile } from '../credential-files/load.js'
import { UserError } from '../errors.js'
import { handOn } from '../handoff/hand-on.js'
import { nodeFiles, type StepFiles } from '../runtime/files.js'
import { remainingMs } from '../keystone/token.js'
import { type Keystone } from '../keystone/client.js'
import { openShared, tokenOf } from '../share/payload.js'
import type { SharedTokenPayload } from '../share/sealed-token.js'
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
  await core.ready?.()
  // Not this job's to revoke: its revoker job does, once every consumer is done.
  saveToken(core, {
    token: token.value,
    authUrl: payload.authUrl,
    expiresAt: payload.expiresAt,
    revoke: false,
    keptBecause: 'shared by another job: its revoker job revokes it'
  })
  handOn(core, token, config, tls, context.env, files)
  const requests = direct ? 'one Keystone request for its catalog' : sharing.validate ? 'checked with Keystone' : 'no Keystone request'
  core.info(
    `Using the token shared by the producer job: user ${displayName(token.user)}, scoped to ${describeScope(token)}, valid until ${formatTime(token.expiresAt)} (${formatDuration(remainingMs(token, now()))}); ${requests}.`
  )
  return true
}

async function hasCredentials(source: ConfigSource, files: StepFiles): Promise<boolean> {
  try {
    const file = await loadCredentialFile(source, files)
    resolveConfig({ ...source, ...(file && { file }) }, LOGIN_METHODS)
    return true
  } catch {
    return false
  }
}
