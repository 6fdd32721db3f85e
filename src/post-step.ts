import { failStep } from './core.js'
import type { StepContext } from './main-step.js'
import { DEFAULT_TIMEOUT_MS } from './main-step.js'
import { Keystone } from './keystone.js'
import { loadToken } from './state.js'
import { formatTime } from './time.js'

/**
 * The post step (`post-if: always()`): revoke the token when the job ends, whether it succeeded,
 * failed or was cancelled. A revocation that fails is a warning: the job's own result stands.
 */
export async function runPost({ core, now = () => new Date(), timeoutMs = DEFAULT_TIMEOUT_MS }: StepContext): Promise<void> {
  try {
    const saved = loadToken(core)
    if (!saved) {
      core.info('No token to revoke: the main step did not issue one, or already revoked it.')
      return
    }
    core.setSecret(saved.token)
    const expiresAt = new Date(saved.expiresAt)
    if (!saved.revoke) {
      core.info(`Token left valid until ${formatTime(expiresAt)} (revoke: false).`)
      return
    }
    if (!Number.isNaN(expiresAt.getTime()) && expiresAt.getTime() <= now().getTime()) {
      core.info(`Token already expired at ${formatTime(expiresAt)}: nothing to revoke.`)
      return
    }
    try {
      const result = await new Keystone(saved.authUrl, { timeoutMs }).revoke(saved.token)
      core.info(result === 'revoked' ? 'Token revoked.' : 'Token already revoked or expired: nothing to do.')
    } catch (error) {
      const until = Number.isNaN(expiresAt.getTime()) ? '' : ` It stays valid until ${formatTime(expiresAt)}.`
      core.warning(`Could not revoke the token: ${(error as Error).message}${until}`)
    }
  } catch (error) {
    failStep(core, error)
  }
}
