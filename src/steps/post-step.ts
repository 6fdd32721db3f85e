import type { Timing } from '../config/types.js'
import { resolveTiming } from '../config/job-settings.js'
import { DEFAULT_TIMING, POST_STEP_MAX_WAIT_MS } from '../net/retry.js'
import { failStep } from '../runtime/core.js'
import { nodeFiles } from '../runtime/files.js'
import type { Keystone } from '../keystone/client.js'
import { loadToken, type SavedToken } from '../runtime/state.js'
import { keystoneFor, type StepContext } from './step-context.js'
import { formatTime } from '../time.js'
import { oneLine } from '../errors.js'

/**
 * The post step (`post-if: always()`): revoke the token when the job ends, whether it succeeded,
 * failed or was cancelled. It always asks Keystone, whatever the runner's clock says of the token's
 * expiry (a runner clock that runs fast would otherwise leave a live token): an expired or revoked
 * one costs a 404, which is fine. A revocation that fails is a warning: the job's own result stands.
 */
export async function runPost(context: StepContext): Promise<void> {
  const { core } = context
  try {
    const saved = loadToken(core)
    if (!saved) {
      core.info('No token to revoke: the main step did not issue one, or already revoked it.')
      return
    }
    for (const token of [saved.token, ...(saved.others ?? [])]) if (token) core.setSecret(token)
    const keystone = keystoneFor(saved.authUrl, postTiming(context), context, postTls(context, saved), { onCancel: 'last-attempt' })
    if (saved.token && !saved.revoke) {
      const until = saved.expiresAt ? ` until ${shownTime(saved.expiresAt)}` : ''
      core.info(`Token left valid${until} (${saved.keptBecause === undefined ? 'revoke: false' : oneLine(saved.keptBecause, 200)}).`)
    } else if (saved.token) {
      await revokeSaved(context, keystone, saved.token, saved.expiresAt, 'Token', saved.accessRules === true)
    }
    for (const other of saved.others ?? []) {
      await revokeSaved(context, keystone, other, undefined, 'A token Keystone issued during a failed or cancelled login')
    }
  } catch (error) {
    failStep(core, error)
  }
}

async function revokeSaved(
  context: StepContext,
  keystone: Keystone,
  token: string,
  expiresAt: string | undefined,
  what: string,
  accessRules = false
): Promise<void> {
  const { core } = context
  try {
    const result = await keystone.revoke(token)
    if (result === 'revoked') core.info(`${what} revoked.`)
    else if (accessRules) {
      // Not "already revoked": Keystone refuses the revocation of such a token (404 from a lookup
      // without access-rules support on Zed; 401 from its own access-rules check since 2023), and
      // the token stays alive either way.
      const until = expiresAt ? `until ${shownTime(expiresAt)}` : 'until it expires'
      core.warning(
        `Keystone could not revoke this token: it comes from an application credential with access rules, and Keystone refuses to revoke such tokens (it answers "not found" or "requires authentication"). It stays valid ${until}; keep the token lifetime of that cloud short, or use a credential without access rules where revocation matters.`
      )
    } else core.info(`${what} already revoked or expired: nothing to do.`)
  } catch (error) {
    const until = expiresAt ? ` It stays valid until ${shownTime(expiresAt)}.` : ' It stays valid until it expires.'
    const cancelled = context.signal?.aborted ? ' The post step was cancelled, so it made one last attempt without waiting.' : ''
    core.warning(`Could not revoke the token: ${(error as Error).message}${cancelled}${until}`)
  }
}

/** A time from the saved state, which a step of the job could have changed: shown bounded, on one line. */
function shownTime(iso: string): string {
  const time = new Date(iso)
  return Number.isNaN(time.getTime()) ? oneLine(iso, 40) : formatTime(time)
}

function postTiming(context: StepContext): Timing {
  let timing = DEFAULT_TIMING
  try {
    timing = resolveTiming({ input: name => context.core.getInput(name), env: context.env })
  } catch {
    // The main step already reported a bad value; revoking with the defaults is still right.
  }
  return { ...timing, maxWaitMs: Math.min(timing.maxWaitMs, POST_STEP_MAX_WAIT_MS) }
}

/**
 * The CA the main step trusted, from its own saved state: a later step may have cleaned RUNNER_TEMP,
 * where the copy for the CLI lives. Only a bundle too large for state is read back from its file.
 */
function postTls(context: StepContext, saved: SavedToken): { ca?: string; insecure: boolean } {
  const ca = saved.ca ?? (saved.caFile ? (context.files ?? nodeFiles(context.env)).read(saved.caFile) : undefined)
  return { ...(ca !== undefined && { ca }), insecure: saved.insecure === true }
}
