import { Keystone } from '../keystone/client.js'
import { type Token } from '../keystone/token.js'
import { loginMethodOf } from '../login/methods.js'
import type { LoginContext } from '../login/method.js'
import { DEFAULT_RETRY_POLICY, isRetryable, type RetryClock, type RetryRun } from '../net/retry.js'
import { UserError } from '../errors.js'
import type { RenewerHandover } from './handover.js'
import { ledgerPath, writeLedger, type Ledger } from './ledger.js'
import { renewDelayMs, RETRY_FAILED_RENEWAL_MS } from './schedule.js'
import { renderTokenState, tokenStatePath } from '../handoff/direct-use.js'
import { writeFilesUnder } from '../runtime/files.js'
import * as fs from 'node:fs'

/**
 * The renewer's work: sleep until the current token is due (schedule.ts), log in again with the
 * same method, credentials and scope, and replace the login's token state with the fresh token, so
 * that the clients of later steps (and of a running step, after a 401) take it. Every token it gets
 * goes into the ledger before anything else, for the post step to revoke.
 *
 * It stops when told (the post step's SIGTERM aborts `signal`), when the job's RUNNER_TEMP no longer
 * holds the token state (the job is over), or when a renewal fails in a way that trying again cannot
 * fix (a refused credential: more attempts would only count towards a lockout).
 */
export interface RenewerDeps {
  clock: RetryClock
  now: () => Date
  signal: AbortSignal
  pid: number
  /** Keyless: a fresh GitHub ID token (id-token.ts in the process). */
  getIDToken?: (audience?: string) => Promise<string>
}

export async function runRenewer(handover: RenewerHandover, deps: RenewerDeps): Promise<Ledger> {
  const { clock, now, signal } = deps
  const ledgerFile = ledgerPath(handover.runnerTemp, handover.first.value)
  const firstState = tokenStatePath(handover.runnerTemp, handover.first.value)
  const ledger: Ledger = { pid: deps.pid, nonce: handover.nonce, issued: [], renewals: 0, failures: [] }
  // Never into a RUNNER_TEMP that the job's end removed: that would only leave folders behind.
  const save = (): void => {
    if (fs.existsSync(handover.runnerTemp)) writeLedger(handover.runnerTemp, ledgerFile, ledger)
  }
  save()
  // The names the state is kept under: the first token's, and each renewed token's (refresh-env
  // hands a renewed token on as OS_TOKEN, and the clients find the state by the token they hold).
  const names = [handover.first.value]
  let current: Pick<Token, 'validForMs' | 'receivedAt'> = {
    validForMs: handover.first.validForMs,
    receivedAt: new Date(handover.first.receivedAtMs)
  }
  let wait = renewDelayMs(current, now())
  for (;;) {
    try {
      await clock.sleep(wait, signal)
    } catch {
      break
    }
    if (signal.aborted) break
    if (!fs.existsSync(firstState)) {
      ledger.stopped = 'the token state is gone (the job ended, or a step removed it)'
      break
    }
    const retry = retryRun(handover, clock, signal)
    const keystone = defaultKeystone(handover, retry, now)
    try {
      const token = await loginMethodOf(handover.credentials).logIn(handover.credentials, loginContext(handover, keystone, retry, deps))
      record(ledger, keystone)
      save()
      names.push(token.value)
      const state = renderTokenState(token, handover.authUrl)
      writeFilesUnder(
        handover.runnerTemp,
        names.map(name => ({ path: tokenStatePath(handover.runnerTemp, name), content: state, mode: 0o600 }))
      )
      ledger.renewals++
      save()
      current = token
      wait = renewDelayMs(current, now())
    } catch (error) {
      record(ledger, keystone)
      if (signal.aborted) break
      ledger.failures.push({ at: now().toISOString(), message: failureSentence(error) })
      if (!canTryAgain(error)) ledger.stopped = 'a renewal failed in a way that trying again cannot fix'
      save()
      if (ledger.stopped) break
      wait = RETRY_FAILED_RENEWAL_MS
    }
  }
  save()
  return ledger
}

function record(ledger: Ledger, keystone: Keystone): void {
  for (const token of keystone.outstanding) if (!ledger.issued.includes(token)) ledger.issued.push(token)
}

/** Retryable failures whose budget ran out (an outage, a rate limit) may pass; a refusal will not. */
function canTryAgain(error: unknown): boolean {
  return isRetryable(error) || (error instanceof UserError && /Gave up after/.test(error.message))
}

function failureSentence(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.length > 500 ? `${message.slice(0, 499)}…` : message
}

function retryRun(handover: RenewerHandover, clock: RetryClock, signal: AbortSignal): RetryRun {
  return {
    policy: { ...DEFAULT_RETRY_POLICY, maxWaitMs: handover.timing.maxWaitMs, outageMaxWaitMs: handover.timing.outageWaitMs },
    clock,
    log: () => undefined,
    signal
  }
}

function defaultKeystone(handover: RenewerHandover, retry: RetryRun, now: () => Date): Keystone {
  return new Keystone(handover.authUrl, {
    timeoutMs: handover.timing.timeoutMs,
    retry,
    now,
    ...(handover.ca !== undefined && { ca: handover.ca }),
    ...(handover.insecure && { insecure: true })
  })
}

function loginContext(handover: RenewerHandover, keystone: Keystone, retry: RetryRun, deps: RenewerDeps): LoginContext {
  const quiet = (): void => undefined
  return {
    core: {
      info: quiet,
      debug: quiet,
      warning: quiet,
      setSecret: quiet,
      getIDToken: audience => {
        if (!deps.getIDToken) return Promise.reject(new UserError('The renewer was given no ID-token request (ACTIONS_ID_TOKEN_REQUEST_URL).'))
        return deps.getIDToken(audience)
      }
    },
    keystone,
    scope: handover.scope,
    // The state file hands the catalog to the clients: a renewed token carries it too.
    catalog: true,
    diagnoseRefusal: false,
    retry,
    timeoutMs: handover.timing.timeoutMs
  }
}
