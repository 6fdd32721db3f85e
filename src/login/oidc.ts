import {
  DEFAULT_PROTOCOL,
  federate,
  federationAuthUrl,
  federationRefusalIn,
  jwtPayload,
  requireExplicitScope,
  type FederatingKeystone,
  type FederationWords
} from './federation.js'
import type { LoginMethod } from './method.js'
import type { Credentials, Scope } from '../config/types.js'
import type { Core } from '../runtime/core.js'
import { oneLine, UserError } from '../errors.js'
import type { RefusalExplainer, Token } from '../keystone/client.js'
import { backoffDelay, budgetFor, type RetryRun } from '../net/retry.js'
import { formatSeconds, formatTime } from '../time.js'

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

/** The permission block a workflow needs for getIDToken, as the user should paste it. */
export const ID_TOKEN_PERMISSIONS_YAML = 'permissions:\n  id-token: write\n  contents: read'

export type { RefusalExplainer } from '../keystone/client.js'
export {
  DEFAULT_PROTOCOL,
  describeRequestedScope,
  federationAuthUrl,
  rescopeBody,
  requireExplicitScope,
  type FederatingKeystone
} from './federation.js'

/**
 * getIDToken's failure as the user must read it. Without `permissions: id-token: write` the runner
 * sets neither ACTIONS_ID_TOKEN_REQUEST_URL nor ACTIONS_ID_TOKEN_REQUEST_TOKEN, and getIDToken says
 * only "Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable".
 */
export function idTokenError(error: unknown): UserError {
  if (error instanceof UserError) return error
  const message = error instanceof Error ? error.message : String(error)
  const missing = /ACTIONS_ID_TOKEN_REQUEST_(URL|TOKEN)/.exec(message)
  if (missing) {
    return new UserError(
      `auth-method oidc needs a GitHub ID token, and this job cannot get one (${missing[0]} is not set): the job lacks the permission. Add to the job (or the workflow):\n${ID_TOKEN_PERMISSIONS_YAML}\n` +
        'A job for a pull request from a fork, or started by Dependabot, never gets an ID token: use another auth-method there.'
    )
  }
  const code = /Error Code\s*:\s*(\d{3})/.exec(message)?.[1]
  if (code) {
    const said = /Error Message\s*:\s*([\s\S]*)$/.exec(message)?.[1]
    return new UserError(
      `GitHub refused to issue an ID token (HTTP ${code}${said ? `: ${oneLine(said, 200)}` : ''}); try again, and check https://www.githubstatus.com if it persists.`
    )
  }
  if (/do not have ID Token field/i.test(message)) {
    return new UserError("GitHub's ID-token service answered without a token; try again, and check https://www.githubstatus.com if it persists.")
  }
  return new UserError(`Could not get a GitHub ID token: ${oneLine(message, 300)}.`)
}

/** The non-secret claims of an ID token that explain a refusal (what the mapping matched on). */
export interface IdTokenClaims {
  iss?: string
  aud?: string | string[]
  sub?: string
  repository?: string
  repository_id?: string
  repository_owner?: string
  repository_owner_id?: string
  ref?: string
  environment?: string
  job_workflow_ref?: string
  exp?: number
}

const STRING_CLAIMS = [
  'iss',
  'sub',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'ref',
  'environment',
  'job_workflow_ref'
] as const

/**
 * The claims of a JWT, read without verifying anything: only to say in a message which repository,
 * ref and audience the cloud refused. Undefined when it is not a readable JWT.
 */
export function idTokenClaims(jwt: string): IdTokenClaims | undefined {
  const raw = jwtPayload(jwt)
  if (!raw) return undefined
  const claims: IdTokenClaims = {}
  for (const name of STRING_CLAIMS) {
    const value = raw[name]
    if (typeof value === 'string' || typeof value === 'number') claims[name] = oneLine(String(value), 200)
  }
  if (typeof raw.aud === 'string') claims.aud = oneLine(raw.aud, 200)
  else if (Array.isArray(raw.aud)) claims.aud = raw.aud.filter((a): a is string => typeof a === 'string').map(a => oneLine(a, 200))
  if (typeof raw.exp === 'number' && Number.isFinite(raw.exp)) claims.exp = raw.exp
  return claims
}

/** One line about an ID token for the log: `sub …, audience …, issuer …, valid until …`. */
export function describeIdToken(claims: IdTokenClaims | undefined): string {
  if (!claims) return 'a token that is not a readable JWT'
  const parts = [
    `sub ${claims.sub ?? '(none)'}`,
    `audience ${Array.isArray(claims.aud) ? claims.aud.join(', ') : (claims.aud ?? '(none)')}`,
    `issuer ${claims.iss ?? '(none)'}`
  ]
  if (claims.repository_id) parts.push(`repository_id ${claims.repository_id}`)
  if (claims.repository_owner_id) parts.push(`repository_owner_id ${claims.repository_owner_id}`)
  if (claims.exp !== undefined) parts.push(`valid until ${formatTime(new Date(claims.exp * 1000))}`)
  return parts.join(', ')
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

  const idToken = await getIdTokenRetrying(deps, settings.audience, options.idTokenTimeoutMs)
  core.setSecret(idToken)
  const claims = idTokenClaims(idToken)
  core.info(`Got a GitHub ID token: ${describeIdToken(claims)}.`)

  return federate({ core, keystone }, settings, idToken, scope, keylessWords(settings, claims), { catalog: options.catalog })
}

/**
 * Whether another getIDToken call can succeed: not without the permission, nor after GitHub
 * refused the request (4xx); yes after a 5xx, a 429, a network failure or our own deadline.
 */
export function isIdTokenRetryable(error: unknown): boolean {
  if (error instanceof UserError) return true
  const message = error instanceof Error ? error.message : String(error)
  if (/ACTIONS_ID_TOKEN_REQUEST_(URL|TOKEN)/.test(message)) return false
  const code = /Error Code\s*:\s*(\d{3})/.exec(message)?.[1]
  if (code) return code === '408' || code === '429' || code.startsWith('5')
  return true
}

/**
 * GitHub's ID-token service has bad minutes too (google-github-actions/auth and
 * aws-actions/configure-aws-credentials retry it): retried like a Keystone outage, within outage-wait.
 */
async function getIdTokenRetrying(deps: KeylessLoginDeps, audience: string | undefined, timeoutMs: number | undefined): Promise<string> {
  const retry = deps.retry
  const started = retry?.clock.now() ?? 0
  for (let attempt = 1; ; attempt++) {
    retry?.signal?.throwIfAborted()
    try {
      return await withDeadline(deps.getIDToken(audience), timeoutMs)
    } catch (error) {
      const explained = idTokenError(error)
      if (!retry || !isIdTokenRetryable(error)) throw explained
      const budget = budgetFor('outage', retry.policy)
      const elapsed = retry.clock.now() - started
      const left = budget.ms - elapsed
      if (left <= 0) {
        throw new UserError(
          `${explained.message} Gave up after ${attempt} attempt${attempt === 1 ? '' : 's'} over ${formatSeconds(elapsed)} (${budget.input} ${formatSeconds(budget.ms)}).`
        )
      }
      const wait = Math.min(backoffDelay(attempt, retry.policy, retry.clock.random()), left)
      retry.log(
        `${explained.message.replace(/;.*$/s, '').replace(/\.$/, '')}; retrying in ${formatSeconds(wait)} (attempt ${attempt + 1}, up to ${budget.input} ${formatSeconds(budget.ms)}).`
      )
      await retry.clock.sleep(wait, retry.signal)
    }
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return promise
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UserError(
            `GitHub's ID-token service did not answer within ${ms / 1000} s; try again, and check https://www.githubstatus.com if it persists.`
          )
        ),
      ms
    )
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
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
  // A federated token can be exchanged like a password one.
  defaultTokenUse: 'exchange',
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
