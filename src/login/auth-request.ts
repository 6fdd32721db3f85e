import type { Scope } from '../config/types.js'

/** The body of `POST /v3/auth/tokens` for an identity. It holds a secret: it is sent, never logged. */
export function loginBody(identity: object, scope: Scope): { auth: object } {
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
