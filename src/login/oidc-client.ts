import { DEFAULT_PROTOCOL, federate, federationAuthUrl, jwtPayload, requireExplicitScope } from './federation.js'
import { type FederationWords } from '../keystone/answers.js'
import type { LoginContext, LoginMethod } from './method.js'
import { isLoopback } from '../config/auth-url.js'
import { resolveBoolean, type Sourced } from '../config/reader.js'
import type { Credentials } from '../config/types.js'
import { KeystoneError, NetworkError, oneLine, UserError } from '../errors.js'
import { isObject } from '../json.js'
import { send, type HttpRequest, type HttpResponse } from '../net/http.js'
import { retryHintHeader, withRetries } from '../net/retry.js'
import { formatTime } from '../time.js'

/**
 * An OIDC client (`auth-method: oidc-client`, keystoneauth's `v3oidcclientcredentials`): an OAuth2
 * client id and secret, such as an OVHcloud service account or a Keycloak robot. The provider's
 * discovery document names its token endpoint; a client-credentials grant there (HTTP Basic, as
 * keystoneauth sends it) returns an `id_token` or an `access_token`, which Keystone's federation
 * trades for an unscoped token, rescoped to the project asked for (federation.ts); the unscoped one
 * is revoked at once. The secret goes to the provider only, never to Keystone; the provider's
 * token goes to Keystone only, and is masked before anything could print it.
 */

type OidcClientCredentials = Extract<Credentials, { method: 'oidc-client' }>

const TOKEN_TYPES = ['access_token', 'id_token'] as const
/** keystoneauth's defaults (keystoneauth1/identity/v3/oidc.py). */
const DEFAULT_TOKEN_TYPE = 'access_token'
const DEFAULT_SCOPE = 'openid profile'
/** A JWT of a few claims is about a kilobyte; the federation header must stay within Apache's 8 KB lines. */
const TOKEN_SHAPE = /^[\x21-\x7e]{1,16384}$/
/** A discovery document is a few kilobytes. */
const MAX_PROVIDER_ANSWER_BYTES = 1024 * 1024

export const oidcClientLogin: LoginMethod<OidcClientCredentials> = {
  name: 'oidc-client',
  authTypes: ['v3oidcclientcredentials'],
  secretInputs: ['client-secret'],
  scoped: true,
  // A federated token can be exchanged like a password one.
  defaultTokenUse: 'direct',
  tokenMethods: [],
  howToSet:
    '`client-id` and `client-secret` (or OS_CLIENT_ID and OS_CLIENT_SECRET) with `identity-provider` and `discovery-endpoint` for an OIDC client',

  evidence(read) {
    const secret = read.get('client-secret')
    if (secret) return { secret, what: 'an OIDC client secret' }
    return read.get('client-id') ? { hint: true } : undefined
  },

  resolve(read) {
    const secret = read.get('client-secret')
    if (!secret) {
      throw new UserError(
        'auth-method is oidc-client but no client secret is set: set `client-secret` (OS_CLIENT_SECRET) from a secret, with `client-id` (OS_CLIENT_ID).'
      )
    }
    const clientId = read.get('client-id')
    if (!clientId) {
      throw new UserError(`${secret.from} is set without the client it belongs to: set \`client-id\` (OS_CLIENT_ID).`)
    }
    const identityProvider = read.get('identity-provider')
    if (!identityProvider) {
      throw new UserError(
        "An OIDC client login needs Keystone's identity provider: set `identity-provider` (OS_IDENTITY_PROVIDER), e.g. ovhcloud-emea on OVHcloud, as the cloud operator named it."
      )
    }
    const allowInsecureHttp = resolveBoolean(read.fromInput('allow-insecure-http'), false)
    const discovery = read.get('discovery-endpoint')
    const tokenEndpoint = read.get('access-token-endpoint')
    if (!discovery && !tokenEndpoint) {
      throw new UserError(
        "An OIDC client login needs the provider's discovery document: set `discovery-endpoint` (OS_DISCOVERY_ENDPOINT), e.g. https://<host>/realms/<realm>/.well-known/openid-configuration, or its token endpoint in `access-token-endpoint`."
      )
    }
    for (const url of [discovery, tokenEndpoint]) if (url) checkProviderUrl(url.value, url.from, allowInsecureHttp)
    return {
      method: 'oidc-client',
      clientId: clientId.value,
      clientSecret: secret.value,
      identityProvider: identityProvider.value,
      protocol: read.get('protocol')?.value ?? DEFAULT_PROTOCOL,
      ...(discovery && { discoveryEndpoint: discovery.value }),
      ...(tokenEndpoint && { accessTokenEndpoint: tokenEndpoint.value }),
      accessTokenType: resolveTokenType(read.get('access-token-type')),
      openidScope: read.get('openid-scope')?.value ?? DEFAULT_SCOPE,
      allowInsecureHttp
    }
  },

  async logIn(credentials, context) {
    const { core, keystone, scope, catalog } = context
    // Configuration mistakes first: nothing is asked of the provider for a login Keystone must refuse.
    requireExplicitScope(scope, 'oidc-client')
    federationAuthUrl(keystone.authUrl, credentials.identityProvider, credentials.protocol)

    const endpoint = credentials.accessTokenEndpoint ?? (await tokenEndpointOf(credentials, context))
    const token = await clientCredentialsGrant(credentials, endpoint, context)
    core.setSecret(token)
    const described = describeProviderToken(token)
    core.info(`Got an ${credentials.accessTokenType} from the OIDC provider for client ${oneLine(credentials.clientId, 100)}: ${described}.`)
    return federate({ core, keystone }, credentials, token, scope, clientWords(credentials, described), { catalog })
  }
}

function resolveTokenType(value: Sourced | undefined): OidcClientCredentials['accessTokenType'] {
  if (!value) return DEFAULT_TOKEN_TYPE
  const type = value.value.toLowerCase()
  if ((TOKEN_TYPES as readonly string[]).includes(type)) return type as OidcClientCredentials['accessTokenType']
  throw new UserError(`${value.from} is "${oneLine(value.value, 60)}": use id_token or access_token.`)
}

/** The provider gets the client's secret: https, or plain http on this machine, or the user's explicit consent. */
function checkProviderUrl(raw: string, from: string, allowInsecureHttp: boolean): void {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UserError(
      `${from} is not a valid URL: give it with its scheme, e.g. https://idp.example.com/realms/ci/.well-known/openid-configuration.`
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UserError(`${from} must start with https://, not ${url.protocol}//.`)
  }
  if (url.username || url.password) {
    throw new UserError(`${from} must not contain a user name or password: pass the client's id and secret in client-id and client-secret.`)
  }
  if (url.protocol === 'http:' && !isLoopback(url.href) && !allowInsecureHttp) {
    throw new UserError(
      `${from} uses plain http to ${url.host}: the client secret and the provider's token would cross the network unencrypted; use https, or set allow-insecure-http: true if you must.`
    )
  }
}

/** One request to the provider: the step's deadline, TLS trust and retry budgets, no redirect followed. */
function askProvider(request: HttpRequest, context: LoginContext, check: (response: HttpResponse) => void): Promise<HttpResponse> {
  const { ca, insecure } = context.keystone.connection
  return withRetries(async () => {
    let response: HttpResponse
    try {
      response = await send(request, {
        timeoutMs: context.timeoutMs,
        maxBodyBytes: MAX_PROVIDER_ANSWER_BYTES,
        ...(ca !== undefined && { ca }),
        ...(insecure && { insecure })
      })
    } catch (error) {
      if (error instanceof NetworkError) throw providerUnreachable(error, request.url)
      throw error
    }
    check(response)
    return response
  }, context.retry)
}

function providerUnreachable(error: NetworkError, url: string): KeystoneError {
  const host = new URL(url).host
  const check =
    error.failure === 'tls'
      ? 'for a private CA, give its certificate in the cacert input (PEM text or a file path), or set insecure: true to skip verification'
      : error.failure === 'dns'
        ? 'check discovery-endpoint (or access-token-endpoint) for a typo'
        : 'check discovery-endpoint (or access-token-endpoint) and that the provider is reachable from the runner (https_proxy, no_proxy)'
  return new KeystoneError(`Could not reach the OIDC provider at ${host}: ${error.message}; ${check}.`, {
    network: error,
    brief: `${error.message} at the OIDC provider ${host}`,
    hint: 'check discovery-endpoint and the runner network'
  })
}

/**
 * What any provider answer but the expected one means: a redirect (never followed with the
 * secret), a rate limit or an outage (retried within the step's budgets), anything else.
 */
function providerStatusError(response: HttpResponse, url: string, what: string, otherwise: string): KeystoneError {
  const status = response.status
  const failure = {
    status,
    ...retryHintHeader(name => firstHeader(response.headers[name])),
    brief: `The OIDC provider answered HTTP ${status}`,
    hint: status === 429 ? 'the OIDC provider is rate-limiting' : 'the OIDC provider is unavailable, or a proxy in front of it got no answer'
  }
  const at = `The OIDC provider answered HTTP ${status} to ${what} at ${url}`
  if (status >= 300 && status < 400) {
    return new KeystoneError(
      `${at}, redirecting to ${oneLine(String(response.headers.location ?? 'nowhere'), 200)}: the action never follows a redirect with the client's secret; set discovery-endpoint (or access-token-endpoint) to the final URL.`,
      failure
    )
  }
  if (status === 429) return new KeystoneError(`${at}: it is rate-limiting; raise max-wait, or start fewer jobs at once.`, failure)
  if (status >= 500) return new KeystoneError(`${at}: the provider failed on its side; try again later.`, failure)
  return new KeystoneError(`${at}: ${otherwise}.`, failure)
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** The token endpoint from the provider's discovery document (`token_endpoint`). */
async function tokenEndpointOf(credentials: OidcClientCredentials, context: LoginContext): Promise<string> {
  const url = credentials.discoveryEndpoint!
  const response = await askProvider({ method: 'GET', url, headers: { Accept: 'application/json' } }, context, answer => {
    if (answer.status !== 200) {
      throw providerStatusError(
        answer,
        url,
        'the discovery document',
        'check discovery-endpoint (it usually ends in /.well-known/openid-configuration)'
      )
    }
  })
  let document: unknown
  try {
    document = JSON.parse(response.body)
  } catch {
    document = undefined
  }
  if (!isObject(document)) {
    throw new UserError(
      `The discovery document at ${url} is not a JSON object: check discovery-endpoint (it usually ends in /.well-known/openid-configuration).`
    )
  }
  const grants = document.grant_types_supported
  if (Array.isArray(grants) && !grants.includes('client_credentials')) {
    const listed = grants.filter((grant): grant is string => typeof grant === 'string').map(grant => oneLine(grant, 60))
    throw new UserError(
      `The OIDC provider at ${url} does not offer the client_credentials grant (grant_types_supported: ${listed.slice(0, 10).join(', ') || 'none'}): ask its administrator to enable it for this client (Keycloak: the client's "Service accounts roles").`
    )
  }
  const endpoint = document.token_endpoint
  if (typeof endpoint !== 'string' || endpoint.trim() === '') {
    throw new UserError(
      `The discovery document at ${url} has no token_endpoint: check discovery-endpoint, or give the token endpoint in access-token-endpoint.`
    )
  }
  checkProviderUrl(endpoint, `The token_endpoint of the discovery document at ${url}`, credentials.allowInsecureHttp)
  return endpoint
}

/**
 * The client-credentials grant (RFC 6749 §4.4) with the client's id and secret in HTTP Basic, as
 * keystoneauth sends them (not form-encoded first). Returns the token the federation expects.
 */
async function clientCredentialsGrant(credentials: OidcClientCredentials, endpoint: string, context: LoginContext): Promise<string> {
  const basic = Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`, 'utf8').toString('base64')
  const request: HttpRequest = {
    method: 'POST',
    url: endpoint,
    headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: credentials.openidScope }).toString()
  }
  const response = await askProvider(request, context, answer => {
    if (answer.status !== 200) throw grantRefusal(answer, endpoint, credentials)
  })
  let answer: unknown
  try {
    answer = JSON.parse(response.body)
  } catch {
    answer = undefined
  }
  if (!isObject(answer)) {
    throw new UserError(
      `The OIDC provider's token endpoint ${endpoint} answered 200 without a JSON object: check discovery-endpoint (or access-token-endpoint).`
    )
  }
  const token = answer[credentials.accessTokenType]
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) {
    // Only the names of what it holds: the values are tokens.
    const fields = Object.keys(answer)
      .filter(name => /^[A-Za-z_]{1,40}$/.test(name))
      .slice(0, 10)
    const other = credentials.accessTokenType === 'id_token' ? 'access_token' : 'id_token'
    throw new UserError(
      `The OIDC provider's answer has no ${credentials.accessTokenType} (it has ${fields.join(', ') || 'no fields'}): ${fields.includes(other) ? `set access-token-type to ${other}, the one the cloud operator's federation expects` : 'check openid-scope (an id_token needs the openid scope) and access-token-type with the cloud operator'}.`
    )
  }
  return token
}

/** The provider's refusal of the grant (RFC 6749 §5.2), in the words of what to fix. */
function grantRefusal(response: HttpResponse, endpoint: string, credentials: OidcClientCredentials): KeystoneError {
  const status = response.status
  let code: string | undefined
  let description: string | undefined
  try {
    const body = JSON.parse(response.body) as { error?: unknown; error_description?: unknown }
    if (typeof body.error === 'string') code = oneLine(body.error, 60)
    if (typeof body.error_description === 'string') description = oneLine(body.error_description, 200)
  } catch {
    // not JSON: the status is all there is
  }
  const said = code ? ` (${code}${description ? `: ${description}` : ''})` : ''
  const at = `The OIDC provider refused the client ${oneLine(credentials.clientId, 100)} at ${endpoint} with HTTP ${status}${said}`
  const failure = { status, brief: `The OIDC provider answered HTTP ${status}${code ? ` ${code}` : ''}` }
  if (code === 'invalid_client' || (!code && status === 401)) {
    return new KeystoneError(
      `${at}: check client-id and client-secret (OS_CLIENT_ID, OS_CLIENT_SECRET), and that the client or service account still exists and its secret was not renewed.`,
      failure
    )
  }
  if (code === 'unauthorized_client' || code === 'unsupported_grant_type') {
    return new KeystoneError(
      `${at}: this client may not use the client_credentials grant; ask the provider's administrator to enable it (Keycloak: the client's "Service accounts roles").`,
      failure
    )
  }
  if (code === 'invalid_scope') {
    return new KeystoneError(`${at}: set openid-scope to scopes this client may request (now "${oneLine(credentials.openidScope, 100)}").`, failure)
  }
  return providerStatusError(
    response,
    endpoint,
    'the client-credentials grant',
    `${code ? `it said ${code}${description ? ` (${description})` : ''}; ` : ''}check client-id, client-secret and openid-scope`
  )
}

/** The provider's token as the log may show it: its non-secret claims when it is a JWT. */
function describeProviderToken(token: string): string {
  const claims = jwtPayload(token)
  if (!claims) return 'a token that is not a readable JWT'
  const text = (name: string): string | undefined => {
    const value = claims[name]
    if (typeof value === 'string' || typeof value === 'number') return oneLine(String(value), 200)
    if (Array.isArray(value)) {
      const items = value.filter((item): item is string => typeof item === 'string').map(item => oneLine(item, 100))
      return items.length > 0 ? items.join(', ') : undefined
    }
    return undefined
  }
  const parts = [
    `sub ${text('sub') ?? '(none)'}`,
    `azp ${text('azp') ?? text('client_id') ?? '(none)'}`,
    `audience ${text('aud') ?? '(none)'}`,
    `issuer ${text('iss') ?? '(none)'}`
  ]
  if (typeof claims.exp === 'number' && Number.isFinite(claims.exp)) parts.push(`valid until ${formatTime(new Date(claims.exp * 1000))}`)
  return parts.join(', ')
}

/** How this method names the provider's token, and what to check when the cloud refuses it. */
function clientWords(credentials: OidcClientCredentials, described: string): FederationWords {
  const type = credentials.accessTokenType
  const client = oneLine(credentials.clientId, 100)
  return {
    method: 'oidc-client',
    token: `the provider's ${type} (${described})`,
    tokenName: `the provider's ${type} for client ${client}`,
    mappedWho: `client ${client}`,
    untrusted: `Check identity-provider: it must be the one the cloud operator set up for this provider${type === 'access_token' ? '; a provider whose access tokens are not JWTs needs token introspection at the cloud, so try access-token-type: id_token' : ''}.`,
    mapping: `Ask the cloud operator to admit this client in the mapping (its client id ${client}, the azp claim), or check access-token-type: the mapping may expect the other token type.`,
    rules: `typically because its issuer or client (azp) is not the one identity provider ${credentials.identityProvider} requires; check identity-provider, client-id and access-token-type with the cloud operator.`,
    purpose: "exchange the OIDC provider's token"
  }
}
