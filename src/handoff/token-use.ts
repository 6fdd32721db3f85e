import type { Sourced } from '../config/reader.js'
import type { TokenUse } from '../config/types.js'
import { UserError } from '../errors.js'

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
