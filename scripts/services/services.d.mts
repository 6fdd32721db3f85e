// Types for services.mjs (real Glance and Swift on 127.0.0.1 for tests).
import type { KeystoneInstance } from '../keystone/keystone.d.mts'

export interface StartServicesOptions {
  /** keystonemiddleware token_cache_time in seconds (its default, 300, when absent). */
  tokenCacheTime?: number
  /** Default: a fresh temporary dir (removed by stop()). */
  stateDir?: string
  /** Bound on start.sh, default 300 000 ms (a first run may apt-install the packages). */
  timeoutMs?: number
}

export interface ServicesInstance {
  /** http://127.0.0.1:PORT (the image endpoint in the catalog) */
  glanceUrl: string
  /** http://127.0.0.1:PORT/v1 (the catalog has $swiftUrl/AUTH_%(project_id)s) */
  swiftUrl: string
  stateDir: string
  /** Server name (glance-api, swift-proxy, …) → PID. */
  pids: Record<string, number>
  /** The object-store URL of a project: what OS_STORAGE_URL must be. */
  storageUrl(projectId: string): string
  /** Stops every server; removes the state dir unless purge is false or KEYSTONE_KEEP_STATE=1. Idempotent. */
  stop(options?: { purge?: boolean }): Promise<void>
}

export function startServices(keystone: KeystoneInstance, options?: StartServicesOptions): Promise<ServicesInstance>

/** Keystone requests made by clients (not the services' validations or logins) in lines fromLine..toLine. */
export function clientRequests(accessLogPath: string, fromLine?: number, toLine?: number): { all: number; posts: number; validations: number }

/** Lines in the access log so far. */
export function logLines(accessLogPath: string): number
