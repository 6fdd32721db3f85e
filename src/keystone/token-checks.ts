import type { BlankScope, Scope } from '../config/types.js'
import { oneLine } from '../errors.js'
import { KeystoneError } from './client.js'
import { type NamedRef, type Token } from './token.js'
import { formatTime } from '../time.js'

/**
 * A token Keystone issued can still be one the job cannot use: already expired (a server problem),
 * or scoped elsewhere than asked (a misconfigured cloud, or a proxy answering for it).
 * Better to stop here than to let a later step fail with a confusing 401 or act on another project.
 */
export function checkIssuedToken(token: Token, asked: Scope): void {
  // On Keystone's own clock: the runner's may be off, and a token that is good for Keystone is good.
  if (token.validForMs <= 0) {
    throw new KeystoneError(
      `Keystone issued a token that expires at ${formatTime(token.expiresAt)}, no later than its own time of issue (${formatTime(token.issuedAt)}): check the token expiration and the clock of Keystone's servers.`
    )
  }
  const mismatch = scopeMismatch(token, asked)
  if (mismatch) {
    throw new KeystoneError(`Keystone issued a token for ${mismatch}: check the scope inputs, and that auth-url points at the right cloud.`)
  }
}

function scopeMismatch(token: Token, asked: Scope): string | undefined {
  const got = describeScope(token)
  switch (asked.kind) {
    case 'project': {
      const wanted = asked.project
      const ok = token.project && ('id' in wanted ? token.project.id === wanted.id : token.project.name === wanted.name)
      return ok ? undefined : `${got}, not for the project asked for (${'id' in wanted ? wanted.id : wanted.name})`
    }
    case 'domain': {
      const wanted = asked.domain
      const ok = token.domain && ('id' in wanted ? token.domain.id === wanted.id : token.domain.name === wanted.name)
      return ok ? undefined : `${got}, not for the domain asked for (${'id' in wanted ? wanted.id : wanted.name})`
    }
    case 'system':
      return token.system ? undefined : `${got}, not for the system scope asked for`
    case 'default':
      return undefined
  }
}

/** The token's scope as people read it; names come from Keystone and are made inert for the log. */
export function describeScope(token: Token): string {
  if (token.project) {
    const domain = token.project.domain ? ` in domain ${displayName(token.project.domain)}` : ''
    return `project ${displayName(token.project)} (${oneLine(token.project.id, 100)})${domain}`
  }
  if (token.domain) return `domain ${displayName(token.domain)} (${oneLine(token.domain.id, 100)})`
  if (token.system) return 'the system scope'
  return 'no scope (unscoped)'
}

/** A user, project or domain as people read it: its name (or id), made inert for the log. */
export function displayName(ref: NamedRef): string {
  return oneLine(ref.name ?? ref.id, 100)
}

/**
 * A token with no scope passes every check, and the job fails steps later with a 403. With no
 * scope asked for, that is nearly always a secret that reached the step empty (a misspelt name
 * expands to ''), so it stops the step unless the job asked for an unscoped token on purpose.
 */
export function checkScoped(token: Token, blank: BlankScope | undefined, allowUnscoped: boolean): void {
  if (!blank || allowUnscoped || token.project || token.domain || token.system) return
  const empty = blank.setButEmpty.length > 0 ? ` (set but empty: ${blank.setButEmpty.join(', ')})` : ''
  throw new KeystoneError(
    `Keystone issued an unscoped token: no scope reached the step, since the inputs ${blank.inputs.join(', ')} and their OS_PROJECT_*, OS_TENANT_*, OS_DOMAIN_* variables are all empty${empty}, and the user has no default project. A secret that does not exist or is misspelt expands to an empty string: check the secret's name, or set allow-unscoped: true if the job wants an unscoped token.`
  )
}
