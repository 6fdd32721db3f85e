import { scopeRequest } from './auth-request.js'
import type { Scope } from '../config/types.js'
import type { Core } from '../runtime/core.js'
import { UserError } from '../errors.js'
import {
  federatedScopeRefused,
  federationRefusalIn,
  type FederationTarget,
  type FederationWords,
  type RefusalExplainer
} from '../keystone/answers.js'
import type { Revocation } from '../keystone/client.js'
import type { Token } from '../keystone/token.js'

/**
 * The federation half of a login with a bearer token from an identity provider (keyless login's
 * GitHub ID token, an OIDC client's token): Keystone's federation endpoint trades the token for an
 * unscoped token (`POST {auth-url}/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`
 * with `Authorization: Bearer <token>`), the token method rescopes that to the project or domain
 * asked for, and the unscoped one is revoked at once. What differs between the methods is where
 * the bearer token comes from and how a refusal is explained: the words a method passes in.
 */

export const DEFAULT_PROTOCOL = 'openid'

/** The part of the Keystone client (src/keystone/client.ts) a federated login uses. */
export interface FederatingKeystone {
  readonly authUrl: string
  federatedLogin(url: string, bearer: string, explain?: RefusalExplainer, purpose?: string): Promise<Token>
  issue(body: object, options: { catalog: boolean }): Promise<Token>
  revoke(token: string): Promise<Revocation>
}

/** `{auth-url}/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`; authUrl ends in /v3. */
export function federationAuthUrl(authUrl: string, identityProvider: string, protocol: string = DEFAULT_PROTOCOL): string {
  for (const [input, value] of [
    ['identity-provider', identityProvider],
    ['protocol', protocol]
  ] as const) {
    // Keystone ids are at most 64 characters; a slash or a space would never name one.
    if (!/^[^\s/]{1,64}$/.test(value)) {
      throw new UserError(
        `${input} ${JSON.stringify(value.length > 80 ? `${value.slice(0, 79)}…` : value)} is not a Keystone ${input === 'protocol' ? 'federation protocol' : 'identity provider'} id: 1 to 64 characters, no spaces or slashes.`
      )
    }
  }
  return `${authUrl.replace(/\/+$/, '')}/OS-FEDERATION/identity_providers/${encodeURIComponent(identityProvider)}/protocols/${encodeURIComponent(protocol)}/auth`
}

/**
 * The body that rescopes the unscoped federated token (token method). A federated user has no
 * default project, so a federated login needs an explicit scope: `default` is refused up front.
 */
export function rescopeBody(unscopedToken: string, scope: Scope, method = 'oidc'): object {
  requireExplicitScope(scope, method)
  return { auth: { identity: { methods: ['token'], token: { id: unscopedToken } }, scope: scopeRequest(scope) } }
}

/** Refuses the one scope a federated login cannot use, before anything is asked of a provider or Keystone. */
export function requireExplicitScope(scope: Scope, method = 'oidc'): void {
  if (scope.kind === 'default') {
    throw new UserError(
      `auth-method ${method} needs a scope: a federated user has no default project. Set project-id (or project-name with project-domain-name or project-domain-id), or domain-id / domain-name, or system-scope: all.`
    )
  }
}

/**
 * The payload of a JWT as an object, read without verifying anything: only to say in a message
 * which subject, client and audience the cloud refused. Undefined when it is not a readable JWT.
 */
export function jwtPayload(jwt: string): Record<string, unknown> | undefined {
  const parts = jwt.split('.')
  if (parts.length !== 3 || jwt.length > 16_384) return undefined
  let payload: unknown
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined
  return payload as Record<string, unknown>
}

export interface FederatedLoginDeps {
  core: Pick<Core, 'setSecret' | 'warning' | 'debug'>
  keystone: FederatingKeystone
}

/**
 * Trades a bearer token for Keystone's unscoped federated token (masked), rescopes it by the token
 * method, and revokes the unscoped token whatever happens. Returns the scoped token: the caller
 * masks, saves and exports it exactly as for a password login.
 */
export async function federate(
  { core, keystone }: FederatedLoginDeps,
  target: FederationTarget,
  bearer: string,
  scope: Scope,
  words: FederationWords,
  { catalog }: { catalog: boolean }
): Promise<Token> {
  const url = federationAuthUrl(keystone.authUrl, target.identityProvider, target.protocol)
  const unscoped = await keystone.federatedLogin(url, bearer, federationRefusalIn(target, words), words.purpose)
  core.setSecret(unscoped.value)
  core.debug(`Identity provider ${target.identityProvider} admitted ${words.tokenName} as federated user ${unscoped.user.name ?? unscoped.user.id}.`)
  try {
    const scoped = await keystone.issue(rescopeBody(unscoped.value, scope, words.method), { catalog }).catch((error: unknown) => {
      throw federatedScopeRefused(error, unscoped.user.name ?? unscoped.user.id, scope, words)
    })
    core.setSecret(scoped.value)
    return scoped
  } finally {
    await revokeUnscoped(core, keystone, unscoped.value)
  }
}

/** The unscoped token is of no use to the job: revoked at once. A failure only warns (it expires anyway). */
async function revokeUnscoped(core: FederatedLoginDeps['core'], keystone: FederatingKeystone, token: string): Promise<void> {
  try {
    await keystone.revoke(token)
    core.debug('Revoked the unscoped federated token.')
  } catch (error) {
    core.warning(`Could not revoke the unscoped federated token (${(error as Error).message}); it expires on its own.`)
  }
}
