import type { ActionConfig, SharingSettings } from '../config/types.js'
import { UserError } from '../errors.js'
import type { Token } from '../keystone/token.js'
import { sealSharedToken, SharedTokenTooOld, unsealSharedToken, type ShareBinding, type SharedTokenPayload } from './sealed-token.js'

/**
 * A token as it travels between the jobs of a run: what of it is sealed into the producer's
 * `shared-token` output, how a consumer turns it back into a Token, and what it is bound to.
 */

/** This repository and run: a shared token opens nowhere else. */
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
