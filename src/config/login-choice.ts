import type { ConfigSource, InputName } from './inputs.js'
import type { Reader, Sourced } from './reader.js'
import type { Credentials, DomainRef, TokenUse } from './types.js'
import { UserError } from '../errors.js'

/**
 * What the configuration asks of a way to log in: its names, and how it finds and reads its
 * credentials. The login methods of src/login/ implement it (LoginMethod adds how to log in) and
 * the steps hand them to resolveConfig, so that this folder depends on none of the folders above it.
 */
export interface CredentialResolver<C extends Credentials = Credentials> {
  /** Its `auth-method` value. */
  readonly name: C['method']
  /** OS_AUTH_TYPE values (lower case) of OpenRC files and clouds.yaml that mean this method. */
  readonly authTypes: readonly string[]
  /** Its inputs that hold secrets (each also in SECRET_INPUTS: masked before the first log line). */
  readonly secretInputs: readonly InputName[]
  /** False when Keystone refuses a scope with it (an application credential is bound to its project). */
  readonly scoped: boolean
  /** How later steps use its token unless `token-use` says otherwise. */
  readonly defaultTokenUse: TokenUse
  /** What to set, as the "No credentials" error lists the ways to log in. */
  readonly howToSet: string
  /**
   * What shows that the job means this method when `auth-method` does not say: its secret (two
   * secrets of different methods are a contradiction), or a weaker hint.
   */
  evidence(read: Reader, source: ConfigSource): { secret: Sourced; what: string } | { hint: true } | undefined
  /** Its credentials from the configuration, or a UserError that names what is missing. */
  resolve(read: Reader, context: ResolveContext): C
}

export interface ResolveContext {
  source: ConfigSource
  /** The user's domain as the configuration found it (`user-domain-*`, or an OpenRC's default domain). */
  userDomain: DomainRef | undefined
  /** The Keystone v3 URL (keyless login's default audience). */
  authUrl: string
}

/**
 * Which way to log in: `auth-method`, else the OpenRC's `OS_AUTH_TYPE`, else the evidence each
 * method finds (its secret, or a hint such as an identity provider with no secret at all).
 */
export function chooseLoginMethod<M extends CredentialResolver>(read: Reader, source: ConfigSource, methods: readonly M[]): M {
  const names = methods.map(method => method.name)
  const explicit = read.fromInput('auth-method')
  if (explicit) {
    const named = methods.find(method => method.name === explicit.value)
    if (named) return named
    throw new UserError(`input \`auth-method\` is "${explicit.value}": use ${names.slice(0, -1).join(', ')} or ${names.at(-1)}.`)
  }
  const authType = (source.file?.variables.OS_AUTH_TYPE ?? source.env.OS_AUTH_TYPE ?? '').trim().toLowerCase()
  const fromAuthType = methods.find(method => method.authTypes.includes(authType))
  if (fromAuthType) return fromAuthType

  const evidence = methods.map(method => ({ method, found: method.evidence(read, source) }))
  const secrets = evidence.flatMap(({ method, found }) => (found && 'secret' in found ? [{ method, ...found }] : []))
  if (secrets.length > 1) {
    const [a, b] = secrets as [(typeof secrets)[0], (typeof secrets)[0]]
    throw new UserError(
      `Both ${a.what} (${a.secret.from}) and ${b.what} (${b.secret.from}) are set: choose one with the \`auth-method\` input (${a.method.name} or ${b.method.name}).`
    )
  }
  const chosen = secrets[0]?.method ?? evidence.find(({ found }) => found)?.method
  if (chosen) return chosen
  throw new UserError(`No credentials: set ${methods.map(method => method.howToSet).join(', or ')}.`)
}
