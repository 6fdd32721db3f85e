import { isLoopback, normalizeAuthUrl } from './auth-url.js'
import { UserError } from '../errors.js'
import { resolvePacing, type Pacing } from '../net/pacing.js'
import { parseDuration } from '../time.js'

/**
 * Resolving what the user asked for, from the step's inputs and the job's OpenRC (`OS_*`)
 * environment, into one validated configuration. Nothing here talks to the network or logs.
 */

/** Each input and the OpenRC variables it falls back to, first non-empty one first. */
export const INPUT_FALLBACKS = {
  'auth-url': ['OS_AUTH_URL'],
  username: ['OS_USERNAME'],
  'user-id': ['OS_USER_ID'],
  password: ['OS_PASSWORD'],
  'user-domain-name': ['OS_USER_DOMAIN_NAME'],
  'user-domain-id': ['OS_USER_DOMAIN_ID'],
  'application-credential-id': ['OS_APPLICATION_CREDENTIAL_ID'],
  'application-credential-name': ['OS_APPLICATION_CREDENTIAL_NAME'],
  'application-credential-secret': ['OS_APPLICATION_CREDENTIAL_SECRET'],
  'project-id': ['OS_PROJECT_ID', 'OS_TENANT_ID'],
  'project-name': ['OS_PROJECT_NAME', 'OS_TENANT_NAME'],
  'project-domain-name': ['OS_PROJECT_DOMAIN_NAME'],
  'project-domain-id': ['OS_PROJECT_DOMAIN_ID'],
  'domain-name': ['OS_DOMAIN_NAME'],
  'domain-id': ['OS_DOMAIN_ID'],
  'system-scope': ['OS_SYSTEM_SCOPE'],
  region: ['OS_REGION_NAME'],
  interface: ['OS_INTERFACE'],
  'auth-method': [],
  revoke: [],
  'export-env': [],
  'max-wait': [],
  'outage-wait': [],
  timeout: [],
  openrc: [],
  'clouds-yaml': [],
  'secure-yaml': [],
  cloud: ['OS_CLOUD'],
  cacert: ['OS_CACERT'],
  insecure: ['OS_INSECURE'],
  'allow-insecure-http': [],
  'share-key': [],
  'shared-token': [],
  'min-validity': [],
  'allow-unscoped': [],
  'diagnose-refusal': [],
  validate: [],
  'revoke-shared': [],
  'token-use': [],
  'identity-provider': ['OS_IDENTITY_PROVIDER'],
  protocol: ['OS_PROTOCOL'],
  audience: [],
  'job-index': [],
  'job-total': [],
  'rate-limit': []
} as const satisfies Record<string, readonly string[]>

export type InputName = keyof typeof INPUT_FALLBACKS

/** Inputs whose values are secrets: masked before anything is logged, never trimmed of spaces. */
export const SECRET_INPUTS = ['password', 'application-credential-secret', 'share-key'] as const satisfies readonly InputName[]

/**
 * Where values come from, highest precedence first: the step's inputs (`with:`), a credential file
 * (the `openrc` or `clouds-yaml` input, or a clouds.yaml on disk named by OS_CLOUD), the job's env.
 */
export interface ConfigSource {
  input(name: InputName): string
  file?: CredentialFile
  env: Readonly<Record<string, string | undefined>>
}

/** A credential file read as the `OS_*` variables it stands for. */
export interface CredentialFile {
  /** How messages name it: "the `openrc` input", "clouds.yaml cloud \"ovh\"". */
  label: string
  variables: Record<string, string>
  /** Variables the file unsets: the job env's values of these are ignored. */
  unset: string[]
  /** The file prompts for the password: it must come from the `password` input or OS_PASSWORD. */
  passwordPrompt: boolean
  /** The cloud of a clouds.yaml it was read for (by `cloud` or OS_CLOUD). */
  cloud?: string
}

export type DomainRef = { id: string } | { name: string }
export type UserRef = { id: string } | { name: string; domain: DomainRef }

export type Credentials =
  | { method: 'password'; user: UserRef; password: string }
  | { method: 'application-credential'; id: string; secret: string }
  | { method: 'application-credential'; name: string; user: UserRef; secret: string }
  /** Keyless: the workflow's GitHub ID token, traded at Keystone's federation endpoint. */
  | { method: 'oidc'; identityProvider: string; protocol: string; audience: string }

export type AuthMethod = Credentials['method']

export type Scope =
  | { kind: 'project'; project: { id: string } | { name: string; domain: DomainRef } }
  | { kind: 'domain'; domain: DomainRef }
  | { kind: 'system' }
  /** No scope sent: Keystone picks the user's default project, or issues an unscoped token. */
  | { kind: 'default' }

/** How long the step may spend on Keystone. */
export interface Timing {
  /** Overall budget of retries (`max-wait`): what a rate limit (429) may take. */
  maxWaitMs: number
  /** Budget of an outage within it (`outage-wait`): a refused connection, a proxy's 502, a 503. */
  outageWaitMs: number
  /** Deadline of one request (`timeout`). */
  timeoutMs: number
}

export const DEFAULT_TIMING: Timing = { maxWaitMs: 300_000, outageWaitMs: 30_000, timeoutMs: 30_000 }

/** Sharing one token across the jobs of a run (see steps/shared-token-step.ts). */
export interface SharingSettings {
  /** The secret the shared token is sealed with. */
  key?: string
  /** A producer job's `shared-token` output: this job consumes (or revokes) it. */
  sharedToken?: string
  /** Refuse a token that expires sooner than this. */
  minValidityMs?: number
  /** Consumer: ask Keystone once whether the shared token is still valid. */
  validate: boolean
  /** Revoke the shared token (the final job of a sharing workflow). */
  revokeShared: boolean
}

/** `share-key`, `shared-token`, `min-validity`, `validate`, `revoke-shared`, read before credentials. */
export function resolveSharing(source: ConfigSource): SharingSettings {
  const read = new Reader(source)
  const minValidity = read.fromInput('min-validity')
  // The sealed token is one long line, longer than other values may be: read it as it is.
  const sharedToken = source.input('shared-token').trim()
  const key = read.fromInput('share-key')?.value
  const settings: SharingSettings = {
    ...(key !== undefined && { key }),
    ...(sharedToken !== '' && { sharedToken }),
    ...(minValidity && { minValidityMs: resolveDuration(minValidity, 0, 0, 7 * 24 * 3_600_000) }),
    validate: resolveBoolean(read.fromInput('validate'), false),
    revokeShared: resolveBoolean(read.fromInput('revoke-shared'), false)
  }
  if ((settings.sharedToken || settings.revokeShared) && !settings.key) {
    throw new UserError(
      '`shared-token` needs `share-key`, the secret it was sealed with: set it from the same repository secret as in the producer job.'
    )
  }
  if (settings.revokeShared && !settings.sharedToken) {
    throw new UserError("revoke-shared: true needs `shared-token`: pass the producer job's output, ${{ needs.<job>.outputs.shared-token }}.")
  }
  return settings
}

export interface ActionConfig {
  /** Keystone v3 base URL, always ending in `/v3`. */
  authUrl: string
  credentials: Credentials
  scope: Scope
  region?: string
  /** Where the region came from, for the error when the catalog lacks it. */
  regionFrom?: string
  interface?: string
  revoke: boolean
  exportEnv: boolean
  timing: Timing
  /**
   * How later steps use the token: `exchange` (OS_AUTH_TYPE=v3token: each `openstack` call trades
   * it for its own, one Keystone request) or `direct` (openstacksdk's auth cache holds it: none).
   */
  tokenUse: TokenUse
  /** Wait for this job's slot in the matrix before logging in. */
  pacing?: Pacing
  tls: TlsSettings
  /** Things the user should hear about that do not stop the step. */
  warnings: string[]
  /** Which value overrode which, for the log. */
  overrides: string[]
  /** `allow-unscoped`: an unscoped token is what the job wants, not a blank secret. */
  allowUnscoped: boolean
  /** `diagnose-refusal`: after a scoped login's 401, one unscoped attempt tells credentials from scope. */
  diagnoseRefusal: boolean
  /** No scope was asked for: where one could have come from, and which of those were set but empty. */
  blankScope?: BlankScope
}

/** For the error when Keystone answers an empty scope with an unscoped token. */
export interface BlankScope {
  /** The scope inputs, all of them empty (a step cannot tell an input given empty from one not given). */
  inputs: string[]
  /** `OS_PROJECT_ID of the job env`: variables that are there, with an empty value (a misspelt secret). */
  setButEmpty: string[]
}

export type TokenUse = 'exchange' | 'direct'

export interface TlsSettings {
  /** A PEM text or a path to one: the CA that signs Keystone's certificate. */
  cacert?: { pem: string; from: string } | { path: string; from: string }
  /** Skip certificate verification (`insecure`). */
  insecure: boolean
  /** Let credentials cross plain http to a host that is not this machine. */
  allowInsecureHttp: boolean
}

const MAX_VALUE_LENGTH = 1024
const MAX_SECRET_LENGTH = 4096

/** A value with the name of where it came from, so that errors can point at the right place. */
interface Sourced {
  value: string
  from: string
  /** The bare name: input `project-id`, or OS_PROJECT_ID. */
  name: string
}

/** Where a value was found, highest precedence first. */
type Layer = 'input' | 'file' | 'env'
const LAYERS: readonly Layer[] = ['input', 'file', 'env']

/**
 * Reads inputs, then the credential file (an `openrc` or clouds.yaml), then the job's `OS_*`
 * variables, validating the shape of whatever it finds. When a higher layer overrides a different
 * value of a lower one, that is noted for the log: values are never merged silently.
 */
class Reader {
  private readonly noted = new Set<string>()

  constructor(
    private readonly source: ConfigSource,
    private readonly file?: CredentialFile
  ) {}

  /** What overrode what, one sentence each, without values. */
  get overrides(): string[] {
    return [...this.noted]
  }

  fromInput(name: InputName): Sourced | undefined {
    return this.checked(this.source.input(name), `input \`${name}\``, name, `input \`${name}\``)
  }

  fromFile(name: InputName): Sourced | undefined {
    if (!this.file) return undefined
    for (const variable of INPUT_FALLBACKS[name]) {
      const found = this.checked(this.file.variables[variable] ?? '', `${variable} from ${this.file.label}`, name, variable)
      if (found) return found
    }
    return undefined
  }

  fromEnv(name: InputName): Sourced | undefined {
    for (const variable of INPUT_FALLBACKS[name]) {
      // A variable the credential file unsets is gone, as it would be after sourcing the file.
      if (this.file?.unset.includes(variable)) continue
      const found = this.checked(this.source.env[variable] ?? '', variable, name, variable)
      if (found) return found
    }
    return undefined
  }

  from(layer: Layer, name: InputName): Sourced | undefined {
    return layer === 'input' ? this.fromInput(name) : layer === 'file' ? this.fromFile(name) : this.fromEnv(name)
  }

  /** `OS_TENANT_ID and OS_TENANT_NAME from the \`openrc\` input`: several values of one layer. */
  private describeAll(values: Sourced[], layer: Layer): string {
    const names = values.map(v => v.name).join(' and ')
    if (layer === 'file') return `${names} from ${this.file!.label}`
    return layer === 'env' ? `${names} of the job env` : names
  }

  /** The highest layer's value. */
  get(name: InputName): Sourced | undefined {
    for (const [i, layer] of LAYERS.entries()) {
      const found = this.from(layer, name)
      if (!found) continue
      for (const lower of LAYERS.slice(i + 1)) {
        const shadowed = this.from(lower, name)
        if (shadowed && shadowed.value !== found.value) this.noted.add(`${found.from} overrides ${describe(shadowed, lower)}.`)
      }
      return found
    }
    return undefined
  }

  /**
   * Values that belong together (say, a project's id and name) come from one layer only: when the
   * step names any of them in `with:`, the file's and the job's values of the group are ignored,
   * so an OpenRC left in the job's env cannot mix a second project into the one the step asked for.
   */
  group<N extends InputName>(names: readonly N[]): { layer: Layer; values: Partial<Record<N, Sourced>> } {
    const at = (layer: Layer): Partial<Record<N, Sourced>> => {
      const values: Partial<Record<N, Sourced>> = {}
      for (const name of names) {
        const found = this.from(layer, name)
        if (found) values[name] = found
      }
      return values
    }
    for (const [i, layer] of LAYERS.entries()) {
      const values = at(layer)
      const winners = Object.values(values) as Sourced[]
      if (winners.length === 0) continue
      for (const lower of LAYERS.slice(i + 1)) {
        const shadowed = at(lower)
        const differs = names.some(n => shadowed[n] !== undefined && shadowed[n]!.value !== values[n]?.value)
        if (differs) {
          const lost = Object.values(shadowed) as Sourced[]
          const verb = winners.length === 1 ? 'replaces' : 'replace'
          this.noted.add(`${this.describeAll(winners, layer)} ${verb} ${this.describeAll(lost, lower)}.`)
        }
      }
      return { layer, values }
    }
    return { layer: 'env', values: {} }
  }

  private checked(raw: string, from: string, name: InputName, bare: string): Sourced | undefined {
    const secret = (SECRET_INPUTS as readonly string[]).includes(name)
    const value = secret ? trimLineEnds(raw) : raw.trim()
    // A secret of spaces only is a mistake, not a password: it counts as absent, as everywhere else.
    if (value.trim() === '') return undefined
    const max = secret ? MAX_SECRET_LENGTH : MAX_VALUE_LENGTH
    if (value.length > max) {
      throw new UserError(`${from} is ${value.length} characters long (at most ${max}): check that the right value is passed.`)
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) {
      throw new UserError(`${from} contains a line break or control character: pass it as a single line.`)
    }
    return { value, from, name: bare }
  }
}

/** `OS_REGION_NAME of the job env`: a shadowed value's origin, for an override note. */
function describe(value: Sourced, layer: Layer): string {
  return layer === 'env' ? `${value.from} of the job env` : value.from
}

/** A pasted secret often carries a trailing newline; inner and edge spaces may be real. */
function trimLineEnds(value: string): string {
  return value.replace(/^[\r\n]+|[\r\n]+$/g, '')
}

/** The secret values the step can read, to be masked before the first line is printed. */
export function secretValues(source: ConfigSource): string[] {
  const values = new Set<string>()
  for (const name of SECRET_INPUTS) {
    const variables = INPUT_FALLBACKS[name]
    const raws = [source.input(name), ...variables.map(v => source.env[v] ?? ''), ...variables.map(v => source.file?.variables[v] ?? '')]
    for (const raw of raws) {
      const value = trimLineEnds(raw)
      if (value.trim() !== '') values.add(value)
    }
  }
  return [...values]
}

export function resolveConfig(source: ConfigSource): ActionConfig {
  const read = new Reader(source, source.file)
  const warnings: string[] = []

  const authUrlValue = read.get('auth-url')
  if (!authUrlValue) {
    throw new UserError('No Keystone URL: set the `auth-url` input or the OS_AUTH_URL variable, e.g. https://auth.cloud.ovh.net/v3.')
  }
  const authUrl = normalizeAuthUrl(authUrlValue.value, authUrlValue.from)
  const tls = resolveTls(read, source)
  // Through the reader like every other value: trimmed, bounded, and one line (they are quoted back).
  const pacing = resolvePacing({
    jobIndex: read.get('job-index')?.value,
    jobTotal: read.get('job-total')?.value,
    rateLimit: read.get('rate-limit')?.value
  })
  if (new URL(authUrl).protocol === 'http:' && !isLoopback(authUrl)) {
    if (!tls.allowInsecureHttp) {
      throw new UserError(
        `${authUrlValue.from} uses plain http to ${new URL(authUrl).host}: the password and the token would cross the network unencrypted; use https, or set allow-insecure-http: true if you must.`
      )
    }
    warnings.push(`auth-url ${authUrl} uses plain http (allow-insecure-http: true): the credentials and the token cross the network unencrypted.`)
  }

  const scopeGroup = read.group(['project-id', 'project-name', 'domain-id', 'domain-name', 'system-scope'])
  const scopeValues = scopeGroup.values
  const hasProject = Boolean(scopeValues['project-id'] ?? scopeValues['project-name'])
  const hasDomain = Boolean(scopeValues['domain-id'] ?? scopeValues['domain-name'])
  // openstacksdk reads OS_DOMAIN_* next to a project as the default domain of the user and the
  // project, not as a second scope; an OpenRC in the job's env keeps meaning what it meant there.
  const defaultDomain =
    scopeGroup.layer === 'env' && hasProject && hasDomain ? domainRef(scopeValues['domain-id'], scopeValues['domain-name']) : undefined

  const userDomain = domainRefOf(read.group(['user-domain-id', 'user-domain-name']).values, 'user-domain') ?? defaultDomain
  const credentials = resolveCredentials(read, source, userDomain, authUrl)

  let scope: Scope
  if (credentials.method === 'application-credential') {
    // Keystone refuses a scope with an application credential: its token is bound to the
    // credential's project. A scope the step asked for explicitly is worth a word.
    if (scopeGroup.layer === 'input') {
      const names = Object.values(scopeValues).map(v => (v as Sourced).from)
      warnings.push(`${names.join(', ')} ignored: a token from an application credential is always scoped to the credential's own project.`)
    }
    scope = { kind: 'default' }
  } else {
    scope = resolveScope(read, scopeGroup, defaultDomain, userDomain, credentials.method === 'password' ? credentials.user : undefined)
  }

  const regionValue = read.get('region')
  const endpointInterface = resolveInterface(read.get('interface'))

  return {
    authUrl,
    credentials,
    scope,
    ...(regionValue !== undefined && { region: regionValue.value, regionFrom: regionValue.from }),
    ...(endpointInterface !== undefined && { interface: endpointInterface }),
    revoke: resolveBoolean(read.fromInput('revoke'), true),
    exportEnv: resolveBoolean(read.fromInput('export-env'), true),
    timing: resolveTiming(source),
    tokenUse: resolveTokenUse(read.fromInput('token-use'), credentials.method),
    ...(pacing && { pacing }),
    tls,
    warnings,
    overrides: read.overrides,
    allowUnscoped: resolveBoolean(read.fromInput('allow-unscoped'), false),
    diagnoseRefusal: resolveBoolean(read.fromInput('diagnose-refusal'), true),
    ...(scope.kind === 'default' && credentials.method !== 'application-credential' && { blankScope: blankScope(source) })
  }
}

const SCOPE_INPUTS = ['project-id', 'project-name', 'domain-id', 'domain-name', 'system-scope'] as const satisfies readonly InputName[]

function blankScope(source: ConfigSource): BlankScope {
  const setButEmpty: string[] = []
  for (const name of SCOPE_INPUTS) {
    for (const variable of INPUT_FALLBACKS[name]) {
      const inFile = source.file?.variables[variable]
      if (inFile !== undefined && inFile.trim() === '') setButEmpty.push(`${variable} from ${source.file!.label}`)
      const inEnv = source.env[variable]
      if (inEnv !== undefined && inEnv.trim() === '' && !source.file?.unset.includes(variable)) setButEmpty.push(`${variable} of the job env`)
    }
  }
  return { inputs: SCOPE_INPUTS.map(name => `\`${name}\``), setButEmpty }
}

function domainRef(id: Sourced | undefined, name: Sourced | undefined): DomainRef | undefined {
  if (id) return { id: id.value }
  if (name) return { name: name.value }
  return undefined
}

function domainRefOf(values: Partial<Record<string, Sourced>>, prefix: 'user-domain' | 'project-domain'): DomainRef | undefined {
  return domainRef(values[`${prefix}-id`], values[`${prefix}-name`])
}

const AUTH_TYPE_METHODS: Record<string, AuthMethod> = {
  password: 'password',
  v3password: 'password',
  v3applicationcredential: 'application-credential',
  applicationcredential: 'application-credential',
  application_credential: 'application-credential',
  'application-credential': 'application-credential'
}

function resolveAuthMethod(read: Reader, source: ConfigSource): AuthMethod {
  const explicit = read.fromInput('auth-method')
  if (explicit) {
    if (explicit.value === 'password' || explicit.value === 'application-credential' || explicit.value === 'oidc') return explicit.value
    throw new UserError(`input \`auth-method\` is "${explicit.value}": use password, application-credential or oidc.`)
  }
  const authType = (source.file?.variables.OS_AUTH_TYPE ?? source.env.OS_AUTH_TYPE ?? '').trim().toLowerCase()
  const fromAuthType = Object.hasOwn(AUTH_TYPE_METHODS, authType) ? AUTH_TYPE_METHODS[authType] : undefined
  if (fromAuthType) return fromAuthType

  const password = read.get('password')
  const secret = read.get('application-credential-secret')
  if (password && secret) {
    throw new UserError(
      `Both a password (${password.from}) and an application credential secret (${secret.from}) are set: choose one with the \`auth-method\` input (password or application-credential).`
    )
  }
  if (secret) return 'application-credential'
  if (password) return 'password'
  if (source.file?.passwordPrompt) return 'password'
  // An identity provider and no secret at all: the keyless login is what is meant.
  if (read.get('identity-provider')) return 'oidc'
  throw new UserError(
    'No credentials: set `password` (or OS_PASSWORD) with `username` or `user-id`, or `application-credential-id` and `application-credential-secret` (or their OS_APPLICATION_CREDENTIAL_* variables), or `identity-provider` for a keyless login.'
  )
}

function resolveUser(read: Reader, userDomain: DomainRef | undefined, purpose: string): UserRef | undefined {
  const { values } = read.group(['user-id', 'username'])
  if (values['user-id']) return { id: values['user-id'].value }
  const name = values.username
  if (!name) return undefined
  if (!userDomain) {
    throw new UserError(
      `${name.from} names a user, but ${purpose} also needs the user's domain: set \`user-domain-name\` (OS_USER_DOMAIN_NAME) or \`user-domain-id\` (OS_USER_DOMAIN_ID); many clouds use Default.`
    )
  }
  return { name: name.value, domain: userDomain }
}

function resolveCredentials(read: Reader, source: ConfigSource, userDomain: DomainRef | undefined, authUrl: string): Credentials {
  const method = resolveAuthMethod(read, source)
  if (method === 'oidc') {
    const identityProvider = read.get('identity-provider')
    if (!identityProvider) {
      throw new UserError(
        'auth-method is oidc but no identity provider is set: set `identity-provider` (OS_IDENTITY_PROVIDER) to the id Keystone gave the GitHub provider.'
      )
    }
    return {
      method,
      identityProvider: identityProvider.value,
      protocol: read.get('protocol')?.value ?? 'openid',
      // The relying party is Keystone itself: operators require this audience (docs/oidc-operator-guide.md).
      audience: read.fromInput('audience')?.value ?? authUrl
    }
  }
  if (method === 'password') {
    const password = read.get('password')
    if (!password) {
      if (source.file?.passwordPrompt) {
        throw new UserError(
          `${source.file.label} asks for the password interactively, which no one can answer on a runner: pass it with the \`password\` input (or OS_PASSWORD) from a secret.`
        )
      }
      throw new UserError('auth-method is password but no password is set: set the `password` input or OS_PASSWORD.')
    }
    const user = resolveUser(read, userDomain, 'a password login')
    if (!user) {
      throw new UserError(
        'A password login needs a user: set `user-id` (OS_USER_ID), or `username` (OS_USERNAME) with `user-domain-name` (OS_USER_DOMAIN_NAME).'
      )
    }
    return { method, user, password: password.value }
  }

  const secret = read.get('application-credential-secret')
  if (!secret) {
    throw new UserError(
      'auth-method is application-credential but no secret is set: set `application-credential-secret` or OS_APPLICATION_CREDENTIAL_SECRET.'
    )
  }
  const { values } = read.group(['application-credential-id', 'application-credential-name'])
  if (values['application-credential-id']) {
    return { method, id: values['application-credential-id'].value, secret: secret.value }
  }
  const name = values['application-credential-name']
  if (!name) {
    throw new UserError(
      `${secret.from} is set without the credential it belongs to: set \`application-credential-id\` (OS_APPLICATION_CREDENTIAL_ID).`
    )
  }
  const user = resolveUser(read, userDomain, 'an application credential given by name')
  if (!user) {
    throw new UserError(
      `${name.from} names an application credential, which Keystone looks up per user: also set \`user-id\` or \`username\` with \`user-domain-name\`, or use \`application-credential-id\` instead.`
    )
  }
  return { method, name: name.value, user, secret: secret.value }
}

type ScopeInput = 'project-id' | 'project-name' | 'domain-id' | 'domain-name' | 'system-scope'
type ScopeGroup = { layer: Layer; values: Partial<Record<ScopeInput, Sourced>> }

function resolveScope(
  read: Reader,
  scopeGroup: ScopeGroup,
  defaultDomain: DomainRef | undefined,
  userDomain: DomainRef | undefined,
  user: UserRef | undefined
): Scope {
  const v = scopeGroup.values
  const project = v['project-id'] ?? v['project-name']
  const domain = v['domain-id'] ?? v['domain-name']
  const system = v['system-scope']

  if (system) {
    if (system.value.toLowerCase() !== 'all') {
      throw new UserError(`${system.from} is "${system.value}": the only system scope Keystone knows is all.`)
    }
    const other = project ?? domain
    if (other) {
      throw new UserError(`Two scopes were asked for, ${system.from} and ${other.from}: a token has one scope, so keep only one.`)
    }
    return { kind: 'system' }
  }
  if (project && domain && scopeGroup.layer === 'input') {
    throw new UserError(
      `Two scopes were asked for, ${project.from} and ${domain.from}: a token has one scope; for a project in a domain use \`project-domain-name\` or \`project-domain-id\`.`
    )
  }
  if (project) {
    if (v['project-id']) return { kind: 'project', project: { id: v['project-id'].value } }
    const projectDomain = domainRefOf(read.group(['project-domain-id', 'project-domain-name']).values, 'project-domain')
    // A project name is unique only within its domain; the user's own domain is the usual home.
    const domainOfProject = projectDomain ?? defaultDomain ?? (user && 'domain' in user ? user.domain : userDomain)
    if (!domainOfProject) {
      throw new UserError(
        `${project.from} names a project, which Keystone looks up per domain: set \`project-domain-name\` (OS_PROJECT_DOMAIN_NAME) or \`project-domain-id\`, or use \`project-id\` instead.`
      )
    }
    return { kind: 'project', project: { name: project.value, domain: domainOfProject } }
  }
  if (domain) return { kind: 'domain', domain: domainRef(v['domain-id'], v['domain-name']) as DomainRef }
  return { kind: 'default' }
}

/**
 * A token from an application credential cannot be exchanged (Keystone refuses to make a token
 * from a delegated one), so `direct` is its only working mode and its default.
 */
function resolveTokenUse(value: Sourced | undefined, method: AuthMethod): TokenUse {
  // A federated token can be exchanged like a password one: exchange stays its default.
  if (!value) return method === 'application-credential' ? 'direct' : 'exchange'
  if (value.value === 'exchange' || value.value === 'direct') return value.value
  throw new UserError(`${value.from} is "${value.value}": use exchange or direct.`)
}

const INTERFACES: Record<string, string> = {
  public: 'public',
  publicurl: 'public',
  internal: 'internal',
  internalurl: 'internal',
  admin: 'admin',
  adminurl: 'admin'
}

function resolveInterface(value: Sourced | undefined): string | undefined {
  if (!value) return undefined
  const key = value.value.toLowerCase()
  const known = Object.hasOwn(INTERFACES, key) ? INTERFACES[key] : undefined
  if (!known) throw new UserError(`${value.from} is "${value.value}": use public, internal or admin.`)
  return known
}

function resolveTls(read: Reader, source: ConfigSource): TlsSettings {
  // A PEM is many lines long: it is read as it is, not through the single-line checks.
  const pem = source.input('cacert').trim()
  let cacert: TlsSettings['cacert']
  if (pem.includes('-----BEGIN')) {
    cacert = { pem, from: 'input `cacert`' }
  } else {
    const path = read.get('cacert')
    if (path) cacert = { path: path.value, from: path.from }
  }
  return {
    ...(cacert && { cacert }),
    insecure: resolveBoolean(read.get('insecure'), false),
    allowInsecureHttp: resolveBoolean(read.fromInput('allow-insecure-http'), false)
  }
}

/** What a job that uses a shared token still decides itself: where later steps go, how to connect. */
export type JobSettings = Pick<ActionConfig, 'region' | 'regionFrom' | 'interface' | 'exportEnv' | 'timing' | 'tls' | 'tokenUse'>

/** `method`: how the shared token was issued (an application credential's cannot be exchanged). */
export function resolveJobSettings(source: ConfigSource, method: AuthMethod): JobSettings {
  const read = new Reader(source, source.file)
  const regionValue = read.get('region')
  const endpointInterface = resolveInterface(read.get('interface'))
  return {
    ...(regionValue !== undefined && { region: regionValue.value, regionFrom: regionValue.from }),
    ...(endpointInterface !== undefined && { interface: endpointInterface }),
    exportEnv: resolveBoolean(read.fromInput('export-env'), true),
    timing: resolveTiming(source),
    tls: resolveTls(read, source),
    tokenUse: resolveTokenUse(read.fromInput('token-use'), method)
  }
}

/** `max-wait`, `outage-wait` and `timeout`, read on their own so that the post step can use them too. */
export function resolveTiming(source: ConfigSource): Timing {
  const read = new Reader(source)
  return {
    maxWaitMs: resolveDuration(read.fromInput('max-wait'), DEFAULT_TIMING.maxWaitMs, 0, 6 * 3_600_000),
    outageWaitMs: resolveDuration(read.fromInput('outage-wait'), DEFAULT_TIMING.outageWaitMs, 0, 6 * 3_600_000),
    timeoutMs: resolveDuration(read.fromInput('timeout'), DEFAULT_TIMING.timeoutMs, 1000, 600_000)
  }
}

function resolveDuration(value: Sourced | undefined, fallback: number, minMs: number, maxMs: number): number {
  if (!value) return fallback
  const ms = parseDuration(value.value)
  if (ms === undefined || ms < minMs || ms > maxMs) {
    throw new UserError(
      `${value.from} is "${value.value}": give a duration between ${minMs / 1000} s and ${maxMs / 60_000} min, as seconds (90) or with a unit (90s, 5m, 1h).`
    )
  }
  return ms
}

/** The YAML 1.2 core schema's booleans, which is what `@actions/core`'s getBooleanInput accepts. */
function resolveBoolean(value: Sourced | undefined, fallback: boolean): boolean {
  if (!value) return fallback
  if (['true', 'True', 'TRUE'].includes(value.value)) return true
  if (['false', 'False', 'FALSE'].includes(value.value)) return false
  throw new UserError(`${value.from} is "${value.value}": use true or false.`)
}
