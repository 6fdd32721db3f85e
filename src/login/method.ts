import type { CredentialResolver, ResolveContext } from '../config/login-choice.js'
import type { Credentials, Scope } from '../config/types.js'
import type { Keystone } from '../keystone/client.js'
import type { Token } from '../keystone/token.js'
import type { RetryRun } from '../net/retry.js'
import type { Core } from '../runtime/core.js'

export type { ResolveContext }

/**
 * A way to log in to Keystone. Each one is a module of src/login/ that implements this interface
 * and is listed in methods.ts; nothing else in the action branches on a method's name. What the
 * configuration asks of it (its names, evidence and credentials) is CredentialResolver.
 */
export interface LoginMethod<C extends Credentials = Credentials> extends CredentialResolver<C> {
  /** The `methods` Keystone lists in a token this method issued: how a shared token's origin is told. */
  readonly tokenMethods: readonly string[]
  /** Logs in: one token, scoped as asked, every token on the way revoked but the one returned. */
  logIn(credentials: C, context: LoginContext): Promise<Token>
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
