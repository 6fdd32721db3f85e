import * as path from 'node:path'
import { oneLine } from '../errors.js'
import { isObject, type Json } from '../json.js'
import { catalogEndpoints, catalogRegions, normalizeInterface, parseCatalog, type SelectedEndpoint } from '../keystone/catalog.js'
import { AUTH_TYPE, pluginFiles, tokenStateFileName } from './auth-plugin.js'
import type { FileWithMode } from '../runtime/files.js'
import type { Token } from '../keystone/token.js'

/**
 * Direct token use: the steps after the action use the job's token AS IT IS, with no Keystone
 * request per `openstack` call, instead of exchanging it for a new token on every call
 * (`OS_AUTH_TYPE=v3token`: one POST /v3/auth/tokens per call, tokens that outlive the job's
 * revocation, and 403 for a token from an application credential).
 *
 * How: keystoneauth, through which the CLI, openstacksdk and Ansible's openstack.cloud
 * authenticate, loads the auth plugin named by OS_AUTH_TYPE through its entry points. This module
 * prepares, under `<runnerTemp>/openstack-token/`:
 *   - `python/`: the plugin `openstack-token` (auth-plugin.ts), put first on PYTHONPATH;
 *   - `tokens/<sha256 of the login's first token>.json` (0600): the token response (token and
 *     catalog) in keystoneauth's auth-state format, plus the auth URL and the token's life on the
 *     runner's clock (renderTokenState). One file per login: two logins in one job each keep
 *     theirs, and a step that sets OS_TOKEN from a step's `token` output gets that login's own
 *     catalog. A renewal replaces the file (same name, a newer token inside).
 * The other token variables (OS_TOKEN, the scope, OS_AUTH_TOKEN and OS_STORAGE_URL: tokenEnvironment)
 * stay, for the tools that read OS_TOKEN themselves (Terraform, swift, rclone).
 *
 * Pure but for reading the plugin's source: it computes what to write and export; the caller
 * writes the files before exporting anything.
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
  /** The variables of the job as the main step sees them (process.env): PYTHONPATH is extended, not replaced. */
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
export const PYTHON_DIR_NAME = 'python'

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/**
 * A token body as the plugin can serve it, or a DirectUseError saying what is missing. A catalog that
 * Keystone sent in a shape that is not a list is served as an empty one (keystoneauth cannot read it),
 * and `malformedCatalog` says so.
 */
function tokenDocument(body: unknown): { body: Json; token: Json & { catalog: unknown[] }; malformedCatalog: boolean } {
  if (!isObject(body) || !isObject(body.token)) {
    throw new DirectUseError('Direct token use needs the body of Keystone\'s token response ({"token": {…}}); got something else.')
  }
  const token = body.token
  if (!('catalog' in token)) {
    throw new DirectUseError(
      "Direct token use needs the token's service catalog, and this token response has none: issue the token without ?nocatalog."
    )
  }
  if (!text(token.expires_at)) throw new DirectUseError('The token response has no expires_at.')
  if (Array.isArray(token.catalog)) return { body, token: token as Json & { catalog: unknown[] }, malformedCatalog: false }
  const served = { ...token, catalog: [] }
  return { body: { ...body, token: served }, token: served, malformedCatalog: true }
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

/** What renderTokenState needs of a token: the token, its life, and Keystone's response WITH its catalog. */
export type TokenForState = Pick<Token, 'value' | 'receivedAt' | 'validForMs' | 'document'>

/**
 * A login's state file (`tokens/<tokenStateFileName(first token)>`), what the plugin serves:
 * `{"auth_token", "body"}` is keystoneauth's own auth-state format (get_auth_state()), `auth_url` is
 * where `openstack token issue` checks the token, `received_at` + `valid_for` its end on the runner's
 * clock. A renewal writes the same JSON for the new token under the first token's file name.
 */
export function renderTokenState(token: TokenForState, authUrl: string): string {
  if (!text(token.value)) throw new DirectUseError('Direct token use needs the token.')
  return JSON.stringify({
    auth_token: token.value,
    body: tokenDocument(token.document).body,
    auth_url: authUrl,
    received_at: token.receivedAt.getTime() / 1000,
    valid_for: token.validForMs / 1000
  })
}

/** Where a login's state lives: `<runnerTemp>/openstack-token/tokens/<sha256 of its first token>.json`. */
export function tokenStatePath(runnerTemp: string, firstToken: string, platform: 'posix' | 'win32' = hostPlatform()): string {
  const paths = platform === 'win32' ? path.win32 : path.posix
  return paths.join(runnerTemp, DIRECTORY_NAME, STATES_DIR_NAME, tokenStateFileName(firstToken))
}

export function directUseSetup(input: DirectUseInput): DirectUseSetup {
  if (!text(input.token)) throw new DirectUseError('Direct token use needs the token.')
  if (!text(input.runnerTemp)) throw new DirectUseError('Direct token use needs RUNNER_TEMP, where the token state is written.')
  const { token, malformedCatalog } = tokenDocument(input.tokenBody)
  // The runner's own syntax unless told otherwise: a Windows runner separates PYTHONPATH with `;`.
  const platform = input.platform ?? hostPlatform()
  const paths = platform === 'win32' ? path.win32 : path.posix
  const env = input.env ?? {}

  const pythonDir = paths.join(input.runnerTemp, DIRECTORY_NAME, PYTHON_DIR_NAME)
  const state = renderTokenState(
    { value: input.token, receivedAt: input.receivedAt, validForMs: input.validForMs, document: input.tokenBody },
    input.authUrl
  )
  const files: FileWithMode[] = [
    ...pluginFiles().map(file => ({ path: paths.join(pythonDir, ...file.name.split('/')), content: file.content, mode: 0o644 })),
    { path: tokenStatePath(input.runnerTemp, input.token, platform), content: state, mode: 0o600 }
  ]

  const warnings: string[] = []
  const notes: string[] = []
  const exported: Record<string, string> = {
    OS_AUTH_TYPE: AUTH_TYPE,
    PYTHONPATH: prependPath(pythonDir, env.PYTHONPATH, paths.delimiter)
  }

  const endpoints = catalogEndpoints(token.catalog, { region: input.region, interface: input.interface })
  const wanted = `${oneLine(normalizeInterface(input.interface), 40)} endpoints${input.region?.trim() ? ` in region ${oneLine(input.region, 100)}` : ''}`
  if (malformedCatalog) {
    warnings.push("Keystone sent the token's catalog in a shape that is not a list: later steps get an empty catalog, so service commands will fail.")
  } else if (token.catalog.length === 0) {
    warnings.push("the token's catalog is empty: Keystone lists no service this token may use, so service commands will fail.")
  } else if (endpoints.length === 0) {
    const regions = catalogRegions(parseCatalog(token.catalog) ?? [])
    warnings.push(
      `the token's catalog has no ${wanted}${regions.length > 0 ? ` (its regions: ${listed(regions)})` : ''}: service commands will fail; check region and interface.`
    )
  } else {
    notes.push(`openstack, openstacksdk and Ansible use the token as it is, with its catalog (${wanted}): ${listed(endpoints.map(e => e.type))}.`)
    const identity = endpoints.find(e => e.type === 'identity')
    if (identity && versionless(identity.url) !== versionless(input.authUrl)) {
      notes.push(`Identity commands go to the catalog's identity endpoint ${oneLine(identity.url, 200)}, not to ${input.authUrl}.`)
    }
  }
  if (text(env.PYTHONPATH)) notes.push(`PYTHONPATH keeps the job's entries after the plugin folder ${pythonDir}.`)
  return { env: exported, files, endpoints, warnings, notes }
}

/**
 * What a step must not do, for the step's log: without PYTHONPATH the clients do not find the plugin
 * and stop. Said once per login, with both ways out.
 */
export const PLUGIN_PATH_NOTE = `Later steps find the ${AUTH_TYPE} auth plugin through PYTHONPATH: a step that replaces PYTHONPATH, or a Python started with -I or -E, fails with "The plugin ${AUTH_TYPE} could not be found"; keep PYTHONPATH in such a step, or set token-use: exchange.`

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
