// Types for keystone.mjs (a real Keystone on 127.0.0.1 for tests).

export interface StartKeystoneOptions {
  /** Token lifetime in seconds ([token] expiration). Default 3600. */
  tokenExpiration?: number
  /** 0 or absent: a free port is picked. */
  port?: number
  /** Default: a fresh temporary dir (removed by stop()). */
  stateDir?: string
  /** Bound on start.sh, default 300 000 ms (a first run may apt-install the packages). */
  timeoutMs?: number
  /**
   * Runs start.sh elsewhere than on the host, e.g. inside the Debian 13 root (scripts/trixie:
   * `inTrixie(command, { binds, keepMounts: true })`): given start.sh's command and the dirs it
   * needs at the same path (the state dir, this repository), the command to spawn instead.
   * stop() still runs on the host.
   */
  within?: (command: string[], binds: string[]) => [string, ...string[]]
}

/** The FIX_* values of fixtures.sh (all strings). */
export interface KeystoneFixtures extends Record<string, string> {
  FIX_ADMIN_USER_ID: string
  FIX_ADMIN_USER_NAME: string
  FIX_ADMIN_PASSWORD: string
  FIX_ADMIN_PROJECT_ID: string
  FIX_ADMIN_PROJECT_NAME: string
  FIX_ADMIN_ROLE_ID: string
  FIX_MEMBER_ROLE_ID: string
  FIX_DOM2_ID: string
  FIX_DOM2_NAME: string
  FIX_PROJ2_ID: string
  FIX_PROJ2_NAME: string
  FIX_USER2_ID: string
  FIX_USER2_NAME: string
  FIX_USER2_PASSWORD: string
  FIX_NOROLE_ID: string
  FIX_NOROLE_NAME: string
  FIX_NOROLE_PASSWORD: string
  FIX_APPCRED_ID: string
  FIX_APPCRED_NAME: string
  FIX_APPCRED_SECRET: string
}

export interface KeystoneInstance {
  /** http://127.0.0.1:PORT/v3 */
  authUrl: string
  port: number
  stateDir: string
  /** The gunicorn master (leader of its own process group). */
  pid: number
  /** The admin's OS_* variables (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, …). */
  env: Record<string, string>
  fixtures: KeystoneFixtures
  /** gunicorn access log, emptied when the server became ready: one line per request. */
  accessLogPath: string
  /** Stops the server; removes the state dir unless purge is false or KEYSTONE_KEEP_STATE=1. Idempotent. */
  stop(options?: { purge?: boolean }): Promise<void>
}

export function startKeystone(options?: StartKeystoneOptions): Promise<KeystoneInstance>

/** An Error from issueToken: the HTTP status and the parsed body (or text) of Keystone's answer. */
export interface KeystoneHttpError extends Error {
  status: number
  body: unknown
}

/** POST /v3/auth/tokens; resolves on 201, rejects with a KeystoneHttpError otherwise. */
export function issueToken(
  authUrl: string,
  body: unknown,
  options?: { nocatalog?: boolean; timeoutMs?: number }
): Promise<{ token: string; body: any; status: number }>

/** GET /v3/auth/tokens: 200 valid, 404 unknown/expired/revoked subject, 401 bad auth token. */
export function validateToken(authUrl: string, authToken: string, subjectToken: string): Promise<number>

/** DELETE /v3/auth/tokens: 204 revoked, 401 auth token dead, 404 subject unknown/expired/revoked. */
export function revokeToken(authUrl: string, authToken: string, subjectToken: string): Promise<number>

/** Requests in the access log matching method (default POST), a path prefix (default /v3/auth/tokens) and, if given, the status. */
export function countRequests(accessLogPath: string, filter?: { method?: string; path?: string; status?: number }): number

/** Parses `export NAME='value'` lines as the scripts print them. */
export function parseExports(text: string): Record<string, string>
