import { loginBody, scopeRequest } from './auth-request.js'
import type { Scope } from '../config/types.js'
import { KeystoneError } from '../errors.js'
import type { Keystone } from '../keystone/client.js'
import type { Token } from '../keystone/token.js'
import type { LoginContext } from './method.js'
import { credentialsRefused, scopeRefused } from '../keystone/answers.js'

/**
 * Keystone answers 401 alike to a wrong password, an unknown user or user domain, an unknown
 * project, a project in another domain and a user without a role on it: on purpose, so that it
 * does not tell an attacker which part was right. The job's owner needs to know which half to
 * check. A scoped password login that got a 401 is tried once more, unscoped: a token means the
 * credentials are right and the scope is what was refused (the token is revoked at once); another
 * 401 means the credentials themselves are refused.
 *
 * The cost: with a lockout policy (Keystone's `lockout_failure_attempts`), a wrong password counts
 * twice per failed run; a right password resets the count, so a refused scope costs nothing. The
 * `diagnose-refusal` input turns the probe off.
 */

export interface RefusalContext {
  keystone: Keystone
  /** The `identity` part of the login, for the unscoped probe. */
  identity: object
  scope: Scope
  /** What to check when the credentials themselves are refused, for the method that logged in. */
  check: string
  /** Whether the unscoped probe may run (`diagnose-refusal`). */
  probe: boolean
  /** A line for the log (the probe, and its token's revocation). */
  log(line: string): void
  /** Masks the probe's token before anything could print it. */
  mask(secret: string): void
}

/**
 * A login that is one request with credentials: `identity` is its body's identity part, `check`
 * what to check when Keystone refuses the credentials themselves.
 */
export function logInWithIdentity(identity: object, check: string, context: LoginContext): Promise<Token> {
  const { core, keystone, scope, catalog, diagnoseRefusal } = context
  return issueExplained({
    keystone,
    identity,
    scope,
    catalog,
    check,
    probe: diagnoseRefusal,
    log: line => core.info(line),
    mask: secret => core.setSecret(secret)
  })
}

/** One login request; a 401 comes back as the sentence the user must read (see above). */
function issueExplained(context: RefusalContext & { catalog: boolean }): Promise<Token> {
  return context.keystone.issue(loginBody(context.identity, context.scope), { catalog: context.catalog }).catch(async (error: unknown) => {
    throw await explainRefusal(error, context)
  })
}

/** The 401 of a login as the user must read it; any other error is returned as it is. */
async function explainRefusal(error: unknown, context: RefusalContext): Promise<unknown> {
  if (!(error instanceof KeystoneError) || error.status !== 401) return error
  const { scope, check } = context
  const at = `${error.brief} at ${context.keystone.authUrl}/auth/tokens`
  // No scope was sent (an application credential never sends one): the credentials are all Keystone could refuse.
  if (scopeRequest(scope) === undefined) return credentialsRefused(error, at, check)
  if (!context.probe) return error
  let family: 'credentials' | 'scope'
  try {
    family = await probeUnscoped(context)
  } catch {
    // The probe itself failed (network, rate limit): the first answer is all there is to say.
    return error
  }
  return family === 'credentials' ? credentialsRefused(error, at, check, true) : scopeRefused(error, at, scope)
}

/** One unscoped login with the same credentials; its token, if any, is revoked before returning. */
async function probeUnscoped({ keystone, identity, log, mask }: RefusalContext): Promise<'credentials' | 'scope'> {
  const body = loginBody(identity, { kind: 'default' })
  let token: string
  try {
    token = (await keystone.issue({ auth: { ...body.auth, scope: 'unscoped' } }, { catalog: false })).value
  } catch (probeError) {
    if (probeError instanceof KeystoneError && probeError.status === 401) return 'credentials'
    throw probeError
  }
  mask(token)
  try {
    await keystone.revoke(token)
    log('Keystone accepted the credentials without a scope (diagnose-refusal); that unscoped token is revoked.')
  } catch (revokeError) {
    log(`Keystone accepted the credentials without a scope, but revoking that unscoped token failed: ${(revokeError as Error).message}`)
  }
  return 'scope'
}
