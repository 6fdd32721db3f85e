import type { Sourced } from '../config/reader.js'
import type { TokenUse } from '../config/types.js'
import { UserError } from '../errors.js'

/**
 * How later steps use the token (`token-use`): `exchange` (OS_AUTH_TYPE=v3token: each `openstack`
 * call trades it for its own, one Keystone request) or `direct` (openstacksdk's auth cache holds
 * it: none). The default is the login method's: a token from an application credential cannot be
 * exchanged (Keystone refuses to make a token from a delegated one), so `direct` is its only
 * working mode.
 */
export function resolveTokenUse(value: Sourced | undefined, fallback: TokenUse): TokenUse {
  if (!value) return fallback
  if (value.value === 'exchange' || value.value === 'direct') return value.value
  throw new UserError(`${value.from} is "${value.value}": use exchange or direct.`)
}
