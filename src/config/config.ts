import { normalizeAuthUrl, plainHttpWarning } from './auth-url.js'
import type { ConfigSource } from './inputs.js'
import { domainRef, domainRefOf, Reader, resolveBoolean, resolveDuration, type Sourced } from './reader.js'
import { blankScope, resolveScope } from './scope.js'
import type { ActionConfig, AuthMethod, Credentials, JobSettings, Scope, SharingSettings, TokenUse } from './types.js'
import { UserError } from '../errors.js'
import { resolveTokenUse } from '../handoff/token-use.js'
import { resolveInterface } from '../keystone/catalog.js'
import type { LoginMethod } from '../login/method.js'
import { isAuthMethod, LOGIN_METHODS, loginMethodNamed, loginMethodOf } from '../login/methods.js'
import { resolvePacing } from '../net/pacing.js'
import { resolveTiming } from '../net/retry.js'
import { resolveTls } from '../net/tls.js'

/**
 * Resolving what the user asked for, from the step's inputs and the job's OpenRC (`OS_*`)
 * environment, into one validated configuration. Nothing here talks to the network or logs. Each
 * policy is decided beside what it governs (the login method in src/login/, TLS and timing in
 * src/net/, token use in src/handoff/); this module puts them together.
 */

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
  const plainHttp = plainHttpWarning(authUrl, authUrlValue.from, tls.allowInsecureHttp)
  if (plainHttp) warnings.push(plainHttp)

  const scopeGroup = read.group(['project-id', 'project-name', 'domain-id', 'domain-name', 'system-scope'])
  const scopeValues = scopeGroup.values
  const hasProject = Boolean(scopeValues['project-id'] ?? scopeValues['project-name'])
  const hasDomain = Boolean(scopeValues['domain-id'] ?? scopeValues['domain-name'])
  // openstacksdk reads OS_DOMAIN_* next to a project as the default domain of the user and the
  // project, not as a second scope; an OpenRC in the job's env keeps meaning what it meant there.
  const defaultDomain =
    scopeGroup.layer === 'env' && hasProject && hasDomain ? domainRef(scopeValues['domain-id'], scopeValues['domain-name']) : undefined

  const userDomain = domainRefOf(read.group(['user-domain-id', 'user-domain-name']).values, 'user-domain') ?? defaultDomain
  const method = loginMethodNamed(resolveAuthMethod(read, source))
  const credentials: Credentials = method.resolve(read, { source, userDomain, authUrl })

  let scope: Scope
  if (!method.scoped) {
    // Keystone refuses a scope with such a login: its token is bound to the credential's project.
    // A scope the step asked for explicitly is worth a word.
    if (scopeGroup.layer === 'input') {
      const names = Object.values(scopeValues).map(v => (v as Sourced).from)
      warnings.push(`${names.join(', ')} ignored: a token from an application credential is always scoped to the credential's own project.`)
    }
    scope = { kind: 'default' }
  } else {
    scope = resolveScope(read, scopeGroup, defaultDomain, userDomain, 'user' in credentials ? credentials.user : undefined)
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
    tokenUse: resolveTokenUse(read.fromInput('token-use'), loginMethodOf(credentials).defaultTokenUse),
    ...(pacing && { pacing }),
    tls,
    warnings,
    overrides: read.overrides,
    allowUnscoped: resolveBoolean(read.fromInput('allow-unscoped'), false),
    diagnoseRefusal: resolveBoolean(read.fromInput('diagnose-refusal'), true),
    ...(scope.kind === 'default' && method.scoped && { blankScope: blankScope(source) })
  }
}

/**
 * Which way to log in: `auth-method`, else the OpenRC's `OS_AUTH_TYPE`, else the evidence each
 * method finds (its secret, or a hint such as an identity provider with no secret at all).
 */
function resolveAuthMethod(read: Reader, source: ConfigSource): AuthMethod {
  const names = LOGIN_METHODS.map(method => method.name)
  const explicit = read.fromInput('auth-method')
  if (explicit) {
    if (isAuthMethod(explicit.value)) return explicit.value
    throw new UserError(`input \`auth-method\` is "${explicit.value}": use ${names.slice(0, -1).join(', ')} or ${names.at(-1)}.`)
  }
  const authType = (source.file?.variables.OS_AUTH_TYPE ?? source.env.OS_AUTH_TYPE ?? '').trim().toLowerCase()
  const fromAuthType = LOGIN_METHODS.find(method => method.authTypes.includes(authType))
  if (fromAuthType) return fromAuthType.name

  const evidence = LOGIN_METHODS.map(method => ({ method, found: method.evidence(read, source) }))
  const secrets = evidence.flatMap(({ method, found }) => (found && 'secret' in found ? [{ method, ...found }] : []))
  if (secrets.length > 1) {
    const [a, b] = secrets as [(typeof secrets)[0], (typeof secrets)[0]]
    throw new UserError(
      `Both ${a.what} (${a.secret.from}) and ${b.what} (${b.secret.from}) are set: choose one with the \`auth-method\` input (${a.method.name} or ${b.method.name}).`
    )
  }
  const chosen: LoginMethod | undefined = secrets[0]?.method ?? evidence.find(({ found }) => found)?.method
  if (chosen) return chosen.name
  throw new UserError(`No credentials: set ${LOGIN_METHODS.map(method => method.howToSet).join(', or ')}.`)
}

/** `method`'s default token use: how the shared token was issued (an application credential's cannot be exchanged). */
export function resolveJobSettings(source: ConfigSource, defaultTokenUse: TokenUse): JobSettings {
  const read = new Reader(source, source.file)
  const regionValue = read.get('region')
  const endpointInterface = resolveInterface(read.get('interface'))
  return {
    ...(regionValue !== undefined && { region: regionValue.value, regionFrom: regionValue.from }),
    ...(endpointInterface !== undefined && { interface: endpointInterface }),
    exportEnv: resolveBoolean(read.fromInput('export-env'), true),
    timing: resolveTiming(source),
    tls: resolveTls(read, source),
    tokenUse: resolveTokenUse(read.fromInput('token-use'), defaultTokenUse)
  }
}
