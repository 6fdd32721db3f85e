import { DEFAULT_PROTOCOL, federate, federationAuthUrl, requireExplicitScope, type FederatingKeystone } from './federation.js'
import { federationRefusalIn, type FederationWords } from '../keystone/answers.js'
import type { LoginMethod } from './method.js'
import type { Credentials, Scope } from '../config/types.js'
import type { Core } from '../runtime/core.js'
import { describeIdToken, getIdToken, idTokenClaims, type IdTokenClaims } from './github-id-token.js'
import { UserError } from '../errors.js'
import type { RefusalExplainer } from '../keystone/answers.js'
import type { Token } from '../keystone/token.js'
import type { RetryRun } from '../net/retry.js'

/**
 * Keyless login (`auth-method: oidc`): the job asks GitHub for an OIDC ID token (a JWT naming the
 * repository, the ref, the workflow…), Keystone's federation exchanges it for an unscoped token
 * (`POST {auth-url}/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth` with
 * `Authorization: Bearer <jwt>`), and the token method rescopes that to the project or domain asked
 * for. The unscoped token is revoked at once; the scoped one lives and dies like a password login's.
 * No secret is stored anywhere: what the job may do is decided by the cloud's mapping.
 *
 * The federation half is shared with other logins that bring a bearer token (federation.ts); this
 * module gets the token from GitHub and says what a refusal means in a workflow's terms.
 */

/** What `auth-method: oidc` needs, as the configuration resolves it. */
export interface OidcSettings {
  /** Keystone's identity provider id (`identity-provider`), e.g. `github`. */
  identityProvider: string
  /** The federation protocol (`protocol`), default `openid`. */
  protocol: string
  /**
   * What getIDToken asks GitHub to put in `aud`: the `audience` input, else the Keystone v3 URL (the
   * configuration always sets one). Left out, GitHub would use its default, `https://github.com/<owner>`,
   * which any workflow of the owner can obtain: only tests leave it out.
   */
  audience?: string
}

/** How keyless login names the GitHub ID token, and what a workflow's owner checks when it is refused. */
function keylessWords(settings: OidcSettings, claims: IdTokenClaims | undefined): FederationWords {
  return {
    method: 'oidc',
    token: `the GitHub ID token (${describeIdToken(claims)})`,
    tokenName: 'the GitHub ID token',
    mappedWho: 'this workflow',
    untrusted: "Ask the cloud operator whether it trusts GitHub's issuer (https://token.actions.githubusercontent.com, JWKS at /.well-known/jwks).",
    mapping:
      'Ask the cloud operator to admit this repository (by repository_id and repository_owner_id) and this ref or environment (sub); a job with an environment, a pull request or another branch has another sub.',
    rules: `typically because its audience or issuer is not the one required. Set the audience input to the value the cloud operator requires${settings.audience === undefined ? ' (without it GitHub uses https://github.com/<owner>)' : ''}.`,
    purpose: 'exchange the GitHub ID token'
  }
}

/** What a refusal of the federation auth URL means for a GitHub ID token (federation.ts). */
export function federationRefusal(settings: OidcSettings, claims: IdTokenClaims | undefined): RefusalExplainer {
  return federationRefusalIn(settings, keylessWords(settings, claims))
}

/** Exchanges the GitHub ID token for Keystone's unscoped federated token. */
export function exchangeIdToken(
  keystone: Pick<FederatingKeystone, 'authUrl' | 'federatedLogin'>,
  settings: OidcSettings,
  idToken: string
): Promise<Token> {
  const url = federationAuthUrl(keystone.authUrl, settings.identityProvider, settings.protocol)
  return keystone.federatedLogin(url, idToken, federationRefusal(settings, idTokenClaims(idToken)))
}

export interface KeylessLoginDeps {
  core: Pick<Core, 'setSecret' | 'info' | 'warning' | 'debug'>
  /** `core.getIDToken` of @actions/core. */
  getIDToken: (audience?: string) => Promise<string>
  keystone: FederatingKeystone
  /** Retries of getIDToken, within the outage budget; without it, one attempt. */
  retry?: RetryRun
}

/**
 * The whole keyless login: ID token from GitHub (masked), unscoped federated token (masked), scoped
 * token by the token method, unscoped token revoked whatever happens. Returns the scoped token: the
 * caller masks, saves and exports it exactly as for a password login.
 */
export async function keylessLogin(
  deps: KeylessLoginDeps,
  settings: OidcSettings,
  scope: Scope,
  options: { catalog: boolean; /** Deadline of the ID-token request (getIDToken has none of its own). */ idTokenTimeoutMs?: number }
): Promise<Token> {
  const { core, keystone } = deps
  requireExplicitScope(scope)
  // Before asking GitHub for anything: bad ids are a configuration mistake.
  federationAuthUrl(keystone.authUrl, settings.identityProvider, settings.protocol)

  const idToken = await getIdToken(deps.getIDToken, settings.audience, {
    ...(deps.retry && { retry: deps.retry }),
    ...(options.idTokenTimeoutMs !== undefined && { timeoutMs: options.idTokenTimeoutMs })
  })
  core.setSecret(idToken)
  const claims = idTokenClaims(idToken)
  core.info(`Got a GitHub ID token: ${describeIdToken(claims)}.`)

  return federate({ core, keystone }, settings, idToken, scope, keylessWords(settings, claims), { catalog: options.catalog })
}

type OidcCredentials = Extract<Credentials, { method: 'oidc' }>

/**
 * Keyless login (`auth-method: oidc`): the workflow's GitHub ID token, traded at Keystone's
 * federation endpoint for an unscoped token, rescoped, the unscoped one revoked at once.
 */
export const oidcLogin: LoginMethod<OidcCredentials> = {
  name: 'oidc',
  authTypes: [],
  secretInputs: [],
  scoped: true,
  defaultTokenUse: 'direct',
  tokenMethods: ['openid', 'mapped'],
  howToSet: '`identity-provider` for a keyless login',

  // An identity provider and no secret at all: the keyless login is what is meant.
  evidence: read => (read.get('identity-provider') ? { hint: true } : undefined),

  resolve(read, { authUrl }) {
    const identityProvider = read.get('identity-provider')
    if (!identityProvider) {
      throw new UserError(
        'auth-method is oidc but no identity provider is set: set `identity-provider` (OS_IDENTITY_PROVIDER) to the id Keystone gave the GitHub provider.'
      )
    }
    return {
      method: 'oidc',
      identityProvider: identityProvider.value,
      protocol: read.get('protocol')?.value ?? DEFAULT_PROTOCOL,
      // The relying party is Keystone itself: operators require this audience (docs/oidc-operator-guide.md).
      audience: read.fromInput('audience')?.value ?? authUrl
    }
  },

  logIn(credentials, { core, keystone, scope, catalog, retry, timeoutMs }) {
    return keylessLogin(
      { core, getIDToken: audience => core.getIDToken(audience), keystone, retry },
      { identityProvider: credentials.identityProvider, protocol: credentials.protocol, audience: credentials.audience },
      scope,
      { catalog, idTokenTimeoutMs: timeoutMs }
    )
  }
}
