import { isObject } from '../json.js'
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto'
import { UserError } from '../errors.js'
import { TOKEN_SHAPE } from '../keystone/token.js'
import { formatDuration, formatTime, parseKeystoneTime } from '../time.js'

/**
 * One token for a whole workflow run: a first job issues it and seals it into its `shared-token`
 * output, the other jobs unseal it with the `share-key` secret. GitHub drops a job output that
 * holds a secret in clear ("Skip output … since it may contain secret"), and a job output can end
 * up in logs, so the token travels encrypted and authenticated: AES-256-GCM under a key derived
 * from `share-key` with scrypt, bound to the repository and run that produced it.
 *
 * Envelope, one line of [A-Za-z0-9_.-]:
 *
 *   ost1.<binding>.<salt>.<iv>.<ciphertext>.<tag>
 *
 * each part after the version in base64url (no padding): binding = the JSON array
 * [repository, repositoryId, runId, runAttempt] ('' for an absent one), salt 16 bytes, iv 12 bytes,
 * ciphertext = the payload as JSON, tag 16 bytes. The binding is in clear because it is not secret
 * and lets an error say which run a token belongs to; it is authenticated all the same: the
 * additional authenticated data is the header text `ost1.<binding>.<salt>.<iv>` exactly as sent.
 */

/** Everything a consumer job needs to export what the main step exports, without asking Keystone. */
export interface SharedTokenPayload {
  token: string
  /** The v3 base URL, as the main step exports it in OS_AUTH_URL. */
  authUrl: string
  /** ISO 8601. */
  expiresAt: string
  /** ISO 8601. */
  issuedAt: string
  /** The scope Keystone reports for the token (not the one asked for). */
  scope: SharedScope
  userId: string
  region?: string
  interface?: string
  methods?: string[]
}

export interface SharedScope {
  projectId?: string
  projectName?: string
  projectDomainId?: string
  domainId?: string
  domainName?: string
  system?: boolean
}

/** Where a shared token may be used: the workflow run that produced it (values of the GITHUB_* variables). */
export interface ShareBinding {
  /** GITHUB_REPOSITORY, `owner/repo`. */
  repository: string
  /** GITHUB_REPOSITORY_ID: tells a repository from a later one that took its name. */
  repositoryId?: string
  /** GITHUB_RUN_ID: the same for every attempt of a run, and inside the reusable workflows it calls. */
  runId: string
  /**
   * GITHUB_RUN_ATTEMPT. Recorded, and authenticated, for the error messages, but not required to
   * match: "Re-run failed jobs" starts a new attempt that reuses the outputs of the jobs that
   * succeeded, the producer's included, so its consumers must accept a token sealed by an earlier
   * attempt of the same run. The token's own expiry bounds that reuse.
   */
  runAttempt?: string
}

export interface UnsealOptions {
  /** Refuse a token that expires sooner than this many milliseconds from now. */
  minValidityMs?: number
  /** Open it whatever this runner's clock says of its expiry (Keystone is asked instead). */
  ignoreExpiry?: boolean
}

/** A shared token that opened fine but expires too soon: a consumer with credentials can log in itself. */
export class SharedTokenTooOld extends UserError {
  override name = 'SharedTokenTooOld'
  constructor(
    /** What is wrong, without the advice: a consumer that logs in itself says only this. */
    readonly reason: string,
    advice: string
  ) {
    super(`${reason}: ${advice}.`)
  }
}

export const SHARE_FORMAT = 'ost1'

/** `openssl rand -base64 32` gives 44; a floor that catches placeholders and short passwords. */
export const MIN_SHARE_KEY_LENGTH = 16

/** The longest envelope either side accepts: a token of 8 KB (PKI) and its details fit. */
export const MAX_SHARED_TOKEN_LENGTH = 20_000

/**
 * scrypt, because `share-key` may be a password someone typed and the envelope must be assumed
 * public: each guess costs 32 MiB and about 80 ms of a server core (each job pays it once, against
 * a login's round trip). The salt is random per seal; the parameters are fixed by the format
 * version, so they are not in the envelope and cannot be lowered by whoever edits one.
 */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const
const KEY_BYTES = 32
const SALT_BYTES = 16
/** The size GCM is built for: a random 96-bit IV per seal. */
const IV_BYTES = 12
const TAG_BYTES = 16
/** Bounds the ciphertext, so an envelope never exceeds MAX_SHARED_TOKEN_LENGTH. */
const MAX_PAYLOAD_BYTES = 12 * 1024

const ENVELOPE_CHARS = /^[A-Za-z0-9_.-]+$/
const REPOSITORY = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/
const NUMBER_ID = /^\d{1,20}$/

const SEND_AS_IS = "pass the producer job's `shared-token` output whole and unmodified"
const SAME_VERSION = 'use the same version of openstack-token in the producer and consumer jobs'
const RERUN = 're-run all jobs of the workflow so the producer job issues a new one (re-running only the failed jobs reuses the old token)'

/** Encrypts a token for the other jobs of this run. */
export function sealSharedToken(payload: SharedTokenPayload, key: string, binding: ShareBinding): string {
  checkKey(key)
  const bound = checkBinding(binding)
  const clean = normalizePayload(payload)
  if (typeof clean === 'string') throw new Error(`sealSharedToken was given an invalid payload (${clean})`)
  const plaintext = Buffer.from(JSON.stringify(clean), 'utf8')
  if (plaintext.length > MAX_PAYLOAD_BYTES) {
    throw new UserError(
      `The token and its details take ${plaintext.length} bytes, more than the ${MAX_PAYLOAD_BYTES} a shared token can carry: let each job issue its own token instead of sharing one.`
    )
  }

  const salt = randomBytes(SALT_BYTES)
  const iv = randomBytes(IV_BYTES)
  const header = [SHARE_FORMAT, encodeBinding(bound), b64(salt), b64(iv)].join('.')
  const cipher = createCipheriv('aes-256-gcm', deriveKey(key, salt), iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(Buffer.from(header, 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return [header, b64(ciphertext), b64(cipher.getAuthTag())].join('.')
}

/** Decrypts and checks a token sealed by sealSharedToken in a job of this run; every refusal is a UserError. */
export function unsealSharedToken(sealed: string, key: string, binding: ShareBinding, now: Date, options: UnsealOptions = {}): SharedTokenPayload {
  checkKey(key)
  const ours = checkBinding(binding)
  const envelope = parseEnvelope(sealed)
  checkSameRun(envelope.binding, ours)

  let plaintext: Buffer
  try {
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(key, envelope.salt), envelope.iv, { authTagLength: TAG_BYTES })
    decipher.setAAD(Buffer.from(envelope.header, 'utf8'))
    decipher.setAuthTag(envelope.tag)
    plaintext = Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()])
  } catch {
    // GCM says only "not authentic": a different key and an altered envelope look the same.
    throw new UserError(
      "The shared token does not open with this `share-key`: either the key differs from the producer job's or the token was altered on the way (the two cannot be told apart), so check that both jobs read the same secret and pass the output unmodified."
    )
  }

  let parsed: unknown
  try {
    parsed = JSON.parse(plaintext.toString('utf8'))
  } catch {
    parsed = undefined
  }
  const payload = normalizePayload(parsed)
  if (typeof payload === 'string') {
    throw new UserError(`The shared token opened but does not hold what this version of openstack-token expects (${payload}): ${SAME_VERSION}.`)
  }

  if (options.ignoreExpiry) return payload
  const expiresAt = parseKeystoneTime(payload.expiresAt)!
  const left = expiresAt.getTime() - now.getTime()
  if (left <= 0) {
    throw new SharedTokenTooOld(`The shared token expired at ${formatTime(expiresAt)} (now ${formatTime(now)})`, RERUN)
  }
  const minValidityMs = options.minValidityMs ?? 0
  if (left < minValidityMs) {
    throw new SharedTokenTooOld(
      `The shared token expires at ${formatTime(expiresAt)}, in ${formatDuration(left)}, sooner than min-validity ${formatDuration(minValidityMs)}`,
      `${RERUN}, or lower min-validity`
    )
  }
  return payload
}

// ── the key ─────────────────────────────────────────────────────────────────────────────────────

function checkKey(key: string): void {
  if (key === '') {
    throw new UserError(
      '`share-key` is empty: set it from a repository secret made with `openssl rand -base64 32` (workflows triggered from a fork get no secrets).'
    )
  }
  // Counted in code points, as a person counts what they typed.
  if ([...key].length < MIN_SHARE_KEY_LENGTH) {
    throw new UserError(
      `\`share-key\` is shorter than ${MIN_SHARE_KEY_LENGTH} characters, too weak to protect a token that may be read by anyone who can see the run: set the secret to a random value such as the output of \`openssl rand -base64 32\`.`
    )
  }
}

function deriveKey(key: string, salt: Buffer): Buffer {
  return scryptSync(Buffer.from(key, 'utf8'), salt, KEY_BYTES, SCRYPT)
}

// ── the binding ─────────────────────────────────────────────────────────────────────────────────

interface Bound {
  repository: string
  /** '' when absent, here and in the envelope. */
  repositoryId: string
  runId: string
  runAttempt: string
}

/** The run this step is in; the GITHUB_* variables are missing only outside GitHub Actions. */
function checkBinding(binding: ShareBinding): Bound {
  const bound = boundOf(binding.repository, binding.repositoryId ?? '', binding.runId, binding.runAttempt ?? '')
  if (bound) return bound
  const wrong =
    typeof binding.repository !== 'string' || !REPOSITORY.test(binding.repository)
      ? 'GITHUB_REPOSITORY is missing or not owner/repo'
      : typeof binding.runId !== 'string' || !NUMBER_ID.test(binding.runId)
        ? 'GITHUB_RUN_ID is missing or not a number'
        : binding.repositoryId && !NUMBER_ID.test(binding.repositoryId)
          ? 'GITHUB_REPOSITORY_ID is not a number'
          : 'GITHUB_RUN_ATTEMPT is not a number'
  throw new UserError(`${wrong}: a shared token can only be sealed and opened inside a GitHub Actions workflow run, which sets it.`)
}

function boundOf(repository: unknown, repositoryId: unknown, runId: unknown, runAttempt: unknown): Bound | undefined {
  const ok =
    typeof repository === 'string' &&
    REPOSITORY.test(repository) &&
    typeof repositoryId === 'string' &&
    (repositoryId === '' || NUMBER_ID.test(repositoryId)) &&
    typeof runId === 'string' &&
    NUMBER_ID.test(runId) &&
    typeof runAttempt === 'string' &&
    (runAttempt === '' || NUMBER_ID.test(runAttempt))
  return ok ? { repository, repositoryId, runId, runAttempt } : undefined
}

function encodeBinding(bound: Bound): string {
  return b64(Buffer.from(JSON.stringify([bound.repository, bound.repositoryId, bound.runId, bound.runAttempt]), 'utf8'))
}

/**
 * Read from the clear header, before anything is authenticated: this only chooses the message.
 * A header altered to name this run fails authentication later, since it is the AAD. Every value
 * was checked against REPOSITORY or NUMBER_ID, so what the message quotes is plain text.
 */
function checkSameRun(sealedFor: Bound, ours: Bound): void {
  if (sealedFor.repository !== ours.repository || sealedFor.repositoryId !== ours.repositoryId) {
    throw new UserError(
      `This shared token was sealed for repository ${describeRepository(sealedFor)}, not ${describeRepository(ours)}: a shared token works only in the workflow run that produced it, so take it from a job of this run listed under \`needs:\`.`
    )
  }
  if (sealedFor.runId !== ours.runId) {
    const attempt = sealedFor.runAttempt ? ` (attempt ${sealedFor.runAttempt})` : ''
    throw new UserError(
      `This shared token was sealed in run ${sealedFor.runId}${attempt} of ${ours.repository}, and this is run ${ours.runId}: a shared token works only in the workflow run that produced it, so take it from a job of this run listed under \`needs:\`.`
    )
  }
}

function describeRepository(bound: Bound): string {
  return bound.repositoryId ? `${bound.repository} (id ${bound.repositoryId})` : bound.repository
}

// ── the envelope ────────────────────────────────────────────────────────────────────────────────

interface Envelope {
  /** `ost1.<binding>.<salt>.<iv>` as received: the AAD. */
  header: string
  binding: Bound
  salt: Buffer
  iv: Buffer
  ciphertext: Buffer
  tag: Buffer
}

function parseEnvelope(sealed: string): Envelope {
  // The whole value is never quoted in a message: it is not secret, but it is long and opaque.
  if (typeof sealed !== 'string' || sealed.trim() === '') {
    throw new UserError(
      "`shared-token` is empty: pass the producer job's output, `${{ needs.<job>.outputs.shared-token }}`, which that job must declare under `outputs:` and which is empty when the job was skipped or failed."
    )
  }
  const text = sealed.trim()
  if (text.length > MAX_SHARED_TOKEN_LENGTH) {
    throw new UserError(
      `\`shared-token\` is ${text.length} characters long, more than a shared token can be (${MAX_SHARED_TOKEN_LENGTH}): ${SEND_AS_IS}.`
    )
  }
  const parts = text.split('.')
  const version = parts[0]!
  if (!ENVELOPE_CHARS.test(text) || !/^ost\d{1,6}$/.test(version)) {
    throw new UserError(
      `\`shared-token\` is not a token shared by openstack-token (one line starting with \`${SHARE_FORMAT}.\`): ${SEND_AS_IS}, not the Keystone token itself.`
    )
  }
  if (version !== SHARE_FORMAT) {
    throw new UserError(
      `\`shared-token\` has format ${version}, which this version of openstack-token cannot read (it reads ${SHARE_FORMAT}): ${SAME_VERSION}.`
    )
  }
  const damaged = (what: string): UserError => new UserError(`\`shared-token\` is truncated or damaged (${what}): ${SEND_AS_IS}.`)
  if (parts.length !== 6) throw damaged(`6 dot-separated parts expected, ${parts.length} found`)

  const [, bindingPart, saltPart, ivPart, ciphertextPart, tagPart] = parts as [string, string, string, string, string, string]
  const bindingBytes = fromB64(bindingPart)
  const salt = fromB64(saltPart)
  const iv = fromB64(ivPart)
  const ciphertext = fromB64(ciphertextPart)
  const tag = fromB64(tagPart)
  if (!bindingBytes || !salt || !iv || !ciphertext || !tag) throw damaged('a part is not base64url')
  if (salt.length !== SALT_BYTES) throw damaged(`its salt is ${salt.length} bytes, not ${SALT_BYTES}`)
  if (iv.length !== IV_BYTES) throw damaged(`its IV is ${iv.length} bytes, not ${IV_BYTES}`)
  if (tag.length !== TAG_BYTES) throw damaged(`its tag is ${tag.length} bytes, not ${TAG_BYTES}`)
  if (ciphertext.length === 0 || ciphertext.length > MAX_PAYLOAD_BYTES) throw damaged(`its ciphertext is ${ciphertext.length} bytes`)
  const binding = decodeBinding(bindingBytes)
  if (!binding) throw damaged('its repository and run cannot be read')

  return { header: [version, bindingPart, saltPart, ivPart].join('.'), binding, salt, iv, ciphertext, tag }
}

function decodeBinding(bytes: Buffer): Bound | undefined {
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    return undefined
  }
  if (!Array.isArray(value) || value.length !== 4) return undefined
  return boundOf(value[0], value[1], value[2], value[3])
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64url')
}

/** Strict base64url: Buffer.from skips what it cannot read, so the text must re-encode to itself. */
function fromB64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}

// ── the payload ─────────────────────────────────────────────────────────────────────────────────

/**
 * A copy with only the known fields (so nothing else a caller holds is sealed by mistake), or the
 * name of the first field that is wrong. Names the field, never its value: the value may be the token.
 */
function normalizePayload(value: unknown): SharedTokenPayload | string {
  if (!isObject(value)) return 'not an object'
  const { token, authUrl, expiresAt, issuedAt, scope, userId, region, interface: iface, methods } = value
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return 'token'
  if (!isText(authUrl) || authUrl === '') return 'authUrl'
  if (typeof expiresAt !== 'string' || !parseKeystoneTime(expiresAt)) return 'expiresAt'
  if (typeof issuedAt !== 'string' || !parseKeystoneTime(issuedAt)) return 'issuedAt'
  if (!isText(userId) || userId === '') return 'userId'
  if (!isObject(scope)) return 'scope'
  if (region !== undefined && !isText(region)) return 'region'
  if (iface !== undefined && !isText(iface)) return 'interface'
  if (methods !== undefined && !(Array.isArray(methods) && methods.length <= 16 && methods.every(isText))) return 'methods'

  const cleanScope: SharedScope = {}
  for (const name of ['projectId', 'projectName', 'projectDomainId', 'domainId', 'domainName'] as const) {
    const field = scope[name]
    if (field === undefined) continue
    if (!isText(field)) return `scope.${name}`
    cleanScope[name] = field
  }
  if (scope.system !== undefined) {
    if (typeof scope.system !== 'boolean') return 'scope.system'
    cleanScope.system = scope.system
  }

  const clean: SharedTokenPayload = { token, authUrl, expiresAt, issuedAt, scope: cleanScope, userId }
  if (region !== undefined) clean.region = region
  if (iface !== undefined) clean.interface = iface
  if (methods !== undefined) clean.methods = [...(methods as string[])]
  return clean
}

/** Names, ids, URLs: bounded, so the payload stays within MAX_PAYLOAD_BYTES with the largest token. */
function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 1024
}
