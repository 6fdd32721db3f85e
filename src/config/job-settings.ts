import type { ConfigSource } from './inputs.js'
import { Reader, resolveBoolean, resolveDuration, type Sourced } from './reader.js'
import type { JobSettings, Timing, TlsSettings, TokenUse } from './types.js'
import { UserError } from '../errors.js'
import { DEFAULT_TIMING } from '../net/retry.js'

/**
 * What a job decides for itself whoever issued its token: where later steps go (region,
 * interface), how they use the token, how the action connects (timing, TLS). The main step reads
 * it with the rest of its configuration; a job that uses a shared token reads only this.
 */

/** `defaultTokenUse`: the login method's, or how a shared token was issued (an application credential's cannot be exchanged). */
export function resolveJobSettings(source: ConfigSource, defaultTokenUse: TokenUse, read = new Reader(source, source.file)): JobSettings {
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

/** `max-wait`, `outage-wait` and `timeout`, read on their own so that the post step can use them too. */
export function resolveTiming(source: ConfigSource): Timing {
  const read = new Reader(source)
  return {
    maxWaitMs: resolveDuration(read.fromInput('max-wait'), DEFAULT_TIMING.maxWaitMs, 0, 6 * 3_600_000),
    outageWaitMs: resolveDuration(read.fromInput('outage-wait'), DEFAULT_TIMING.outageWaitMs, 0, 6 * 3_600_000),
    timeoutMs: resolveDuration(read.fromInput('timeout'), DEFAULT_TIMING.timeoutMs, 1000, 600_000)
  }
}

/** `cacert` (PEM text or a path), `insecure` and `allow-insecure-http`, as the user set them. */
export function resolveTls(read: Reader, source: ConfigSource): TlsSettings {
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

/** The `interface` input (OS_INTERFACE): public, internal or admin, with keystoneauth's old `…URL` spellings. */
const INTERFACES: Record<string, string> = {
  public: 'public',
  publicurl: 'public',
  internal: 'internal',
  internalurl: 'internal',
  admin: 'admin',
  adminurl: 'admin'
}

export function resolveInterface(value: Sourced | undefined): string | undefined {
  if (!value) return undefined
  const key = value.value.toLowerCase()
  const known = Object.hasOwn(INTERFACES, key) ? INTERFACES[key] : undefined
  if (!known) throw new UserError(`${value.from} is "${value.value}": use public, internal or admin.`)
  return known
}

/**
 * How later steps use the token (`token-use`): `direct` (the auth plugin `openstack-token` hands the
 * token as it is to keystoneauth: no Keystone request per call) or `exchange` (OS_AUTH_TYPE=v3token:
 * each call trades it for a token of its own, one Keystone request, and those tokens outlive the
 * job's revocation). The default is the login method's: `direct` for every method; an application
 * credential's token cannot be exchanged at all (Keystone refuses to make a token from a delegated one).
 */
export function resolveTokenUse(value: Sourced | undefined, fallback: TokenUse): TokenUse {
  if (!value) return fallback
  if (value.value === 'exchange' || value.value === 'direct') return value.value
  throw new UserError(`${value.from} is "${value.value}": use exchange or direct.`)
}
