/**
 * The input catalogue: every input of action.yml with the OpenRC variables it falls back to, which
 * of them hold secrets, and where values come from. A new input goes here and into action.yml.
 */

/** Each input and the OpenRC variables it falls back to, first non-empty one first. */
export const INPUT_FALLBACKS = {
  'auth-url': ['OS_AUTH_URL'],
  username: ['OS_USERNAME'],
  'user-id': ['OS_USER_ID'],
  password: ['OS_PASSWORD'],
  'user-domain-name': ['OS_USER_DOMAIN_NAME'],
  'user-domain-id': ['OS_USER_DOMAIN_ID'],
  'application-credential-id': ['OS_APPLICATION_CREDENTIAL_ID'],
  'application-credential-name': ['OS_APPLICATION_CREDENTIAL_NAME'],
  'application-credential-secret': ['OS_APPLICATION_CREDENTIAL_SECRET'],
  'project-id': ['OS_PROJECT_ID', 'OS_TENANT_ID'],
  'project-name': ['OS_PROJECT_NAME', 'OS_TENANT_NAME'],
  'project-domain-name': ['OS_PROJECT_DOMAIN_NAME'],
  'project-domain-id': ['OS_PROJECT_DOMAIN_ID'],
  'domain-name': ['OS_DOMAIN_NAME'],
  'domain-id': ['OS_DOMAIN_ID'],
  'system-scope': ['OS_SYSTEM_SCOPE'],
  region: ['OS_REGION_NAME'],
  interface: ['OS_INTERFACE'],
  'auth-method': [],
  revoke: [],
  'export-env': [],
  'max-wait': [],
  'outage-wait': [],
  timeout: [],
  openrc: [],
  'clouds-yaml': [],
  'secure-yaml': [],
  cloud: ['OS_CLOUD'],
  cacert: ['OS_CACERT'],
  insecure: ['OS_INSECURE'],
  'allow-insecure-http': [],
  'share-key': [],
  'shared-token': [],
  'min-validity': [],
  'allow-unscoped': [],
  'diagnose-refusal': [],
  validate: [],
  'revoke-shared': [],
  'token-use': [],
  'identity-provider': ['OS_IDENTITY_PROVIDER'],
  protocol: ['OS_PROTOCOL'],
  'client-id': ['OS_CLIENT_ID'],
  'client-secret': ['OS_CLIENT_SECRET'],
  'discovery-endpoint': ['OS_DISCOVERY_ENDPOINT'],
  'access-token-endpoint': ['OS_ACCESS_TOKEN_ENDPOINT'],
  'access-token-type': ['OS_ACCESS_TOKEN_TYPE'],
  'openid-scope': ['OS_OPENID_SCOPE'],
  audience: [],
  'job-index': [],
  'job-total': [],
  'rate-limit': []
} as const satisfies Record<string, readonly string[]>

export type InputName = keyof typeof INPUT_FALLBACKS

/** Inputs whose values are secrets: masked before anything is logged, never trimmed of spaces. */
export const SECRET_INPUTS = ['password', 'application-credential-secret', 'client-secret', 'share-key'] as const satisfies readonly InputName[]

/**
 * Where values come from, highest precedence first: the step's inputs (`with:`), a credential file
 * (the `openrc` or `clouds-yaml` input, or a clouds.yaml on disk named by OS_CLOUD), the job's env.
 */
export interface ConfigSource {
  input(name: InputName): string
  file?: CredentialFile
  env: Readonly<Record<string, string | undefined>>
}

/** A credential file read as the `OS_*` variables it stands for. */
export interface CredentialFile {
  /** How messages name it: "the `openrc` input", "clouds.yaml cloud \"ovh\"". */
  label: string
  variables: Record<string, string>
  /** Variables the file unsets: the job env's values of these are ignored. */
  unset: string[]
  /** The file prompts for the password: it must come from the `password` input or OS_PASSWORD. */
  passwordPrompt: boolean
  /** The cloud of a clouds.yaml it was read for (by `cloud` or OS_CLOUD). */
  cloud?: string
}

/** A pasted secret often carries a trailing newline; inner and edge spaces may be real. */
export function trimLineEnds(value: string): string {
  return value.replace(/^[\r\n]+|[\r\n]+$/g, '')
}

/** The secret values the step can read, to be masked before the first line is printed. */
export function secretValues(source: ConfigSource): string[] {
  const values = new Set<string>()
  for (const name of SECRET_INPUTS) {
    const variables = INPUT_FALLBACKS[name]
    const raws = [source.input(name), ...variables.map(v => source.env[v] ?? ''), ...variables.map(v => source.file?.variables[v] ?? '')]
    for (const raw of raws) {
      const value = trimLineEnds(raw)
      if (value.trim() !== '') values.add(value)
    }
  }
  return [...values]
}
