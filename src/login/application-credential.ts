import type { Credentials } from '../config/config.js'
import { userBody } from './password.js'

type ApplicationCredentials = Extract<Credentials, { method: 'application-credential' }>

/** The `identity` part of a Keystone v3 application-credential login (by id, or by name + user). */
export function applicationCredentialIdentity(credentials: ApplicationCredentials): object {
  const credential =
    'id' in credentials
      ? { id: credentials.id, secret: credentials.secret }
      : { name: credentials.name, user: userBody(credentials.user), secret: credentials.secret }
  return { methods: ['application_credential'], application_credential: credential }
}
