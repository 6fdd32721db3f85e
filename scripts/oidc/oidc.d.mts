// Types for oidc.mjs (keyless login on 127.0.0.1: a federated Keystone, GitHub-shaped ID tokens,
// and GitHub's ID-token endpoint).

import type { KeyObject } from 'node:crypto'

export interface StartFederatedKeystoneOptions {
  /** 0 or absent: a free port is picked (the issuer's https port is always picked). */
  port?: number
  /** Default: a fresh temporary dir (removed by stop()). */
  stateDir?: string
  /** The `aud` Apache requires (`Require claim aud:`). Default: the instance's auth URL. */
  audience?: string
  /** false: mod_auth_openidc's defaults only, no `Require claim iss:/aud:` (any audience passes). Default true. */
  hardened?: boolean
  /** Keystone token lifetime in seconds. Default 3600. */
  tokenExpiration?: number
  /** Bound on start.sh, default 300 000 ms (a first run may apt-install the packages). */
  timeoutMs?: number
}

/** What the instance was seeded with; the mapping admits repositoryId + repositoryOwnerId on ref. */
export interface FederationFixtures {
  domainId: string
  /** `fed`: the projects, the group and the federated (shadow) users live there. */
  domainName: string
  /** `fedproj`: the group has role member on it. */
  projectId: string
  projectName: string
  /** `fedother`: no grant for the group (scoping to it must fail). */
  otherProjectId: string
  otherProjectName: string
  groupId: string
  groupName: string
  mapping: string
  /** `acme/deploy` */
  repository: string
  /** `7654321` */
  repositoryId: string
  /** `acme` */
  repositoryOwner: string
  /** `1234567` */
  repositoryOwnerId: string
  /** `refs/heads/main` */
  ref: string
}

/** Claims of a GitHub Actions ID token; everything defaults to a push to acme/deploy on main. */
export interface IdTokenClaimsOptions {
  /** `aud`. Default GitHub's: `https://github.com/<owner>` (the instance helpers default to the instance's audience). */
  audience?: string
  /** Default `acme/deploy`. */
  repository?: string
  /** Default: the id GitHub would give it (KNOWN_IDS, else a stable number derived from the name). */
  repositoryId?: string
  /** Default: the repository's first path part. */
  repositoryOwner?: string
  repositoryOwnerId?: string
  /** Default `refs/heads/main`. */
  ref?: string
  sha?: string
  /** Makes sub `repo:<repository>:environment:<name>`, as GitHub does for a job with an environment. */
  environment?: string
  /** Default `push`; `pull_request` makes sub `repo:<repository>:pull_request`. */
  eventName?: string
  workflow?: string
  /** Default `.github/workflows/deploy.yml`. */
  workflowFile?: string
  jobWorkflowRef?: string
  actor?: string
  runId?: string
  /** Seconds from iat to exp. Default 300, as GitHub. */
  expiresIn?: number
  /** exp 60 s in the past (iat 15 min ago). */
  expired?: boolean
  /** Milliseconds since the epoch; default Date.now(). */
  now?: number
  /** Set (or, with undefined, remove) any claim last. */
  claims?: Record<string, unknown>
}

export interface MintOptions extends IdTokenClaimsOptions {
  /** `iss` */
  issuer: string
  /** The issuer's RSA private key (PEM or KeyObject). */
  privateKey: KeyObject | string | Buffer
  /** `kid` of the JWT header: must be in the JWKS. */
  kid: string
}

export interface IdTokenEndpointConfig extends IdTokenClaimsOptions {
  /** Forces this `aud` whatever the request asked for (GitHub itself uses the asked audience). */
  audience?: string
  /** Answer every authorized request with this status and body instead of a token. */
  fail?: { status: number; body?: unknown }
}

export interface IdTokenEndpointOptions {
  /** The claims of every token it hands out; configure() replaces what is set on top of these. */
  defaults?: IdTokenEndpointConfig
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN; default random. */
  requestToken?: string
  /** Default: the instance's issuer (required when called directly). */
  issuer?: string
}

export interface IdTokenRequest {
  method: string
  path: string
  /** The `audience` query parameter, decoded; undefined when getIDToken() was called without one. */
  audience: string | undefined
  /** Whether it carried `Authorization: Bearer <requestToken>`. */
  authorized: boolean
  status: number
  at: Date
}

export interface IdTokenEndpoint {
  /** ACTIONS_ID_TOKEN_REQUEST_URL: http://127.0.0.1:PORT/_apis/…/idtoken?api-version=2.0 */
  url: string
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN */
  requestToken: string
  /** Both variables, for runJob({ runnerEnv }) or a child's env. */
  runnerEnv(): { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string }
  /** The claims of the next tokens (on top of the defaults): repository, ref, audience override, expired, fail, … */
  configure(config: IdTokenEndpointConfig): void
  /** Every request, in order. */
  requests: IdTokenRequest[]
  /** Every JWT handed out, in order. */
  issued: string[]
  close(): Promise<void>
}

export interface ClientProviderOptions {
  /** Default: random. */
  clientSecret?: string
  /** Default: the client the instance's mapping admits (ci-robot). */
  clientId?: string
}

export interface ClientProviderConfig {
  /** Answer the token endpoint with this instead of a token. */
  fail?: { status: number; body?: unknown; headers?: Record<string, string> }
}

export interface ClientProviderRequest {
  method: string
  path: string
  /** The client's id and secret were right (HTTP Basic). */
  authorized: boolean
  status: number
  at: Date
}

export interface ClientProvider {
  discoveryEndpoint: string
  tokenEndpoint: string
  clientId: string
  clientSecret: string
  configure(config: ClientProviderConfig): void
  requests: ClientProviderRequest[]
  /** Every JWT issued, id_token then access_token of each grant. */
  issued: string[]
  close(): Promise<void>
}

export interface FederatedKeystone {
  /** http://127.0.0.1:PORT/v3 */
  authUrl: string
  port: number
  /** `iss` of the tokens: https://127.0.0.1:ISSUER_PORT (the identity provider's remote id). */
  issuer: string
  issuerPort: number
  /** https://127.0.0.1:ISSUER_PORT/.well-known/jwks (served by the same Apache, test CA). */
  jwksUri: string
  caCertPath: string
  /** The `aud` Apache requires (when hardened). */
  audience: string
  hardened: boolean
  /** `github` */
  identityProvider: string
  /** `openid` */
  protocol: string
  stateDir: string
  /** The Apache parent (leader of its own process group; Keystone runs in its mod_wsgi daemon). */
  pid: number
  /** The admin's OS_* variables (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, …). */
  env: Record<string, string>
  fixtures: FederationFixtures
  signingKeyPath: string
  kid: string
  /** Apache access log (`%h %t "%r" %>s %b user=%u %D`), emptied when the instance became ready. */
  accessLogPath: string
  /** Apache error log: mod_auth_openidc says there why it refused a token. */
  errorLogPath: string
  keystoneLogPath: string
  startKind: 'cold' | 'warm'
  /** Duration of start.sh itself, in ms. */
  startMs: number
  /** A token of this issuer; audience defaults to the instance's audience, the rest as githubClaims(). */
  mintIdToken(claims?: IdTokenClaimsOptions): string
  /** GitHub's ID-token endpoint, issuing tokens of this issuer. */
  startIdTokenEndpoint(options?: IdTokenEndpointOptions): Promise<IdTokenEndpoint>
  /** The OIDC client's side: identity provider `robots`, the client its mapping admits, their issuer. */
  client: { identityProvider: string; clientId: string; issuer: string }
  /** An OIDC provider for that client (discovery, client-credentials grant), its tokens signed with this instance's key. */
  startClientProvider(options?: ClientProviderOptions): Promise<ClientProvider>
  /** Requests in the access log; default every POST under /v3/OS-FEDERATION/. */
  countRequests(filter?: { method?: string; path?: string; status?: number }): number
  /** Stops Apache; removes the state dir unless purge is false or OIDC_KEEP_STATE=1. Idempotent. */
  stop(options?: { purge?: boolean }): Promise<void>
}

export function startFederatedKeystone(options?: StartFederatedKeystoneOptions): Promise<FederatedKeystone>

/** The claim set of a GitHub Actions ID token. */
export function githubClaims(options: IdTokenClaimsOptions & { issuer: string }): Record<string, unknown>

/** An RS256 JWT carrying githubClaims(options). */
export function mintIdToken(options: MintOptions): string

/** Header and payload of a JWT, unverified. */
export function decodeJwt(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> }

/** GitHub's ID-token endpoint on 127.0.0.1 (a free port). */
export function startIdTokenEndpoint(
  options: IdTokenEndpointOptions & { privateKey: KeyObject | string | Buffer; kid: string; issuer: string }
): Promise<IdTokenEndpoint>

export function startClientProvider(
  options: ClientProviderOptions & { issuer: string; clientId: string; privateKey: import('node:crypto').KeyObject; kid: string; tlsDir: string }
): Promise<ClientProvider>

export function countRequests(accessLogPath: string, filter?: { method?: string; path?: string; status?: number }): number

export function parseExports(text: string): Record<string, string>

/** The ids the fixture's mapping admits: acme/deploy → 7654321, acme → 1234567. */
export const KNOWN_IDS: Readonly<Record<string, string>>
