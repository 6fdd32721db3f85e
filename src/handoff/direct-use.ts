import * as path from 'node:path'
import { oneLine } from '../errors.js'
import { isObject, type Json } from '../json.js'
import { catalogEndpoints, catalogRegions, normalizeInterface, parseCatalog, type SelectedEndpoint } from '../keystone/catalog.js'
import { renderKeyringShim, SHIM_MARKER, tokenStateFileName } from './keyring-shim.js'
import type { FileWithMode } from '../runtime/files.js'

/**
 * Direct token use: the steps after the action use the job's token AS IT IS, with no Keystone
 * request per `openstack` command, instead of exchanging it for a new token on every command
 * (`OS_AUTH_TYPE=v3token`, which costs one POST /v3/auth/tokens per command, about nine per command
 * in the token's last two minutes, and fails with 403 for a token from an application credential).
 *
 * How: openstacksdk, through which the CLI, Ansible's openstack.cloud and scripts authenticate, can
 * load a token response (token + catalog) from its "auth cache" before it would log in. This module
 * prepares that cache for the job's token:
 *   - `<runnerTemp>/openstack-token/tokens/<sha256 of the token>.json` (0600): `{"auth_token": …,
 *     "body": …}`, what keystoneauth's get_auth_state() would save, from the raw body of POST
 *     /v3/auth/tokens, plus the auth URL and how long the token had left when it arrived. One file
 *     per login: two logins in one job each keep theirs, and a step that picks a token through a
 *     step's `token` output gets that token's own catalog;
 *   - `<runnerTemp>/openstack-token/python/keyring.py`: a `keyring` module on PYTHONPATH that hands
 *     the state of the token a command holds to openstacksdk (see keyring-shim.ts), with
 *     or without the real keyring package installed;
 *   - `<runnerTemp>/openstack-token/secure.json`: `{"cache": {"auth": true}}`, read through
 *     OS_CLIENT_SECURE_FILE, which merges into whatever clouds.yaml is found.
 * The usual token variables (OS_TOKEN, OS_AUTH_TYPE=v3token, the scope, …: tokenEnvironment) stay
 * as they are, so any tool or Python that does not take the cache falls back to exchanging the
 * token, exactly as without this module.
 *
 * Pure: it computes what to write and export; the caller writes the files (StepFiles.writeWithMode) before
 * exporting the variables.
 */

export interface DirectUseInput {
  /** The token (X-Subject-Token). */
  token: string
  /** When it arrived (runner's clock) and how long it then had left (Keystone's clock): Token. */
  receivedAt: Date
  validForMs: number
  /** The parsed JSON body of POST /v3/auth/tokens, issued WITH its catalog (no ?nocatalog). */
  tokenBody: unknown
  /** Keystone's v3 URL, as exported in OS_AUTH_URL. */
  authUrl: string
  /** OS_REGION_NAME as exported, if any: only used to check the catalog and describe the endpoints. */
  region?: string
  /** OS_INTERFACE as exported, if any (default `public`, like the clients). */
  interface?: string
  /** RUNNER_TEMP: the files go to `<runnerTemp>/openstack-token/`. */
  runnerTemp: string
  /**
   * The variables of the job as the main step sees them (process.env): PYTHONPATH is extended, not
   * replaced, and an OS_CLIENT_SECURE_FILE of the user's is left alone.
   */
  env?: Readonly<Record<string, string | undefined>>
  /** Path syntax of the runner: `win32` joins with `\` and separates PYTHONPATH with `;`. Default: this machine's. */
  platform?: 'posix' | 'win32'
}

export interface DirectUseSetup {
  /** To export AFTER tokenEnvironment()'s variables (same GITHUB_ENV), once the files are written. */
  env: Record<string, string>
  /** To write before exporting (StepFiles.writeWithMode). The state file holds the token: mode 0600. */
  files: FileWithMode[]
  /** The endpoints the clients will reach directly, for the log. */
  endpoints: SelectedEndpoint[]
  /** Sentences for the log: what will not work and why (warnings), and what was set up (notes). */
  warnings: string[]
  notes: string[]
}

/** The input cannot be used for direct use (a programming error of the caller, or a body that is not a token). */
export class DirectUseError extends Error {
  override name = 'DirectUseError'
}

export const DIRECTORY_NAME = 'openstack-token'
export const STATES_DIR_NAME = 'tokens'
export const SECURE_FILE_NAME = 'secure.json'
export const PYTHON_DIR_NAME = 'python'

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** The `token` object of a token body, with its catalog, or a DirectUseError saying what is missing. */
function tokenDocument(body: unknown): Json & { catalog: unknown[] } {
  if (!isObject(body) || !isObject(body.token)) {
    throw new DirectUseError('Direct token use needs the body of Keystone\'s token response ({"token": {…}}); got something else.')
  }
  const token = body.token
  if (!Array.isArray(token.catalog)) {
    throw new DirectUseError(
      "Direct token use needs the token's service catalog, and this token response has none: issue the token without ?nocatalog."
    )
  }
  if (!text(token.expires_at)) throw new DirectUseError('The token response has no expires_at.')
  return token as Json & { catalog: unknown[] }
}

/** PYTHONPATH with `entry` first, once, and the job's own entries after it, in their order. */
export function prependPath(entry: string, existing: string | undefined, delimiter: string): string {
  const rest = (existing ?? '').split(delimiter).filter(part => part !== '' && part !== entry)
  return [entry, ...rest].join(delimiter)
}

/** This machine's path syntax, by its PYTHONPATH separator (`path.delimiter`). */
export function hostPlatform(delimiter: string = path.delimiter): 'posix' | 'win32' {
  return delimiter === ';' ? 'win32' : 'posix'
}

export function directUseSetup(input: DirectUseInput): DirectUseSetup {
  if (!text(input.token)) throw new DirectUseError('Direct token use needs the token.')
  if (!text(input.runnerTemp)) throw new DirectUseError('Direct token use needs RUNNER_TEMP, where the token state is written.')
  const token = tokenDocument(input.tokenBody)
  // The runner's own syntax unless told otherwise: a Windows runner separates PYTHONPATH with `;`.
  const paths = (input.platform ?? hostPlatform()) === 'win32' ? path.win32 : path.posix
  const delimiter = paths.delimiter
  const env = input.env ?? {}

  const directory = paths.join(input.runnerTemp, DIRECTORY_NAME)
  const pythonDir = paths.join(directory, PYTHON_DIR_NAME)
  const statesDir = paths.join(directory, STATES_DIR_NAME)
  const secureFile = paths.join(directory, SECURE_FILE_NAME)
  const state = {
    // keystoneauth's own auth-state format: what BaseIdentityPlugin.get_auth_state() returns.
    auth_token: input.token,
    body: input.tokenBody,
    // For the shim alone: where to ask Keystone, and the token's life on the runner's clock.
    auth_url: input.authUrl,
    received_at: input.receivedAt.getTime() / 1000,
    valid_for: input.validForMs / 1000
  }

  const files: FileWithMode[] = [
    { path: paths.join(statesDir, tokenStateFileName(input.token)), content: JSON.stringify(state), mode: 0o600 },
    { path: paths.join(pythonDir, 'keyring.py'), content: renderKeyringShim(statesDir), mode: 0o644 },
    {
      path: paths.join(pythonDir, SHIM_MARKER),
      content: 'Marks the keyring shim of the openstack-token action (other copies skip this directory).\n',
      mode: 0o644
    },
    { path: secureFile, content: `${JSON.stringify({ cache: { auth: true } })}\n`, mode: 0o644 }
  ]

  const warnings: string[] = []
  const notes: string[] = []
  const exported: Record<string, string> = { PYTHONPATH: prependPath(pythonDir, env.PYTHONPATH, delimiter) }
  const userSecureFile = env.OS_CLIENT_SECURE_FILE?.trim()
  if (userSecureFile && userSecureFile !== secureFile) {
    warnings.push(
      `OS_CLIENT_SECURE_FILE is set (${userSecureFile}) and is left as it is: the token is used as it is only if that file says cache: {auth: true}; otherwise each command exchanges it as with token-use: exchange.`
    )
  } else {
    exported.OS_CLIENT_SECURE_FILE = secureFile
  }

  const endpoints = catalogEndpoints(token.catalog, { region: input.region, interface: input.interface })
  const wanted = `${oneLine(normalizeInterface(input.interface), 40)} endpoints${input.region?.trim() ? ` in region ${oneLine(input.region, 100)}` : ''}`
  if (token.catalog.length === 0) {
    warnings.push("the token's catalog is empty: Keystone lists no service this token may use, so service commands will fail.")
  } else if (endpoints.length === 0) {
    const regions = catalogRegions(parseCatalog(token.catalog) ?? [])
    warnings.push(
      `the token's catalog has no ${wanted}${regions.length > 0 ? ` (its regions: ${listed(regions)})` : ''}: service commands will fail; check region and interface.`
    )
  } else {
    notes.push(`openstack and openstacksdk use the token as it is, with its catalog (${wanted}): ${listed(endpoints.map(e => e.type))}.`)
    const identity = endpoints.find(e => e.type === 'identity')
    if (identity && versionless(identity.url) !== versionless(input.authUrl)) {
      notes.push(`Identity commands go to the catalog's identity endpoint ${oneLine(identity.url, 200)}, not to ${input.authUrl}.`)
    }
  }
  if (text(env.PYTHONPATH)) notes.push(`PYTHONPATH keeps the job's entries after the shim directory ${pythonDir}.`)
  notes.push(
    "A step whose env replaces PYTHONPATH, or a Python started with -E or -I, does not see the shim: its commands exchange the token (one Keystone request each; 403 for an application credential's token)."
  )

  return { env: exported, files, endpoints, warnings, notes }
}

/** At most LISTED names from Keystone's catalog, each one inert and bounded, and how many more there are. */
function listed(names: readonly string[]): string {
  const shown = names.slice(0, LISTED).map(name => oneLine(name, 60))
  return names.length > LISTED ? `${shown.join(', ')} and ${names.length - LISTED} more` : shown.join(', ')
}

const LISTED = 20

/** A Keystone URL without its trailing slash and /v3, for comparing catalog and auth-url. */
function versionless(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v3$/, '')
}
