import { logInWithIdentity } from './refusal.js'
import type { LoginMethod } from './method.js'
import { resolveUser } from '../config/reader.js'
import type { Credentials, DomainRef, UserRef } from '../config/types.js'
import { UserError } from '../errors.js'

type PasswordCredentials = Extract<Credentials, { method: 'password' }>

/** A user and a password: Keystone's `password` method, scoped as asked. */
export const passwordLogin: LoginMethod<PasswordCredentials> = {
  name: 'password',
  authTypes: ['password', 'v3password'],
  secretInputs: ['password'],
  scoped: true,
  defaultTokenUse: 'direct',
  tokenMethods: ['password'],
  howToSet: '`password` (or OS_PASSWORD) with `username` or `user-id`',

  evidence(read, source) {
    const password = read.get('password')
    if (password) return { secret: password, what: 'a password' }
    // Horizon's OpenRC asks for the password: the file means a password login.
    return source.file?.passwordPrompt ? { hint: true } : undefined
  },

  resolve(read, { source, userDomain }) {
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
    return { method: 'password', user, password: password.value }
  },

  logIn(credentials, context) {
    const user = 'id' in credentials.user ? 'user-id' : 'username with user-domain-name or user-domain-id'
    return logInWithIdentity(
      passwordIdentity(credentials),
      `check the user (${user}) and the password; a user locked out after too many failed logins, or disabled, is refused the same way`,
      context
    )
  }
}

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
