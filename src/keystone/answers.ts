import { KeystoneError, NetworkError, oneLine, type KeystoneFailure } from '../errors.js'
import { headerValue, type HttpResponse } from '../net/http.js'
import { retryHintHeader } from '../net/retry.js'
import type { Scope } from '../config/types.js'

/**
 * The words a user reads about Keystone's answers, in one place: what each status of a login
 * means (400, 401 and its two families, 403, 404, 429, redirects, 5xx, HTML instead of JSON), what
 * a network or TLS failure on the way means, and what the federation endpoint's refusals mean. A
 * change of wording is one edit here; __tests__/messages.test.ts holds every sentence to the inputs
 * and variables it names.
 */

/** Turns a refusal into the sentence that names who refused, or leaves it to the generic one. */
export type RefusalExplainer = (response: HttpResponse, url: string) => KeystoneError | undefined

export function statusText(response: HttpResponse): string {
  return `HTTP ${response.status}`
}

/** Keystone's own words (`{"error":{"message":…}}`), made safe for one log line; undefined if none. */
export function keystoneSaid(response: HttpResponse): string | undefined {
  try {
    const message = (JSON.parse(response.body) as { error?: { message?: unknown } })?.error?.message
    if (typeof message === 'string' && message.trim() !== '') return oneLine(message, 200)
  } catch {
    // not JSON: no message of Keystone's to quote
  }
  return undefined
}

/** Keystone's words quoted after `prefix`, or nothing. */
export function keystoneMessage(response: HttpResponse, prefix: string): string {
  const said = keystoneSaid(response)
  return said === undefined ? '' : `${prefix}"${said}"`
}

export function looksLikeHtml(response: HttpResponse): boolean {
  const type = String(response.headers['content-type'] ?? '')
  return /html/i.test(type) || /^\s*</.test(response.body)
}

/** What the retry policy and the retry log lines need to know of an HTTP answer. */
export function statusFailure(response: HttpResponse): KeystoneFailure {
  const said = keystoneMessage(response, ' ')
  return {
    status: response.status,
    ...retryHintHeader(name => headerValue(response, name)),
    brief: `Keystone answered ${statusText(response)}${said}`
  }
}

export function issueFailure(response: HttpResponse, url: string): KeystoneError {
  const said = keystoneMessage(response, ', saying ')
  const status = response.status
  const failure = statusFailure(response)
  const at = `Keystone answered ${statusText(response)} at ${url}${said}`
  switch (true) {
    case status === 401:
      return new KeystoneError(
        `${at}: Keystone does not say whether it refused the credentials (check the user, its domain, the password or secret) or the scope (check the project or domain asked for, its domain, and the user's role on it); diagnose-refusal: true tells the two apart.`,
        failure
      )
    case status === 400:
      return new KeystoneError(
        `${at}: the login request was incomplete or malformed; check the user and scope inputs (a name needs its domain).`,
        failure
      )
    case status === 403:
      return new KeystoneError(`${at}: the user may not obtain this token; check the scope asked for and the user's roles.`, failure)
    case status === 404:
      return new KeystoneError(`${at}: check that auth-url is the Keystone v3 endpoint (e.g. https://keystone.example.com:5000/v3).`, failure)
    case status === 429:
      return new KeystoneError(`${at}: Keystone is rate-limiting logins; raise max-wait, or start fewer jobs at once.`, failure)
    case status >= 300 && status < 400:
      return new KeystoneError(
        `${at} redirecting to ${String(response.headers.location ?? 'nowhere')}: the action never follows a redirect with credentials; set auth-url to the final Keystone URL.`,
        failure
      )
    case status >= 500:
      return new KeystoneError(`${at}: Keystone failed on its side; try again later.`, failure)
    case looksLikeHtml(response):
      return new KeystoneError(`${at} with an HTML page instead of JSON: check auth-url (a proxy or login page answered).`, failure)
    default:
      return new KeystoneError(`${at}: check auth-url and the credentials.`, failure)
  }
}

export function networkFailure(error: NetworkError, purpose: string, url: string): KeystoneError {
  const host = new URL(url).host
  const failure = { network: error, brief: `${error.message} at ${host}` }
  const could = `Could not ${purpose} at ${host}`
  switch (error.failure) {
    case 'refused':
      return new KeystoneError(
        `${could}: connection refused; check auth-url (host and port) and that Keystone is reachable from the runner.`,
        failure
      )
    case 'dns':
      return new KeystoneError(`${could}: the host name does not resolve; check auth-url for a typo.`, failure)
    case 'tls':
      return new KeystoneError(
        `${could}: ${error.message}; for a private CA, give its certificate in the cacert input (PEM text or a file path), or set insecure: true to skip verification.`,
        failure
      )
    case 'timeout':
      return new KeystoneError(`${could}: ${error.message}; check auth-url and the runner's network or proxy.`, failure)
    case 'too-large':
      return new KeystoneError(`${could}: ${error.message}; check that auth-url points at Keystone itself.`, failure)
    default:
      return new KeystoneError(`${could}: ${error.message}; check auth-url and the runner's network.`, failure)
  }
}

/** A 401 to a login that the unscoped probe (or the absence of a scope) pins on the credentials. */
export function credentialsRefused(error: KeystoneError, at: string, check: string, probed = false): KeystoneError {
  const also = probed ? ', also without a scope' : ''
  return new KeystoneError(`${at}: Keystone refused the credentials themselves${also}; ${check}.`, error)
}

/** A 401 to a scoped login whose credentials the unscoped probe showed to be right. */
export function scopeRefused(error: KeystoneError, at: string, scope: Scope): KeystoneError {
  const check =
    scope.kind === 'project'
      ? `that the project exists (${'id' in scope.project ? 'project-id' : 'project-name'})${'id' in scope.project ? '' : ', that it is in the domain given (project-domain-name or project-domain-id)'}, and that the user has a role on it`
      : scope.kind === 'domain'
        ? 'that the domain exists (domain-id or domain-name) and that the user has a role on it'
        : 'that the user has a role on the system scope'
  return new KeystoneError(
    `${at}: Keystone accepted the credentials but refused a token scoped to ${describeRequestedScope(scope)}; check ${check} (openstack role assignment list --user <user> --names).`,
    error
  )
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
    const challenge = headerValue(response, 'www-authenticate') ?? ''
    const failure = {
      status,
      retryAfter: headerValue(response, 'retry-after') || undefined,
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

/** A 401 to the rescope of a federated token: the mapping admitted the user, no role on the scope. */
export function federatedScopeRefused(error: unknown, user: string, scope: Scope, words: FederationWords): unknown {
  if (!(error instanceof KeystoneError) || error.status !== 401) return error
  return new KeystoneError(
    `Keystone accepted ${words.tokenName} (federated user ${oneLine(user, 200)}) but refused a token scoped to ${describeRequestedScope(scope)} (${error.brief}): the groups its mapping gives ${words.mappedWho} have no role there. Ask the cloud operator for a role, or choose the project they have one on.`,
    {
      status: error.status,
      ...(error.network && { network: error.network }),
      ...(error.retryAfter !== undefined && { retryAfter: error.retryAfter }),
      ...(error.retryAfterHeader !== undefined && { retryAfterHeader: error.retryAfterHeader }),
      brief: error.brief
    }
  )
}
