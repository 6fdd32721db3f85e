import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process'
import * as fs from 'node:fs'
import type { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ConfigSource } from '../config/inputs.js'
import { Reader, resolveBoolean } from '../config/reader.js'
import type { ActionConfig } from '../config/types.js'
import type { Token } from '../keystone/token.js'
import type { Core } from '../runtime/core.js'
import { saveRenewer } from '../runtime/state.js'
import { formatDuration } from '../time.js'
import { encodeHandover, proxySettings, renewerEnvironment, type RenewerHandover } from './handover.js'
import { ledgerPath } from './ledger.js'
import { renewAfterMs } from './schedule.js'

/**
 * Starts the token renewer (renewer.ts) for a login whose later steps use its token directly: a
 * process of its own, detached, stdio closed (the runner waits for a step's stdout and stderr to
 * close), its environment stripped to renewerEnvironment, the credentials on its stdin. The main
 * step does not wait for it to start: the post step learns from the ledger whether it ran.
 */
export interface RenewalStart {
  core: Pick<Core, 'info' | 'warning' | 'debug' | 'saveState'>
  env: Readonly<Record<string, string | undefined>>
  source: ConfigSource
  config: Pick<ActionConfig, 'credentials' | 'scope' | 'timing' | 'authUrl'>
  token: Pick<Token, 'value' | 'validForMs' | 'receivedAt'>
  tls: { ca?: string; insecure?: boolean }
  runnerTemp: string
  /** Tests: the process starter, the renewer's script and the platform. */
  spawn?: StartProcess
  script?: string
  platform?: NodeJS.Platform
}

/** How a process is started (node:child_process spawn, or a test's fake). */
export type StartProcess = (
  command: string,
  args: string[],
  options: SpawnOptions
) => {
  pid?: number | undefined
  stdin: Writable | null
  once(event: 'error', listener: (error: Error) => void): unknown
  removeAllListeners(event: 'error'): unknown
  unref(): void
}

/** `renew`: on unless the step says false. */
export function renewalWanted(source: ConfigSource): boolean {
  return resolveBoolean(new Reader(source).fromInput('renew'), true)
}

/** dist/renew/index.js beside the running bundle's folder (dist/main/). */
export function renewerScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const parts = ['..', 'renew', 'index.js']
  return path.join(here, ...parts)
}

export async function startRenewal(start: RenewalStart): Promise<void> {
  const { core, env, config, token } = start
  if (!renewalWanted(start.source)) {
    core.debug('renew: false: the token is not renewed; later steps fail once it expires.')
    return
  }
  const platform = start.platform ?? process.platform
  // The post step must be able to tell the renewer from another process before it ends it: it reads
  // the command line, which Linux and macOS show (stop.ts).
  if (platform !== 'linux' && platform !== 'darwin') {
    core.info(`The token is not renewed on this runner (${platform}): renewal needs Linux or macOS.`)
    return
  }
  const idTokenRequest =
    config.credentials.method === 'oidc' && env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
      ? { url: env.ACTIONS_ID_TOKEN_REQUEST_URL, token: env.ACTIONS_ID_TOKEN_REQUEST_TOKEN }
      : undefined
  const nonce = randomBytes(16).toString('hex')
  const handover: RenewerHandover = {
    version: 1,
    nonce,
    authUrl: config.authUrl,
    credentials: config.credentials,
    scope: config.scope,
    timing: config.timing,
    ...(start.tls.ca !== undefined && { ca: start.tls.ca }),
    ...(start.tls.insecure && { insecure: true }),
    runnerTemp: start.runnerTemp,
    first: { value: token.value, validForMs: token.validForMs, receivedAtMs: token.receivedAt.getTime() },
    ...(idTokenRequest && { idTokenRequest }),
    proxy: proxySettings(env)
  }
  const script = start.script ?? renewerScript()
  if (!start.spawn && !fs.existsSync(script)) {
    core.warning(`Could not start the token renewer (${script} is missing): the token is not renewed, and later steps fail once it expires.`)
    return
  }
  const pid = await spawnRenewer(start.spawn ?? nodeSpawn, script, nonce, encodeHandover(handover), renewerEnvironment(env)).catch(
    (error: unknown) => {
      core.warning(`Could not start the token renewer (${(error as Error).message}): the token is not renewed, and later steps fail once it expires.`)
      return undefined
    }
  )
  if (pid === undefined) return
  saveRenewer(core, { pid, nonce, ledger: ledgerPath(start.runnerTemp, token.value) })
  core.info(
    `The token is renewed ${formatDuration(renewAfterMs(token.validForMs))} after each login, in the background: the openstack CLI, openstacksdk and Ansible in later steps use each fresh token; OS_TOKEN stays the first one (refresh-env: true hands on the current one).`
  )
}

/** Starts the process, hands it the credentials through its stdin, and lets it go: its pid. */
function spawnRenewer(spawn: StartProcess, script: string, nonce: string, handover: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, nonce], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env,
      cwd: path.dirname(script),
      windowsHide: true
    })
    child.once('error', reject)
    const stdin = child.stdin
    if (!stdin || child.pid === undefined) {
      reject(new Error('no process'))
      return
    }
    const pid = child.pid
    stdin.once('error', reject)
    stdin.end(handover, () => {
      child.removeAllListeners('error')
      child.unref()
      resolve(pid)
    })
  })
}
