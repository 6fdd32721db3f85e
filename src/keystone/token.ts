import { parseCatalog, type CatalogService } from './catalog.js'
import { looksLikeHtml } from './answers.js'
import { KeystoneError } from '../errors.js'
import { isObject } from '../json.js'
import type { HttpResponse } from '../net/http.js'
import { parseKeystoneTime } from '../time.js'

/** A Keystone token as the action knows it: its value, its document, and how long it lives on whose clock. */

export interface NamedRef {
  id: string
  name?: string
}

export interface Token {
  /** The secret itself, from the `X-Subject-Token` header. */
  value: string
  /** Keystone's times, on Keystone's clock. */
  issuedAt: Date
  expiresAt: Date
  /**
   * How long the token was still valid when the answer left Keystone, measured on Keystone's own
   * clock (its `Date` header for a token read, `issued_at` for a new one): the runner's clock may be
   * off, so no expiry decision compares it with expiresAt. See remainingMs.
   */
  validForMs: number
  /** When the answer arrived, on the runner's clock: the start of validForMs for the runner. */
  receivedAt: Date
  methods: string[]
  user: NamedRef & { domain?: NamedRef }
  project?: NamedRef & { domain?: NamedRef }
  domain?: NamedRef
  system: boolean
  applicationCredential?: NamedRef
  /**
   * The application credential has access rules. Keystone cannot revoke such a token with the token
   * itself: DELETE /auth/tokens answers 404 on Zed (a lookup without access-rules support) and 401
   * on later releases (no access rule allows the call); the token stays valid either way.
   */
  accessRules?: boolean
  /** Only when asked for; undefined when Keystone sent none or not a list. */
  catalog?: CatalogService[]
  /** Keystone's JSON document as received: what openstacksdk caches as auth state. */
  document?: unknown
}

/** What is left of a token's life at `now` (runner's clock), from what Keystone's clock said at receipt. */
export function remainingMs(token: Pick<Token, 'validForMs' | 'receivedAt'>, now: Date): number {
  return token.validForMs - Math.max(0, now.getTime() - token.receivedAt.getTime())
}

/** Tokens are opaque printable strings (fernet ~200 characters, PKI up to a few KB). */
export const TOKEN_SHAPE = /^[\x21-\x7e]{1,8192}$/

/** Reads the token document, refusing anything a real Keystone would not send. */
export function parseTokenBody(response: HttpResponse, url: string, now: Date): Omit<Token, 'value' | 'validForMs' | 'receivedAt'> {
  const invalid = (what: string): KeystoneError =>
    new KeystoneError(`Keystone's answer at ${url} is not a valid token document (${what}): check that auth-url points at Keystone itself.`, {
      status: response.status
    })
  let parsed: unknown
  try {
    parsed = JSON.parse(response.body)
  } catch {
    throw looksLikeHtml(response) ? invalid('an HTML page instead of JSON') : invalid('not JSON')
  }
  if (!isObject(parsed) || !isObject(parsed.token)) throw invalid('no "token" object')
  const token = parsed.token
  const expiresAt = typeof token.expires_at === 'string' ? parseKeystoneTime(token.expires_at) : undefined
  if (!expiresAt) throw invalid(`expires_at is ${JSON.stringify(token.expires_at)?.slice(0, 60) ?? 'missing'}`)
  const issuedAt = (typeof token.issued_at === 'string' && parseKeystoneTime(token.issued_at)) || now
  const user = refWithDomain(token.user)
  if (!user) throw invalid('no user id')
  const methods = Array.isArray(token.methods) ? token.methods.filter((m): m is string => typeof m === 'string') : []
  const project = refWithDomain(token.project)
  const domain = ref(token.domain)
  const applicationCredential = ref(token.application_credential)
  const accessRules =
    isObject(token.application_credential) &&
    Array.isArray(token.application_credential.access_rules) &&
    token.application_credential.access_rules.length > 0
  const catalog = parseCatalog(token.catalog)
  return {
    issuedAt,
    expiresAt,
    methods,
    user,
    ...(project && { project }),
    ...(domain && { domain }),
    system: isObject(token.system) && token.system.all === true,
    ...(applicationCredential && { applicationCredential }),
    ...(accessRules && { accessRules }),
    ...(catalog && { catalog }),
    document: parsed
  }
}

function ref(value: unknown): NamedRef | undefined {
  if (!isObject(value) || typeof value.id !== 'string' || value.id === '') return undefined
  return { id: value.id, ...(typeof value.name === 'string' && { name: value.name }) }
}

function refWithDomain(value: unknown): (NamedRef & { domain?: NamedRef }) | undefined {
  const base = ref(value)
  if (!base || !isObject(value)) return base
  const domain = ref(value.domain)
  return domain ? { ...base, domain } : base
}
