import type { ActionConfig } from '../config/types.js'
import { storageUrl } from '../keystone/catalog.js'
import type { Token } from '../keystone/token.js'

/**
 * What later steps see: the variables that make the `openstack` CLI, openstacksdk, Ansible and
 * Terraform use the token, and the ones that must go. A step cannot unset a variable for the
 * steps after it, only set it to '', which osc-lib and openstacksdk treat as unset.
 */

/** Login secrets and login-only settings: useless with a token, and several break it. */
const LOGIN_VARIABLES = [
  'OS_USERNAME',
  'OS_USER_ID',
  'OS_PASSWORD',
  // With a token plugin a non-empty user domain is fatal ("unexpected keyword argument").
  'OS_USER_DOMAIN_NAME',
  'OS_USER_DOMAIN_ID',
  'OS_APPLICATION_CREDENTIAL_ID',
  'OS_APPLICATION_CREDENTIAL_NAME',
  'OS_APPLICATION_CREDENTIAL_SECRET',
  'OS_TENANT_ID',
  'OS_TENANT_NAME',
  // An OIDC login's settings: the token plugin refuses them, and the secret must not reach later steps.
  'OS_CLIENT_ID',
  'OS_CLIENT_SECRET',
  'OS_IDENTITY_PROVIDER',
  'OS_PROTOCOL',
  'OS_DISCOVERY_ENDPOINT',
  'OS_ACCESS_TOKEN_ENDPOINT',
  'OS_ACCESS_TOKEN_TYPE',
  'OS_OPENID_SCOPE',
  // With OS_CLOUD set, openstacksdk reads clouds.yaml and ignores OS_TOKEN.
  'OS_CLOUD'
] as const

/** Every variable that names a scope; the token's own scope is re-exported, the rest blanked. */
const SCOPE_VARIABLES = [
  'OS_PROJECT_ID',
  'OS_PROJECT_NAME',
  'OS_PROJECT_DOMAIN_ID',
  'OS_PROJECT_DOMAIN_NAME',
  'OS_DOMAIN_ID',
  'OS_DOMAIN_NAME',
  'OS_SYSTEM_SCOPE'
] as const

/**
 * Blanked only when the job has it: openstacksdk hands any OS_PASSCODE, even '', to the auth
 * plugin, and the token plugins refuse it ("unexpected keyword argument 'passcode'").
 */
const BLANKED_ONLY_WHEN_SET = ['OS_PASSCODE'] as const

/** Name → value for GITHUB_ENV, where '' means "unset for later steps". */
export function tokenEnvironment(
  config: Pick<ActionConfig, 'authUrl' | 'region' | 'interface'>,
  token: Token,
  tls: { caFile?: string; insecure?: boolean } = {},
  jobEnv: Record<string, string | undefined> = {}
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of [...LOGIN_VARIABLES, ...SCOPE_VARIABLES]) env[name] = ''
  for (const name of BLANKED_ONLY_WHEN_SET) if (jobEnv[name]) env[name] = ''

  // The CLI needs the scope next to the token, or it re-authenticates unscoped and gets 403s.
  // Everything exported is what Keystone says the token has, not what was asked for.
  if (token.project) {
    env.OS_PROJECT_ID = token.project.id
    env.OS_PROJECT_NAME = token.project.name ?? ''
    env.OS_PROJECT_DOMAIN_ID = token.project.domain?.id ?? ''
  } else if (token.domain) {
    env.OS_DOMAIN_ID = token.domain.id
    env.OS_DOMAIN_NAME = token.domain.name ?? ''
  } else if (token.system) {
    env.OS_SYSTEM_SCOPE = 'all'
  }

  env.OS_AUTH_URL = config.authUrl
  // v3token, not token: the generic plugin runs version discovery on every call.
  env.OS_AUTH_TYPE = 'v3token'
  env.OS_TOKEN = token.value
  // The Swift clients (the `swift` CLI, rclone) never read OS_TOKEN: with OS_AUTH_TOKEN and
  // OS_STORAGE_URL both set they go straight to the object store, with no Keystone request.
  // Blank without an object store in the catalog, so a stale value from the job env cannot stay.
  env.OS_AUTH_TOKEN = token.value
  env.OS_STORAGE_URL = storageUrl(token.catalog, { region: config.region, interface: config.interface }) ?? ''
  env.OS_IDENTITY_API_VERSION = '3'
  if (config.region !== undefined) env.OS_REGION_NAME = config.region
  if (config.interface !== undefined) env.OS_INTERFACE = config.interface
  if (tls.caFile) env.OS_CACERT = tls.caFile
  if (tls.insecure) env.OS_INSECURE = 'true'
  return env
}
