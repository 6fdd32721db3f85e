import type { Credentials, DomainRef, UserRef } from '../config/config.js'

type PasswordCredentials = Extract<Credentials, { method: 'password' }>

/** The `identity` part of a Keystone v3 password login. */
export function passwordIdentity(credentials: PasswordCredentials): object {
  return {
    methods: ['password'],
    password: { user: { ...userBody(credentials.user), password: credentials.password } }
  }
}

/** A user by id, or by name within its domain: the shape both login methods share. */
export function userBody(user: UserRef): { id: string } | { name: string; domain: DomainRef } {
  return 'id' in user ? { id: user.id } : { name: user.name, domain: user.domain }
}
