import { isObject } from '../json.js'
import { parseCatalog, type CatalogService } from './catalog.js'
import { KeystoneError, oneLine, type KeystoneFailure } from '../errors.js'
import { NetworkError, send, type HttpOptions, type HttpRequest, type HttpResponse } from '../net/http.js'
import { retryHintHeader, withRetries, type RetryRun } from '../net/retry.js'
import { parseKeystoneTime } from '../time.js'

export { KeystoneError }

/**
 * The Keystone v3 token API: issue (`POST /auth/tokens`) and revoke (`DELETE /auth/tokens`).
 * Each answer becomes either a typed result or a KeystoneError whose message tells the user what
 * to fix. Request bodies carry secrets: they are sent and never logged.
 */

export interface NamedRef {
  id: string
  name?: string
}

export interface Token {
  /** The secret itself, from the `X-Subject-Token` header. */
  value: string
  /** Keystone's times, on Keystone's clock. */
  issuedAt: Date
  expiresAt: Date
  /**
   * How long the token was still valid when the answer left Keystone, measured on Keystone's own
   * clock (its `Date` header for a token read, `issued_at` for a new one): the runner's clock may be
   * off, so no expiry decision compares it with expiresAt. See remainingMs.
   */
  validForMs: number
  /** When the answer arrived, on the runner's clock: the start of validForMs for the runner. */
  receivedAt: Date
  methods: string[]
  user: NamedRef & { domain?: NamedRef }
  project?: NamedRef & { domain?: NamedRef }
  domain?: NamedRef
  system: boolean
  applicationCredential?: NamedRef
  /**
   * The application credential has access rules. Keystone cannot revoke such a token with the token
   * itself: DELETE /auth/tokens answers 404 on Zed (a lookup without access-rules support) and 401
   * on later releases (no access rule allows the call); the token stays valid either way.
   */
  accessRules?: boolean
  /** Only when asked for; undefined when Keystone sent none or not a list. */
  catalog?: CatalogService[]
  /** Keystone's JSON document as received: what openstacksdk caches as auth state. */
  document?: unknown
}

export type Revocation = 'revoked' | 'already-gone'

/** What is left of a token's life at `now` (runner's clock), from what Keystone's clock said at receipt. */
export function remainingMs(token: Pick<Token, 'validForMs' | 'receivedAt'>, now: Date): number {
  return token.validForMs - Math.max(0, now.getTime() - token.receivedAt.getTime())
}

/** Turns a refusal into the sentence that names who refused, or leaves it to the generic one. */
export type RefusalExplainer = (response: HttpResponse, url: string) => KeystoneError | undefined

export interface KeystoneOptions {
  /** Deadline of one request, answer body included. */
  timeoutMs: number
  /** How to retry what can be retried; without it, one attempt. */
  retry?: RetryRun
  /** A private CA's PEM, and whether to skip verification. */
  ca?: string
  insecure?: boolean
  /** Called each time a request has been sent: the step may use Keystone's time for its own work. */
  onRequestSent?: () => void
  /** The runner's clock, for Token.receivedAt. */
  now?: () => Date
}

/** Tokens are opaque printable strings (fernet ~200 characters, PKI up to a few KB). */
export const TOKEN_SHAPE = /^[\x21-\x7e]{1,8192}$/

export class Keystone {
  /**
   * Every token Keystone issued through this client (an X-Subject-Token in a 2xx answer to a login,
   * even one whose body never arrived whole) that has not been revoked since. Whoever ends the step
   * revokes what is left, or saves it for the post step: no token is forgotten half-way.
   */
  readonly outstanding = new Set<string>()

  constructor(
    /** The v3 base URL, e.g. `https://keystone.example.com/v3`. */
    readonly authUrl: string,
    private readonly options: KeystoneOptions
  ) {}

  /** Logs in. `catalog: false` asks Keystone to leave the service catalog out of the answer. */
  issue(body: object, { catalog }: { catalog: boolean }): Promise<Token> {
    return this.retrying(() => this.issueOnce(body, catalog))
  }

  /** Revokes a token with itself as the credential: 204, or 401/404 when it is already gone. */
  revoke(token: string): Promise<Revocation> {
    return this.retrying(() => this.revokeOnce(token))
  }

  /**
   * One revocation attempt for each outstanding token, no retries: what fails stays in
   * `outstanding`, for the caller to save for the post step, which retries.
   */
  async revokeOutstanding(): Promise<void> {
    for (const token of [...this.outstanding]) await this.revokeOnce(token).catch(() => undefined)
  }

  /**
   * The token's own document as Keystone has it: one GET with the token as its own credential,
   * with the catalog when asked. Undefined when Keystone no longer knows it (revoked, expired).
   * A job that received the token from another job uses it to check it, or to read its catalog.
   */
  read(token: string, { catalog }: { catalog: boolean }): Promise<Token | undefined> {
    return this.retrying(() => this.readOnce(token, catalog))
  }

  private async readOnce(token: string, catalog: boolean): Promise<Token | undefined> {
    const url = `${this.authUrl}/auth/tokens${catalog ? '' : '?nocatalog'}`
    const response = await this.call('read the token', {
      method: 'GET',
      url,
      headers: selfAuthenticated(token)
    })
    if (response.status === 401 || response.status === 404) return undefined
    if (response.status !== 200) {
      throw new KeystoneError(
        `Keystone answered ${statusText(response)} to the token read at ${url}${keystoneMessage(response, ': ')}.`,
        statusFailure(response)
      )
    }
    return { value: token, ...this.parseToken(response, url, 'read') }
  }

  /** The token document, with how long it was still valid by Keystone's clock when it arrived. */
  private parseToken(response: HttpResponse, url: string, how: 'issued' | 'read'): Omit<Token, 'value'> {
    const receivedAt = this.options.now?.() ?? new Date()
    const document = parseTokenBody(response, url)
    // A new token's issued_at is Keystone's time of the answer, to the microsecond; an older token
    // read back has only the answer's Date header (to the second) for it.
    const date = headerValue(response, 'date')
    const keystoneNow = how === 'issued' ? document.issuedAt : date !== undefined ? new Date(date) : undefined
    const reference = keystoneNow && !Number.isNaN(keystoneNow.getTime()) ? keystoneNow : receivedAt
    return { ...document, validForMs: document.expiresAt.getTime() - reference.getTime(), receivedAt }
  }

  private retrying<T>(attempt: () => Promise<T>): Promise<T> {
    return this.options.retry ? withRetries(attempt, this.options.retry) : attempt()
  }

  private async issueOnce(body: object, catalog: boolean): Promise<Token> {
    const url = `${this.authUrl}/auth/tokens${catalog ? '' : '?nocatalog'}`
    const response = await this.login('issue a token', {
      method: 'POST',
      url,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body)
    })
    if (response.status !== 201 && response.status !== 200) {
      throw issueFailure(response, url)
    }
    return this.issuedToken(response, url)
  }

  /**
   * Keyless login: trades a GitHub ID token (a JWT) for an unscoped Keystone token at the
   * federation endpoint. `explain` names who refused (mod_auth_openidc, Apache, the mapping).
   */
  federatedLogin(url: string, idToken: string, explain?: RefusalExplainer): Promise<Token> {
    return this.retrying(() => this.federatedLoginOnce(url, idToken, explain))
  }

  private async federatedLoginOnce(url: string, idToken: string, explain?: RefusalExplainer): Promise<Token> {
    const response = await this.login('exchange the GitHub ID token', {
      method: 'POST',
      url,
      headers: { Authorization: `Bearer ${idToken}`, Accept: 'application/json' }
    })
    if (response.status !== 201 && response.status !== 200) throw explain?.(response, url) ?? issueFailure(response, url)
    return this.issuedToken(response, url)
  }

  /** The token of a successful login: its header, then its document (revoked if unusable). */
  private async issuedToken(response: HttpResponse, url: string): Promise<Token> {
    const value = headerValue(response, 'x-subject-token')
    if (!value) {
      throw new KeystoneError(
        `Keystone answered ${response.status} at ${url} but sent no X-Subject-Token header: check that auth-url points at Keystone itself, not at a proxy or another service.`,
        { status: response.status }
      )
    }
    if (!TOKEN_SHAPE.test(value)) {
      throw new KeystoneError(
        `Keystone at ${url} sent an X-Subject-Token that is not a token (${value.length} characters, or not printable): check that auth-url points at Keystone itself.`,
        { status: response.status }
      )
    }
    try {
      return { value, ...this.parseToken(response, url, 'issued') }
    } catch (error) {
      // Keystone did issue a token, only its document is unusable: it must not stay valid.
      await this.revokeOnce(value).catch(() => undefined)
      throw error
    }
  }

  private async revokeOnce(token: string): Promise<Revocation> {
    const url = `${this.authUrl}/auth/tokens`
    const response = await this.call('revoke the token', {
      method: 'DELETE',
      url,
      headers: selfAuthenticated(token)
    })
    if (response.status === 204 || response.status === 200) {
      this.outstanding.delete(token)
      return 'revoked'
    }
    // Keystone answers 401 when the token that authenticates the call (itself) is already dead,
    // and also, like 404 on Zed, to a token of an application credential with access rules that
    // is still alive: the post step tells the two apart by the token's own accessRules.
    if (response.status === 401 || response.status === 404) {
      this.outstanding.delete(token)
      return 'already-gone'
    }
    throw new KeystoneError(
      `Keystone answered ${statusText(response)} to the revocation at ${url}${keystoneMessage(response, ': ')}.`,
      statusFailure(response)
    )
  }

  /** One HTTP exchange with Keystone; a network failure becomes a KeystoneError that says what to check. */
  private async call(purpose: string, request: HttpRequest, onHeaders?: HttpOptions['onHeaders']): Promise<HttpResponse> {
    try {
      const { timeoutMs, ca, insecure, onRequestSent } = this.options
      return await send(request, {
        timeoutMs,
        ...(ca !== undefined && { ca }),
        ...(insecure && { insecure }),
        ...(onRequestSent && { onSent: onRequestSent }),
        ...(onHeaders && { onHeaders })
      })
    } catch (error) {
      if (error instanceof NetworkError) throw networkFailure(error, purpose, request.url)
      throw error
    }
  }

  /**
   * A login: the token is recorded as outstanding as soon as its header arrives. If the rest of the
   * answer then fails (reset, stalled past the deadline, over the size cap), the token is revoked
   * before the error goes on to the retry policy, which would otherwise log in again and leave it.
   */
  private async login(purpose: string, request: HttpRequest): Promise<HttpResponse> {
    let issued: string | undefined
    try {
      return await this.call(purpose, request, (status, headers) => {
        const value = firstHeader(headers['x-subject-token'])
        if ((status === 200 || status === 201) && value !== undefined && TOKEN_SHAPE.test(value)) {
          issued = value
          this.outstanding.add(value)
        }
      })
    } catch (error) {
      if (issued !== undefined) await this.revokeOnce(issued).catch(() => undefined)
      throw error
    }
  }
}

function headerValue(response: HttpResponse, name: string): string | undefined {
  return firstHeader(response.headers[name])
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function statusText(response: HttpResponse): string {
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
function keystoneMessage(response: HttpResponse, prefix: string): string {
  const said = keystoneSaid(response)
  return said === undefined ? '' : `${prefix}"${said}"`
}

function looksLikeHtml(response: HttpResponse): boolean {
  const type = String(response.headers['content-type'] ?? '')
  return /html/i.test(type) || /^\s*</.test(response.body)
}

/** What the retry policy and the retry log lines need to know of an HTTP answer. */
function statusFailure(response: HttpResponse): KeystoneFailure {
  const said = keystoneMessage(response, ' ')
  return {
    status: response.status,
    ...retryHintHeader(name => headerValue(response, name)),
    brief: `Keystone answered ${statusText(response)}${said}`
  }
}

function issueFailure(response: HttpResponse, url: string): KeystoneError {
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

function networkFailure(error: NetworkError, purpose: string, url: string): KeystoneError {
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

/**
 * Headers of a call that a token makes about itself. An application credential with access rules
 * may only reach what its rules list, and Keystone then answers 404 to its own token unless the
 * client says it understands access rules (keystonemiddleware sends the same header).
 */
function selfAuthenticated(token: string): Record<string, string> {
  return { 'X-Auth-Token': token, 'X-Subject-Token': token, 'OpenStack-Identity-Access-Rules': '1.0', Accept: 'application/json' }
}

function ref(value: unknown): NamedRef | undefined {
  if (!isObject(value) || typeof value.id !== 'string' || value.id === '') return undefined
  return { id: value.id, ...(typeof value.name === 'string' && { name: value.name }) }
}

function refWithDomain(value: unknown): (NamedRef & { domain?: NamedRef }) | undefined {
  const base = ref(value)
  if (!base || !isObject(value)) return base
  const domain = ref(value.domain)
  return domain ? { ...base, domain } : base
}

/** Reads the token document, refusing anything a real Keystone would not send. */
function parseTokenBody(response: HttpResponse, url: string): Omit<Token, 'value' | 'validForMs' | 'receivedAt'> {
  const invalid = (what: string): KeystoneError =>
    new KeystoneError(`Keystone's answer at ${url} is not a valid token document (${what}): check that auth-url points at Keystone itself.`, {
      status: response.status
    })
  let parsed: unknown
  try {
    parsed = JSON.parse(response.body)
  } catch {
    throw looksLikeHtml(response) ? invalid('an HTML page instead of JSON') : invalid('not JSON')
  }
  if (!isObject(parsed) || !isObject(parsed.token)) throw invalid('no "token" object')
  const token = parsed.token
  const expiresAt = typeof token.expires_at === 'string' ? parseKeystoneTime(token.expires_at) : undefined
  if (!expiresAt) throw invalid(`expires_at is ${JSON.stringify(token.expires_at)?.slice(0, 60) ?? 'missing'}`)
  const issuedAt = (typeof token.issued_at === 'string' && parseKeystoneTime(token.issued_at)) || new Date(Date.now())
  const user = refWithDomain(token.user)
  if (!user) throw invalid('no user id')
  const methods = Array.isArray(token.methods) ? token.methods.filter((m): m is string => typeof m === 'string') : []
  const project = refWithDomain(token.project)
  const domain = ref(token.domain)
  const applicationCredential = ref(token.application_credential)
  const accessRules =
    isObject(token.application_credential) &&
    Array.isArray(token.application_credential.access_rules) &&
    token.application_credential.access_rules.length > 0
  const catalog = parseCatalog(token.catalog)
  return {
    issuedAt,
    expiresAt,
    methods,
    user,
    ...(project && { project }),
    ...(domain && { domain }),
    system: isObject(token.system) && token.system.all === true,
    ...(applicationCredential && { applicationCredential }),
    ...(accessRules && { accessRules }),
    ...(catalog && { catalog }),
    document: parsed
  }
}
