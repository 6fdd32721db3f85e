import { jwtPayload } from './federation.js'
import { oneLine, UserError } from '../errors.js'
import { withRetries, type FailureClassifier, type RetryRun } from '../net/retry.js'
import { formatTime } from '../time.js'

/**
 * The workflow's GitHub ID token (keyless login): getting it from the runner's ID-token service,
 * with the permission it needs and the retries its bad minutes need, what its failures mean, and
 * which of its claims explain a refusal.
 */

/** The permission block a workflow needs for getIDToken, as the user should paste it. */
export const ID_TOKEN_PERMISSIONS_YAML = 'permissions:\n  id-token: write\n  contents: read'

/**
 * getIDToken's failure as the user must read it. Without `permissions: id-token: write` the runner
 * sets neither ACTIONS_ID_TOKEN_REQUEST_URL nor ACTIONS_ID_TOKEN_REQUEST_TOKEN, and getIDToken says
 * only "Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable".
 */
export function idTokenError(error: unknown): UserError {
  if (error instanceof UserError) return error
  const message = error instanceof Error ? error.message : String(error)
  const missing = /ACTIONS_ID_TOKEN_REQUEST_(URL|TOKEN)/.exec(message)
  if (missing) {
    return new UserError(
      `auth-method oidc needs a GitHub ID token, and this job cannot get one (${missing[0]} is not set): the job lacks the permission. Add to the job (or the workflow):\n${ID_TOKEN_PERMISSIONS_YAML}\n` +
        'A job for a pull request from a fork, or started by Dependabot, never gets an ID token: use another auth-method there.'
    )
  }
  const code = /Error Code\s*:\s*(\d{3})/.exec(message)?.[1]
  if (code) {
    const said = /Error Message\s*:\s*([\s\S]*)$/.exec(message)?.[1]
    return new UserError(
      `GitHub refused to issue an ID token (HTTP ${code}${said ? `: ${oneLine(said, 200)}` : ''}); try again, and check https://www.githubstatus.com if it persists.`
    )
  }
  if (/do not have ID Token field/i.test(message)) {
    return new UserError("GitHub's ID-token service answered without a token; try again, and check https://www.githubstatus.com if it persists.")
  }
  return new UserError(`Could not get a GitHub ID token: ${oneLine(message, 300)}.`)
}

/**
 * Whether another getIDToken call can succeed: not without the permission, nor after GitHub
 * refused the request (4xx); yes after a 5xx, a 429, a network failure or our own deadline.
 */
export function isIdTokenRetryable(error: unknown): boolean {
  if (error instanceof UserError) return true
  const message = error instanceof Error ? error.message : String(error)
  if (/ACTIONS_ID_TOKEN_REQUEST_(URL|TOKEN)/.test(message)) return false
  const code = /Error Code\s*:\s*(\d{3})/.exec(message)?.[1]
  if (code) return code === '408' || code === '429' || code.startsWith('5')
  return true
}

/** A failure of getIDToken as the user reads it, and whether another call can succeed. */
class IdTokenFailure extends UserError {
  override name = 'IdTokenFailure'
  constructor(
    readonly explained: UserError,
    readonly retryable: boolean
  ) {
    super(explained.message)
  }
}

/** getIDToken's failures, retried like a Keystone outage: within outage-wait. */
const idTokenFailures: FailureClassifier = error => {
  if (!(error instanceof IdTokenFailure) || !error.retryable) return undefined
  return {
    kind: 'outage',
    brief: error.message.replace(/;.*$/s, '').replace(/\.$/, ''),
    gaveUp: spent => new UserError(`${error.message} ${spent}.`)
  }
}

/**
 * GitHub's ID-token service has bad minutes too (google-github-actions/auth and
 * aws-actions/configure-aws-credentials retry it): retried through the one retry loop, like a
 * Keystone outage. Without `retry`, one attempt.
 */
export async function getIdToken(
  getIDToken: (audience?: string) => Promise<string>,
  audience: string | undefined,
  { retry, timeoutMs }: { retry?: RetryRun; timeoutMs?: number }
): Promise<string> {
  const attempt = (): Promise<string> =>
    withDeadline(getIDToken(audience), timeoutMs).catch((error: unknown) => {
      throw new IdTokenFailure(idTokenError(error), isIdTokenRetryable(error))
    })
  try {
    return await (retry ? withRetries(attempt, retry, idTokenFailures) : attempt())
  } catch (error) {
    throw error instanceof IdTokenFailure ? error.explained : error
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return promise
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UserError(
            `GitHub's ID-token service did not answer within ${ms / 1000} s; try again, and check https://www.githubstatus.com if it persists.`
          )
        ),
      ms
    )
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/** The non-secret claims of an ID token that explain a refusal (what the mapping matched on). */
export interface IdTokenClaims {
  iss?: string
  aud?: string | string[]
  sub?: string
  repository?: string
  repository_id?: string
  repository_owner?: string
  repository_owner_id?: string
  ref?: string
  environment?: string
  job_workflow_ref?: string
  exp?: number
}

const STRING_CLAIMS = [
  'iss',
  'sub',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'ref',
  'environment',
  'job_workflow_ref'
] as const

/**
 * The claims of a JWT, read without verifying anything: only to say in a message which repository,
 * ref and audience the cloud refused. Undefined when it is not a readable JWT.
 */
export function idTokenClaims(jwt: string): IdTokenClaims | undefined {
  const raw = jwtPayload(jwt)
  if (!raw) return undefined
  const claims: IdTokenClaims = {}
  for (const name of STRING_CLAIMS) {
    const value = raw[name]
    if (typeof value === 'string' || typeof value === 'number') claims[name] = oneLine(String(value), 200)
  }
  if (typeof raw.aud === 'string') claims.aud = oneLine(raw.aud, 200)
  else if (Array.isArray(raw.aud)) claims.aud = raw.aud.filter((a): a is string => typeof a === 'string').map(a => oneLine(a, 200))
  if (typeof raw.exp === 'number' && Number.isFinite(raw.exp)) claims.exp = raw.exp
  return claims
}

/** One line about an ID token for the log: `sub …, audience …, issuer …, valid until …`. */
export function describeIdToken(claims: IdTokenClaims | undefined): string {
  if (!claims) return 'a token that is not a readable JWT'
  const parts = [
    `sub ${claims.sub ?? '(none)'}`,
    `audience ${Array.isArray(claims.aud) ? claims.aud.join(', ') : (claims.aud ?? '(none)')}`,
    `issuer ${claims.iss ?? '(none)'}`
  ]
  if (claims.repository_id) parts.push(`repository_id ${claims.repository_id}`)
  if (claims.repository_owner_id) parts.push(`repository_owner_id ${claims.repository_owner_id}`)
  if (claims.exp !== undefined) parts.push(`valid until ${formatTime(new Date(claims.exp * 1000))}`)
  return parts.join(', ')
}
