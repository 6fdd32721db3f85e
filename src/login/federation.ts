import { scopeRequest } from './auth-request.js'
import type { Scope } from '../config/types.js'
import type { Core } from '../runtime/core.js'
import { KeystoneError, oneLine, UserError } from '../errors.js'
import type { HttpResponse } from '../net/http.js'
import { keystoneSaid, type RefusalExplainer, type Revocation, type Token } from '../keystone/client.js'

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

/** Where Keystone federates: its identity provider and protocol ids. */
export interface FederationTarget {
  identityProvider: string
  protocol: string
}

/** How a method names the token it presents, and what a user should check when it is refused. */
export interface FederationWords {
  /** `auth-method` value, for the missing-scope error. */
  method: string
  /** The token with what identifies it: `the GitHub ID token (sub …, audience …)`. */
  token: string
  /** The token's short name: `the GitHub ID token`. */
  tokenName: string
  /** Who the mapping's groups are given to: `this workflow`. */
  mappedWho: string
  /** After the token validator refused the token (expired, unknown key): what to ask or check. */
  untrusted: string
  /** After Keystone's mapping admitted no user: what to ask the cloud operator. */
  mapping: string
  /** After the web server's authorization rules refused the token: why, and what to set. */
  rules: string
  /** The purpose of the federation request, for a network failure: `exchange the GitHub ID token`. */
  purpose: string
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
 * - Keystone: 401 JSON when the mapping admits nobody for these claims, or the protocol is not an
 *   enabled auth method; 403 when the issuer is not a remote id of the identity provider; 404 when
 *   the identity provider or protocol does not exist.
 * Anything else (429, 5xx, redirects…) is left to the Keystone client's generic sentences.
 */
export function federationRefusalIn(target: FederationTarget, words: FederationWords): RefusalExplainer {
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
    const token = words.token
    const at = `The cloud answered HTTP ${status} at ${url}`
    const idp = `identity provider ${target.identityProvider}`

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
        `${at} ${detail}: the cloud's token validator refused ${token}: it is expired, or not signed by a key of an issuer the cloud trusts. ${words.untrusted}`,
        failure
      )
    }
    if (status === 401 && said === 'Attempted to authenticate with an unsupported method.') {
      return new KeystoneError(
        `${at}, saying "${said}": protocol ${target.protocol} is not an auth method this Keystone accepts; check the protocol input (usually openid) with the cloud operator.`,
        failure
      )
    }
    if (status === 401 && (said !== undefined || /^Keystone\b/i.test(challenge))) {
      return new KeystoneError(
        `${at}${said ? `, saying "${said}"` : ''}: Keystone's mapping for ${idp} (protocol ${target.protocol}) admits no user for ${token}. ${words.mapping}`,
        failure
      )
    }
    if (status === 401) {
      return new KeystoneError(`${at}: the cloud's authorization rules refused ${token}, ${words.rules}`, failure)
    }
    if (status === 403) {
      return new KeystoneError(
        `${at}${said ? `, saying "${said}"` : ''}: Keystone refused ${token} for ${idp}; typically its issuer is not a remote id of that identity provider. Check identity-provider with the cloud operator.`,
        failure
      )
    }
    return new KeystoneError(
      `${at}${said ? `, saying "${said}"` : ''}: ${idp} or its protocol ${target.protocol} does not exist at this auth-url; check identity-provider, protocol and auth-url.`,
      failure
    )
  }
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
      throw rescopeError(error, unscoped, scope, words)
    })
    core.setSecret(scoped.value)
    return scoped
  } finally {
    await revokeUnscoped(core, keystone, unscoped.value)
  }
}

function rescopeError(error: unknown, unscoped: Token, scope: Scope, words: FederationWords): unknown {
  if (!(error instanceof KeystoneError) || error.status !== 401) return error
  return new KeystoneError(
    `Keystone accepted ${words.tokenName} (federated user ${oneLine(unscoped.user.name ?? unscoped.user.id, 200)}) but refused a token scoped to ${describeRequestedScope(scope)} (${error.brief}): the groups its mapping gives ${words.mappedWho} have no role there. Ask the cloud operator for a role, or choose the project they have one on.`,
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
async function revokeUnscoped(core: FederatedLoginDeps['core'], keystone: FederatingKeystone, token: string): Promise<void> {
  try {
    await keystone.revoke(token)
    core.debug('Revoked the unscoped federated token.')
  } catch (error) {
    core.warning(`Could not revoke the unscoped federated token (${(error as Error).message}); it expires on its own.`)
  }
}
