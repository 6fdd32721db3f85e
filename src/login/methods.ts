import { applicationCredentialLogin } from './application-credential.js'
import type { LoginMethod } from './method.js'
import { oidcLogin } from './oidc.js'
import { oidcClientLogin } from './oidc-client.js'
import { passwordLogin } from './password.js'
import type { AuthMethod, Credentials, TokenUse } from '../config/types.js'

/**
 * The ways to log in, in the order the configuration weighs their evidence when `auth-method` is
 * not given. A new way is a module of this folder (method.ts) and one line here.
 */
const METHODS: { [M in AuthMethod]: LoginMethod<Extract<Credentials, { method: M }>> } = {
  password: passwordLogin,
  'application-credential': applicationCredentialLogin,
  // Before keyless login: an identity provider with a client id means the client.
  'oidc-client': oidcClientLogin,
  oidc: oidcLogin
}

export const LOGIN_METHODS: readonly LoginMethod[] = Object.values(METHODS) as LoginMethod[]

export function isAuthMethod(name: string): name is AuthMethod {
  return Object.hasOwn(METHODS, name)
}

/** The method of some credentials, typed for them. */
export function loginMethodOf<C extends Credentials>(credentials: C): LoginMethod<C> {
  return METHODS[credentials.method as AuthMethod] as unknown as LoginMethod<C>
}

export function loginMethodNamed(name: AuthMethod): LoginMethod {
  return METHODS[name] as LoginMethod
}

/**
 * How later steps use a token that another job issued, from the `methods` Keystone lists in it:
 * the default of the method that issued it (`direct` for every method of this action), `exchange`
 * for a token of a method this action does not know.
 */
export function defaultTokenUseOf(tokenMethods: readonly string[] | undefined): TokenUse {
  const direct = LOGIN_METHODS.some(method => method.defaultTokenUse === 'direct' && method.tokenMethods.some(name => tokenMethods?.includes(name)))
  return direct ? 'direct' : 'exchange'
}
