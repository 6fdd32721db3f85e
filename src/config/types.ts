import type { Pacing } from '../net/pacing.js'
import type { Timing } from '../net/retry.js'
import type { TlsSettings } from '../net/tls.js'

export type { Timing, TlsSettings }

/** The configuration's domain: what the user asked for, once resolved and validated. */

export type DomainRef = { id: string } | { name: string }
export type UserRef = { id: string } | { name: string; domain: DomainRef }

export type Credentials =
  | { method: 'password'; user: UserRef; password: string }
  | { method: 'application-credential'; id: string; secret: string }
  | { method: 'application-credential'; name: string; user: UserRef; secret: string }
  /** Keyless: the workflow's GitHub ID token, traded at Keystone's federation endpoint. */
  | { method: 'oidc'; identityProvider: string; protocol: string; audience: string }
  /** An OIDC client's id and secret, for a token from its provider, traded at Keystone's federation endpoint. */
  | {
      method: 'oidc-client'
      clientId: string
      clientSecret: string
      identityProvider: string
      protocol: string
      /** At least one of the two: the token endpoint is the discovery document's unless given. */
      discoveryEndpoint?: string
      accessTokenEndpoint?: string
      /** Which field of the provider's answer Keystone's federation expects. */
      accessTokenType: 'access_token' | 'id_token'
      openidScope: string
      /** `allow-insecure-http`: a token endpoint on another host over plain http is accepted. */
      allowInsecureHttp: boolean
    }

export type AuthMethod = Credentials['method']

export type Scope =
  | { kind: 'project'; project: { id: string } | { name: string; domain: DomainRef } }
  | { kind: 'domain'; domain: DomainRef }
  | { kind: 'system' }
  /** No scope sent: Keystone picks the user's default project, or issues an unscoped token. */
  | { kind: 'default' }

export type TokenUse = 'exchange' | 'direct'

/** Sharing one token across the jobs of a run (see steps/shared-token-step.ts). */
export interface SharingSettings {
  /** The secret the shared token is sealed with. */
  key?: string
  /** A producer job's `shared-token` output: this job consumes (or revokes) it. */
  sharedToken?: string
  /** Refuse a token that expires sooner than this. */
  minValidityMs?: number
  /** Consumer: ask Keystone once whether the shared token is still valid. */
  validate: boolean
  /** Revoke the shared token (the final job of a sharing workflow). */
  revokeShared: boolean
}

export interface ActionConfig {
  /** Keystone v3 base URL, always ending in `/v3`. */
  authUrl: string
  credentials: Credentials
  scope: Scope
  region?: string
  /** Where the region came from, for the error when the catalog lacks it. */
  regionFrom?: string
  interface?: string
  revoke: boolean
  exportEnv: boolean
  timing: Timing
  /**
   * How later steps use the token: `exchange` (OS_AUTH_TYPE=v3token: each `openstack` call trades
   * it for its own, one Keystone request) or `direct` (the auth plugin `openstack-token` serves it: none).
   */
  tokenUse: TokenUse
  /** Wait for this job's slot in the matrix before logging in. */
  pacing?: Pacing
  tls: TlsSettings
  /** Things the user should hear about that do not stop the step. */
  warnings: string[]
  /** Which value overrode which, for the log. */
  overrides: string[]
  /** `allow-unscoped`: an unscoped token is what the job wants, not a blank secret. */
  allowUnscoped: boolean
  /** `diagnose-refusal`: after a scoped login's 401, one unscoped attempt tells credentials from scope. */
  diagnoseRefusal: boolean
  /** No scope was asked for: where one could have come from, and which of those were set but empty. */
  blankScope?: BlankScope
}

/** For the error when Keystone answers an empty scope with an unscoped token. */
export interface BlankScope {
  /** The scope inputs, all of them empty (a step cannot tell an input given empty from one not given). */
  inputs: string[]
  /** `OS_PROJECT_ID of the job env`: variables that are there, with an empty value (a misspelt secret). */
  setButEmpty: string[]
}

/** What a job that uses a shared token still decides itself: where later steps go, how to connect. */
export type JobSettings = Pick<ActionConfig, 'region' | 'regionFrom' | 'interface' | 'exportEnv' | 'timing' | 'tls' | 'tokenUse'>
