import { userBody } from './password.js'
import { logInWithIdentity } from './refusal.js'
import type { LoginMethod } from './method.js'
import { resolveUser } from '../config/reader.js'
import type { Credentials } from '../config/types.js'
import { UserError } from '../errors.js'

type ApplicationCredentials = Extract<Credentials, { method: 'application-credential' }>

/**
 * An application credential (by id, or by name with its user). Keystone binds its token to the
 * credential's project and refuses to exchange it for another token: no scope is sent, and later
 * steps use it as it is (`token-use: direct`) by default.
 */
export const applicationCredentialLogin: LoginMethod<ApplicationCredentials> = {
  name: 'application-credential',
  authTypes: ['v3applicationcredential', 'applicationcredential', 'application_credential', 'application-credential'],
  secretInputs: ['application-credential-secret'],
  scoped: false,
  defaultTokenUse: 'direct',
  tokenMethods: ['application_credential'],
  howToSet: '`application-credential-id` and `application-credential-secret` (or their OS_APPLICATION_CREDENTIAL_* variables)',

  evidence(read) {
    const secret = read.get('application-credential-secret')
    return secret ? { secret, what: 'an application credential secret' } : undefined
  },

  resolve(read, { userDomain }) {
    const secret = read.get('application-credential-secret')
    if (!secret) {
      throw new UserError(
        'auth-method is application-credential but no secret is set: set `application-credential-secret` or OS_APPLICATION_CREDENTIAL_SECRET.'
      )
    }
    const { values } = read.group(['application-credential-id', 'application-credential-name'])
    if (values['application-credential-id']) {
      return { method: 'application-credential', id: values['application-credential-id'].value, secret: secret.value }
    }
    const name = values['application-credential-name']
    if (!name) {
      throw new UserError(
        `${secret.from} is set without the credential it belongs to: set \`application-credential-id\` (OS_APPLICATION_CREDENTIAL_ID).`
      )
    }
    const user = resolveUser(read, userDomain, 'an application credential given by name')
    if (!user) {
      throw new UserError(
        `${name.from} names an application credential, which Keystone looks up per user: also set \`user-id\` or \`username\` with \`user-domain-name\`, or use \`application-credential-id\` instead.`
      )
    }
    return { method: 'application-credential', name: name.value, user, secret: secret.value }
  },

  logIn(credentials, context) {
    return logInWithIdentity(
      applicationCredentialIdentity(credentials),
      'check application-credential-id (or -name with its user) and application-credential-secret, and that the credential has not expired or been deleted',
      context
    )
  }
}

/** The `identity` part of a Keystone v3 application-credential login (by id, or by name + user). */
export function applicationCredentialIdentity(credentials: ApplicationCredentials): object {
  const credential =
    'id' in credentials
      ? { id: credentials.id, secret: credentials.secret }
      : { name: credentials.name, user: userBody(credentials.user), secret: credentials.secret }
  return { methods: ['application_credential'], application_credential: credential }
}
