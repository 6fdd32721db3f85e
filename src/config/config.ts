import { normalizeAuthUrl, plainHttpWarning } from './auth-url.js'
import type { ConfigSource } from './inputs.js'
import { domainRef, domainRefOf, Reader, resolveBoolean, resolveDuration, type Sourced } from './reader.js'
import { blankScope, resolveScope } from './scope.js'
import { resolveJobSettings } from './job-settings.js'
import { chooseLoginMethod, type CredentialResolver } from './login-choice.js'
import type { ActionConfig, Credentials, Scope, SharingSettings } from './types.js'
import { UserError } from '../errors.js'
import { resolvePacing } from '../net/pacing.js'

/**
 * Resolving what the user asked for, from the step's inputs and the job's OpenRC (`OS_*`)
 * environment, into one validated configuration. Nothing here talks to the network or logs. The
 * job's own settings (region, interface, token use, timing, TLS) are read in job-settings.ts; the
 * login methods (src/login/) are handed in, and each reads its own credentials
 * (login-choice.ts), so that this folder depends on none of the folders that use it.
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

export function resolveConfig(source: ConfigSource, methods: readonly CredentialResolver[]): ActionConfig {
  const read = new Reader(source, source.file)
  const warnings: string[] = []

  const authUrlValue = read.get('auth-url')
  if (!authUrlValue) {
    throw new UserError('No Keystone URL: set the `auth-url` input or the OS_AUTH_URL variable, e.g. https://auth.cloud.ovh.net/v3.')
  }
  const authUrl = normalizeAuthUrl(authUrlValue.value, authUrlValue.from)
  // Through the reader like every other value: trimmed, bounded, and one line (they are quoted back).
  const pacing = resolvePacing({
    jobIndex: read.get('job-index')?.value,
    jobTotal: read.get('job-total')?.value,
    rateLimit: read.get('rate-limit')?.value
  })
  const method = chooseLoginMethod(read, source, methods)
  const job = resolveJobSettings(source, method.defaultTokenUse, read)
  const plainHttp = plainHttpWarning(authUrl, authUrlValue.from, job.tls.allowInsecureHttp)
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

  return {
    authUrl,
    credentials,
    scope,
    ...job,
    revoke: resolveBoolean(read.fromInput('revoke'), true),
    ...(pacing && { pacing }),
    warnings,
    overrides: read.overrides,
    allowUnscoped: resolveBoolean(read.fromInput('allow-unscoped'), false),
    diagnoseRefusal: resolveBoolean(read.fromInput('diagnose-refusal'), true),
    ...(scope.kind === 'default' && method.scoped && { blankScope: blankScope(source) })
  }
}
