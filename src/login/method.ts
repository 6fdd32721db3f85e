import type { ConfigSource, InputName } from '../config/inputs.js'
import type { Reader, Sourced } from '../config/reader.js'
import type { Credentials, DomainRef, Scope, TokenUse } from '../config/types.js'
import type { Keystone, Token } from '../keystone/client.js'
import type { RetryRun } from '../net/retry.js'
import type { Core } from '../runtime/core.js'

/**
 * A way to log in to Keystone. Each one is a module of src/login/ that implements this interface
 * and is listed in methods.ts; nothing else in the action branches on a method's name.
 */
export interface LoginMethod<C extends Credentials = Credentials> {
  /** Its `auth-method` value. */
  readonly name: C['method']
  /** OS_AUTH_TYPE values (lower case) of OpenRC files and clouds.yaml that mean this method. */
  readonly authTypes: readonly string[]
  /** Its inputs that hold secrets (each also in SECRET_INPUTS: masked before the first log line). */
  readonly secretInputs: readonly InputName[]
  /** False when Keystone refuses a scope with it (an application credential is bound to its project). */
  readonly scoped: boolean
  /** How later steps use its token unless `token-use` says otherwise. */
  readonly defaultTokenUse: TokenUse
  /** The `methods` Keystone lists in a token this method issued: how a shared token's origin is told. */
  readonly tokenMethods: readonly string[]
  /** What to set, as the "No credentials" error lists the ways to log in. */
  readonly howToSet: string
  /**
   * What shows that the job means this method when `auth-method` does not say: its secret (two
   * secrets of different methods are a contradiction), or a weaker hint.
   */
  evidence(read: Reader, source: ConfigSource): { secret: Sourced; what: string } | { hint: true } | undefined
  /** Its credentials from the configuration, or a UserError that names what is missing. */
  resolve(read: Reader, context: ResolveContext): C
  /** Logs in: one token, scoped as asked, every token on the way revoked but the one returned. */
  logIn(credentials: C, context: LoginContext): Promise<Token>
}

export interface ResolveContext {
  source: ConfigSource
  /** The user's domain as the configuration found it (`user-domain-*`, or an OpenRC's default domain). */
  userDomain: DomainRef | undefined
  /** The Keystone v3 URL (keyless login's default audience). */
  authUrl: string
}

export interface LoginContext {
  core: Pick<Core, 'info' | 'setSecret' | 'warning' | 'debug' | 'getIDToken'>
  keystone: Keystone
  scope: Scope
  /** Whether the token should carry its service catalog. */
  catalog: boolean
  /** `diagnose-refusal`: after a scoped login's 401, one unscoped attempt tells credentials from scope. */
  diagnoseRefusal: boolean
  /** The step's retry budgets, clock and cancellation, for requests that are not Keystone's. */
  retry: RetryRun
  /** The deadline of one request. */
  timeoutMs: number
}
