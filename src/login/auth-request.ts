import { applicationCredentialIdentity } from './application-credential.js'
import { passwordIdentity } from './password.js'
import type { Credentials, Scope } from '../config/config.js'

/** The body of `POST /v3/auth/tokens`. It holds a secret: it is sent, never logged. */
export function authRequestBody(credentials: Exclude<Credentials, { method: 'oidc' }>, scope: Scope): object {
  const identity = credentials.method === 'password' ? passwordIdentity(credentials) : applicationCredentialIdentity(credentials)
  const scopeBody = scopeRequest(scope)
  return { auth: { identity, ...(scopeBody !== undefined && { scope: scopeBody }) } }
}

/** The `scope` part of a login; none for `default`, where Keystone picks. */
export function scopeRequest(scope: Scope): object | undefined {
  switch (scope.kind) {
    case 'project':
      return { project: scope.project }
    case 'domain':
      return { domain: scope.domain }
    case 'system':
      return { system: { all: true } }
    case 'default':
      return undefined
  }
}
