import { issueFailure, keystoneMessage, networkFailure, statusFailure, statusText, type RefusalExplainer } from './answers.js'
import { parseTokenBody, TOKEN_SHAPE, type Token } from './token.js'
import { KeystoneError, NetworkError } from '../errors.js'
import { firstHeader, headerValue, send, type HttpOptions, type HttpRequest, type HttpResponse } from '../net/http.js'
import { withRetries, type RetryRun } from '../net/retry.js'

export { KeystoneError }

/**
 * The Keystone v3 token API: issue (`POST /auth/tokens`) and revoke (`DELETE /auth/tokens`).
 * Each answer becomes either a typed result or a KeystoneError whose message tells the user what
 * to fix. Request bodies carry secrets: they are sent and never logged.
 */

export type Revocation = 'revoked' | 'already-gone'

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

  /**
   * How this client reaches the cloud: the deadline of one request and the TLS trust. A login that
   * also asks another party (an OIDC provider) uses the same.
   */
  get connection(): Pick<KeystoneOptions, 'timeoutMs' | 'ca' | 'insecure'> {
    const { timeoutMs, ca, insecure } = this.options
    return { timeoutMs, ...(ca !== undefined && { ca }), ...(insecure && { insecure }) }
  }

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
    const document = parseTokenBody(response, url, receivedAt)
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
   * A federated login: trades a bearer token (a GitHub ID token, an OIDC provider's token) for an
   * unscoped Keystone token at the federation endpoint. `explain` names who refused
   * (mod_auth_openidc, Apache, the mapping); `purpose` names the exchange in a network failure.
   */
  federatedLogin(url: string, bearer: string, explain?: RefusalExplainer, purpose = 'exchange the GitHub ID token'): Promise<Token> {
    return this.retrying(() => this.federatedLoginOnce(url, bearer, explain, purpose))
  }

  private async federatedLoginOnce(url: string, bearer: string, explain: RefusalExplainer | undefined, purpose: string): Promise<Token> {
    const response = await this.login(purpose, {
      method: 'POST',
      url,
      headers: { Authorization: `Bearer ${bearer}`, Accept: 'application/json' }
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

/**
 * Headers of a call that a token makes about itself. An application credential with access rules
 * may only reach what its rules list, and Keystone then answers 404 to its own token unless the
 * client says it understands access rules (keystonemiddleware sends the same header).
 */
function selfAuthenticated(token: string): Record<string, string> {
  return { 'X-Auth-Token': token, 'X-Subject-Token': token, 'OpenStack-Identity-Access-Rules': '1.0', Accept: 'application/json' }
}
