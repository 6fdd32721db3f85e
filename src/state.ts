/**
 * What the main step hands to the post step through GITHUB_STATE (the runner gives it back as
 * STATE_* variables, readable by the post step of this action only).
 */
export interface SavedToken {
  token: string
  authUrl: string
  /** ISO 8601. */
  expiresAt: string
  revoke: boolean
  /** The private CA's file, when there is one, and whether verification is off. */
  caFile?: string
  insecure?: boolean
  /** Why the post step leaves it valid, when it does (default: revoke: false). */
  keptBecause?: string
  /** From an application credential with access rules: Keystone cannot revoke it. */
  accessRules?: boolean
}

export interface StateStore {
  saveState(name: string, value: string): void
  getState(name: string): string
}

const KEYS = {
  token: 'token',
  authUrl: 'auth-url',
  expiresAt: 'expires-at',
  revoke: 'revoke',
  caFile: 'ca-file',
  insecure: 'insecure',
  keptBecause: 'kept-because',
  accessRules: 'access-rules'
} as const

export function saveToken(store: StateStore, saved: SavedToken): void {
  store.saveState(KEYS.authUrl, saved.authUrl)
  store.saveState(KEYS.expiresAt, saved.expiresAt)
  store.saveState(KEYS.revoke, String(saved.revoke))
  if (saved.caFile) store.saveState(KEYS.caFile, saved.caFile)
  if (saved.insecure) store.saveState(KEYS.insecure, 'true')
  if (saved.keptBecause) store.saveState(KEYS.keptBecause, saved.keptBecause)
  if (saved.accessRules) store.saveState(KEYS.accessRules, 'true')
  // The token last: a post step that sees it also sees where and until when it is valid.
  store.saveState(KEYS.token, saved.token)
}

/** Marks the token as handled (revoked by the main step itself), so the post step leaves it. */
export function forgetToken(store: StateStore): void {
  store.saveState(KEYS.token, '')
}

export function loadToken(store: StateStore): SavedToken | undefined {
  const token = store.getState(KEYS.token)
  if (!token) return undefined
  return {
    token,
    authUrl: store.getState(KEYS.authUrl),
    expiresAt: store.getState(KEYS.expiresAt),
    revoke: store.getState(KEYS.revoke) !== 'false',
    ...(store.getState(KEYS.caFile) && { caFile: store.getState(KEYS.caFile) }),
    ...(store.getState(KEYS.insecure) === 'true' && { insecure: true }),
    ...(store.getState(KEYS.keptBecause) && { keptBecause: store.getState(KEYS.keptBecause) }),
    ...(store.getState(KEYS.accessRules) === 'true' && { accessRules: true })
  }
}
