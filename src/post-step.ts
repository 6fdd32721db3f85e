import { DEFAULT_TIMING, resolveTiming, type Timing } from './config.js'
import { failStep } from './core.js'
import { keystoneFor, type StepContext } from './step-context.js'
import { nodeFiles } from './files.js'
import { loadToken, type SavedToken } from './state.js'
import { formatTime } from './time.js'

/**
 * The post step (`post-if: always()`): revoke the token when the job ends, whether it succeeded,
 * failed or was cancelled. A revocation that fails is a warning: the job's own result stands.
 */
export async function runPost(context: StepContext): Promise<void> {
  const { core, now = () => new Date() } = context
  try {
    const saved = loadToken(core)
    if (!saved) {
      core.info('No token to revoke: the main step did not issue one, or already revoked it.')
      return
    }
    core.setSecret(saved.token)
    const expiresAt = new Date(saved.expiresAt)
    if (!saved.revoke) {
      core.info(`Token left valid until ${formatTime(expiresAt)} (${saved.keptBecause ?? 'revoke: false'}).`)
      return
    }
    if (!Number.isNaN(expiresAt.getTime()) && expiresAt.getTime() <= now().getTime()) {
      core.info(`Token already expired at ${formatTime(expiresAt)}: nothing to revoke.`)
      return
    }
    try {
      const result = await keystoneFor(saved.authUrl, postTiming(context), context, postTls(context, saved)).revoke(saved.token)
      if (result === 'revoked') core.info('Token revoked.')
      else if (saved.accessRules) {
        // Not "already revoked": Keystone looks such a token up without access-rules support and
        // answers as if it did not exist, so no one can revoke it through the API.
        const until = Number.isNaN(expiresAt.getTime()) ? 'until it expires' : `until ${formatTime(expiresAt)}`
        core.warning(
          `Keystone could not revoke this token: it comes from an application credential with access rules, and Keystone answers "not found" to a revocation of such tokens. It stays valid ${until}; keep the token lifetime of that cloud short, or use a credential without access rules where revocation matters.`
        )
      } else core.info('Token already revoked or expired: nothing to do.')
    } catch (error) {
      const until = Number.isNaN(expiresAt.getTime()) ? '' : ` It stays valid until ${formatTime(expiresAt)}.`
      core.warning(`Could not revoke the token: ${(error as Error).message}${until}`)
    }
  } catch (error) {
    failStep(core, error)
  }
}

/** Revoking is a courtesy the job's result does not hang on: a minute of retries at most. */
const POST_MAX_WAIT_MS = 60_000

function postTiming(context: StepContext): Timing {
  let timing = DEFAULT_TIMING
  try {
    timing = resolveTiming({ input: name => context.core.getInput(name), env: context.env })
  } catch {
    // The main step already reported a bad value; revoking with the defaults is still right.
  }
  return { ...timing, maxWaitMs: Math.min(timing.maxWaitMs, POST_MAX_WAIT_MS) }
}

/** The CA the main step trusted, read back from the file it left in RUNNER_TEMP. */
function postTls(context: StepContext, saved: SavedToken): { ca?: string; insecure: boolean } {
  const ca = saved.caFile ? (context.files ?? nodeFiles(context.env)).read(saved.caFile) : undefined
  return { ...(ca !== undefined && { ca }), insecure: saved.insecure === true }
}
