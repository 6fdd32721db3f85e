/**
 * What the main step hands to the post step through GITHUB_STATE (the runner gives it back as
 * STATE_* variables, readable by the post step of this very `uses:` step only: two logins in one
 * job each have their own). It holds everything the post step needs to reach Keystone, and nothing
 * that points at a file a later step may delete.
 */
export interface SavedToken {
  /** The token handed to later steps; '' when the login failed before there was one. */
  token: string
  /** Tokens Keystone issued on the way that could not be revoked at once: always revoked. */
  others?: string[]
  authUrl: string
  /** ISO 8601, on Keystone's clock: for the log only, never to decide whether to revoke. */
  expiresAt?: string
  /** Whether the post step revokes `token` (revoke: false, or a shared token, keep it). */
  revoke: boolean
  /** The private CA's PEM itself; or, when too large to pass through state, its file. */
  ca?: string
  caFile?: string
  insecure?: boolean
  /** Why the post step leaves it valid, when it does (default: revoke: false). */
  keptBecause?: string
  /** From an application credential with access rules: Keystone may not find it to revoke it. */
  accessRules?: boolean
}

export interface StateStore {
  saveState(name: string, value: string): void
  getState(name: string): string
}

/** The GITHUB_STATE name of each SavedToken field (exported so that tests write state by field, not by string). */
export const STATE_KEYS = {
  token: 'token',
  others: 'other-tokens',
  authUrl: 'auth-url',
  expiresAt: 'expires-at',
  revoke: 'revoke',
  ca: 'ca',
  caFile: 'ca-file',
  insecure: 'insecure',
  keptBecause: 'kept-because',
  accessRules: 'access-rules'
} as const satisfies Record<keyof SavedToken, string>

/**
 * The runner hands state back as environment variables, and Linux refuses a single one over
 * 128 KiB: a CA bundle above this size travels as its path instead.
 */
export const MAX_CA_IN_STATE = 64 * 1024

export function saveToken(store: StateStore, saved: SavedToken): void {
  store.saveState(STATE_KEYS.authUrl, saved.authUrl)
  store.saveState(STATE_KEYS.expiresAt, saved.expiresAt ?? '')
  store.saveState(STATE_KEYS.revoke, String(saved.revoke))
  if (saved.ca !== undefined && saved.ca.length <= MAX_CA_IN_STATE) store.saveState(STATE_KEYS.ca, saved.ca)
  else if (saved.caFile) store.saveState(STATE_KEYS.caFile, saved.caFile)
  if (saved.insecure) store.saveState(STATE_KEYS.insecure, 'true')
  if (saved.keptBecause) store.saveState(STATE_KEYS.keptBecause, saved.keptBecause)
  if (saved.accessRules) store.saveState(STATE_KEYS.accessRules, 'true')
  // The tokens last: a post step that sees them also sees where and how to reach Keystone.
  store.saveState(STATE_KEYS.others, (saved.others ?? []).join('\n'))
  store.saveState(STATE_KEYS.token, saved.token)
}

/** Marks every token as handled (revoked by the main step itself), so the post step leaves them. */
export function forgetToken(store: StateStore): void {
  store.saveState(STATE_KEYS.others, '')
  store.saveState(STATE_KEYS.token, '')
}

export function loadToken(store: StateStore): SavedToken | undefined {
  const token = store.getState(STATE_KEYS.token)
  const others = store
    .getState(STATE_KEYS.others)
    .split('\n')
    .filter(other => other !== '')
  if (!token && others.length === 0) return undefined
  const read = (key: string): string | undefined => store.getState(key) || undefined
  const expiresAt = read(STATE_KEYS.expiresAt)
  const ca = read(STATE_KEYS.ca)
  const caFile = read(STATE_KEYS.caFile)
  const keptBecause = read(STATE_KEYS.keptBecause)
  return {
    token,
    ...(others.length > 0 && { others }),
    authUrl: store.getState(STATE_KEYS.authUrl),
    ...(expiresAt && { expiresAt }),
    revoke: store.getState(STATE_KEYS.revoke) !== 'false',
    ...(ca && { ca }),
    ...(caFile && { caFile }),
    ...(store.getState(STATE_KEYS.insecure) === 'true' && { insecure: true }),
    ...(keptBecause && { keptBecause }),
    ...(store.getState(STATE_KEYS.accessRules) === 'true' && { accessRules: true })
  }
}
