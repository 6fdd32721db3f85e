import type { Credentials, Scope, Timing } from '../config/types.js'
import { isObject } from '../json.js'

/**
 * What the main step hands to the renewer, through a pipe on its stdin and nowhere else: the
 * credentials (a password or an application credential's secret) must reach no environment, no
 * command line and no file. The renewer holds it in memory until the post step ends it.
 */
export interface RenewerHandover {
  version: 1
  /** Names the renewer's process (its argv) for the post step. */
  nonce: string
  authUrl: string
  credentials: Credentials
  scope: Scope
  timing: Timing
  ca?: string
  insecure?: boolean
  /** RUNNER_TEMP: where the token state and the ledger are. */
  runnerTemp: string
  /** The login's first token (what OS_TOKEN holds) and its life, as Token has them. */
  first: { value: string; validForMs: number; receivedAtMs: number }
  /** Keyless: the runner's ID-token request (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN), to log in again. */
  idTokenRequest?: { url: string; token: string }
  /** The job's proxy settings (a proxy URL may carry a password): set in the renewer's memory, not its environment. */
  proxy: Record<string, string>
}

export const PROXY_VARIABLES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY'] as const

/**
 * The renewer's whole environment: nothing of the job's but what is no secret and is needed.
 * RUNNER_TRACKING_ID is how the runner finds the processes a job left behind and ends them: without
 * it the renewer would outlive the job if the post step could not stop it. NODE_EXTRA_CA_CERTS is a
 * path Node reads at start. Windows needs SystemRoot for its network stack.
 */
export const RENEWER_ENV_KEPT = ['RUNNER_TRACKING_ID', 'NODE_EXTRA_CA_CERTS', 'SystemRoot'] as const

export function renewerEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const name of RENEWER_ENV_KEPT) {
    const value = env[name]
    if (value) kept[name] = value
  }
  return kept
}

export function proxySettings(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const proxy: Record<string, string> = {}
  for (const name of PROXY_VARIABLES) {
    const value = env[name]
    if (value) proxy[name] = value
  }
  return proxy
}

export function encodeHandover(handover: RenewerHandover): string {
  return `${JSON.stringify(handover)}\n`
}

/** The hand-over as read from stdin, or an Error naming what is wrong (the renewer then exits). */
export function decodeHandover(text: string): RenewerHandover {
  const parsed: unknown = JSON.parse(text)
  if (!isObject(parsed) || parsed.version !== 1) throw new Error('not a renewer hand-over')
  const first = parsed.first
  if (!isObject(first) || typeof first.value !== 'string' || typeof first.validForMs !== 'number' || typeof first.receivedAtMs !== 'number') {
    throw new Error('the hand-over has no first token')
  }
  for (const key of ['nonce', 'authUrl', 'runnerTemp'] as const) {
    if (typeof parsed[key] !== 'string' || parsed[key] === '') throw new Error(`the hand-over has no ${key}`)
  }
  if (!isObject(parsed.credentials) || !isObject(parsed.scope) || !isObject(parsed.timing)) throw new Error('the hand-over is incomplete')
  return parsed as unknown as RenewerHandover
}
