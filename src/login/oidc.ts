import { scopeRequest } from './auth-request.js'
import type { LoginMethod } from './method.js'
import type { Credentials, Scope } from '../config/types.js'
import type { Core } from '../runtime/core.js'
import { KeystoneError, oneLine, UserError } from '../errors.js'
import type { HttpResponse } from '../net/http.js'
import { keystoneSaid, type RefusalExplainer, type Revocation, type Token } from '../keystone/client.js'
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
 * The HTTP exchange itself belongs to the Keystone client (same deadline, retries, token checks and
 * parsing as a password login); this module says what a refusal means in the user's terms.
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

export const DEFAULT_PROTOCOL = 'openid'

/** The permission block a workflow needs for getIDToken, as the user should paste it. */
export const ID_TOKEN_PERMISSIONS_YAML = 'permissions:\n  id-token: write\n  contents: read'

export type { RefusalExplainer } from '../keystone/client.js'

/** The part of the Keystone client (src/keystone/client.ts) keyless login uses. */
export interface FederatingKeystone {
  readonly authUrl: string
  federatedLogin(url: string, idToken: string, explain?: RefusalExplainer): Promise<Token>
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
 * default project, so keyless login needs an explicit scope: `default` is refused up front.
 */
export function rescopeBody(unscopedToken: string, scope: Scope): object {
  requireExplicitScope(scope)
  return { auth: { identity: { methods: ['token'], token: { id: unscopedToken } }, scope: scopeRequest(scope) } }
}

/** Refuses the one scope keyless login cannot use, before anything is asked of GitHub or Keystone. */
export function requireExplicitScope(scope: Scope): void {
  if (scope.kind === 'default') {
    throw new UserError(
      'auth-method oidc needs a scope: a federated user has no default project. Set project-id (or project-name with project-domain-name or project-domain-id), or domain-id / domain-name, or system-scope: all.'
    )
  }
}

/** The scope asked for, as people read it. */
export function describeRequestedScope(scope: Scope): string {
  const ref = (value: { id: string } | { name: string }): string => ('id' in value ? value.id : value.name)
  switch (scope.kind) {
    case 'project':
      return `project ${oneLine(ref(scope.project), 100)}${'domain' in scope.project ? ` in domain ${oneLine(ref(scope.project.domain), 100)}` : ''}`
    case 'domain':
      return `domain ${oneLine(ref(scope.domain), 100)}`
    case 'system':
      return 'the system scope'
    case 'default':
      return 'no scope'
  }
}

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
  const parts = jwt.split('.')
  if (parts.length !== 3 || jwt.length > 16_384) return undefined
  let payload: unknown
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined
  const raw = payload as Record<string, unknown>
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

function header(response: HttpResponse, name: string): string {
  const value = response.headers[name]
  return (Array.isArray(value) ? value[0] : value) ?? ''
}

/**
 * What a refusal of the federation auth URL means. Three different parts of the cloud answer
 * there, and each refusal looks different (as observed with Apache mod_auth_openidc 2.4.12 and
 * Keystone 22):
 * - the token validator (mod_auth_openidc): 401 with `WWW-Authenticate: Bearer error="invalid_token"`
 *   (signature, unknown key, expired), or `error="invalid_request"` (no bearer token arrived);
 * - the web server's authorization rules (`Require claim aud:…`/`iss:…`): 401, an HTML page, no
 *   Bearer challenge;
 * - Keystone: 401 JSON when the mapping admits nobody for these claims (wrong repository, ref,
 *   environment…) or the protocol is not an enabled auth method; 403 when the issuer is not a
 *   remote id of the identity provider; 404 when the identity provider or protocol does not exist.
 * Anything else (429, 5xx, redirects…) is left to the Keystone client's generic sentences.
 */
export function federationRefusal(settings: OidcSettings, claims: IdTokenClaims | undefined): RefusalExplainer {
  return (response, url) => {
    const status = response.status
    if (status !== 401 && status !== 403 && status !== 404) return undefined
    const said = keystoneSaid(response)
    const challenge = header(response, 'www-authenticate')
    const failure = {
      status,
      retryAfter: header(response, 'retry-after') || undefined,
      brief: `The cloud answered HTTP ${status}${said ? ` "${said}"` : ''}`
    }
    const token = `the GitHub ID token (${describeIdToken(claims)})`
    const at = `The cloud answered HTTP ${status} at ${url}`
    const idp = `identity provider ${settings.identityProvider}`

    if (status === 401 && /^Bearer\b/i.test(challenge)) {
      const error = /\berror="([^"]*)"/.exec(challenge)?.[1]
      const description = /\berror_description="([^"]*)"/.exec(challenge)?.[1]
      const detail = `(WWW-Authenticate: Bearer error="${oneLine(error ?? '', 60)}"${description ? `, "${oneLine(description, 120)}"` : ''})`
      if (error === 'invalid_request') {
        return new KeystoneError(
          `${at} ${detail}: no bearer token reached the cloud's token validator; a proxy between the runner and Keystone may drop the Authorization header.`,
          failure
        )
      }
      return new KeystoneError(
        `${at} ${detail}: the cloud's token validator refused ${token}: it is expired, or not signed by a key of an issuer the cloud trusts. Ask the cloud operator whether it trusts GitHub's issuer (https://token.actions.githubusercontent.com, JWKS at /.well-known/jwks).`,
        failure
      )
    }
    if (status === 401 && said === 'Attempted to authenticate with an unsupported method.') {
      return new KeystoneError(
        `${at}, saying "${said}": protocol ${settings.protocol} is not an auth method this Keystone accepts; check the protocol input (usually openid) with the cloud operator.`,
        failure
      )
    }
    if (status === 401 && (said !== undefined || /^Keystone\b/i.test(challenge))) {
      return new KeystoneError(
        `${at}${said ? `, saying "${said}"` : ''}: Keystone's mapping for ${idp} (protocol ${settings.protocol}) admits no user for ${token}. Ask the cloud operator to admit this repository (by repository_id and repository_owner_id) and this ref or environment (sub); a job with an environment, a pull request or another branch has another sub.`,
        failure
      )
    }
    if (status === 401) {
      return new KeystoneError(
        `${at}: the cloud's authorization rules refused ${token}, typically because its audience or issuer is not the one required. Set the audience input to the value the cloud operator requires${settings.audience === undefined ? ' (without it GitHub uses https://github.com/<owner>)' : ''}.`,
        failure
      )
    }
    if (status === 403) {
      return new KeystoneError(
        `${at}${said ? `, saying "${said}"` : ''}: Keystone refused ${token} for ${idp}; typically its issuer is not a remote id of that identity provider. Check identity-provider with the cloud operator.`,
        failure
      )
    }
    return new KeystoneError(
      `${at}${said ? `, saying "${said}"` : ''}: ${idp} or its protocol ${settings.protocol} does not exist at this auth-url; check identity-provider, protocol and auth-url.`,
      failure
    )
  }
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

  const unscoped = await exchangeIdToken(keystone, settings, idToken)
  core.setSecret(unscoped.value)
  core.debug(`Identity provider ${settings.identityProvider} admitted the ID token as federated user ${unscoped.user.name ?? unscoped.user.id}.`)
  try {
    const scoped = await keystone.issue(rescopeBody(unscoped.value, scope), { catalog: options.catalog }).catch((error: unknown) => {
      throw rescopeError(error, unscoped, scope)
    })
    core.setSecret(scoped.value)
    return scoped
  } finally {
    await revokeUnscoped(deps, unscoped.value)
  }
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

function rescopeError(error: unknown, unscoped: Token, scope: Scope): unknown {
  if (!(error instanceof KeystoneError) || error.status !== 401) return error
  return new KeystoneError(
    `Keystone accepted the GitHub ID token (federated user ${oneLine(unscoped.user.name ?? unscoped.user.id, 200)}) but refused a token scoped to ${describeRequestedScope(scope)} (${error.brief}): the groups its mapping gives this workflow have no role there. Ask the cloud operator for a role, or choose the project they have one on.`,
    {
      status: error.status,
      ...(error.network && { network: error.network }),
      ...(error.retryAfter !== undefined && { retryAfter: error.retryAfter }),
      ...(error.retryAfterHeader !== undefined && { retryAfterHeader: error.retryAfterHeader }),
      brief: error.brief
    }
  )
}

/** The unscoped token is of no use to the job: revoked at once. A failure only warns (it expires anyway). */
async function revokeUnscoped({ core, keystone }: KeylessLoginDeps, token: string): Promise<void> {
  try {
    await keystone.revoke(token)
    core.debug('Revoked the unscoped federated token.')
  } catch (error) {
    core.warning(`Could not revoke the unscoped federated token (${(error as Error).message}); it expires on its own.`)
  }
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
