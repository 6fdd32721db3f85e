// Keyless login (GitHub OIDC → Keystone federation) for tests and scripts, all on 127.0.0.1:
//   - startFederatedKeystone(): runs scripts/oidc/start.sh (Apache + mod_auth_openidc + Keystone under
//     mod_wsgi, and the issuer's JWKS over https) and parses what it prints;
//   - mintIdToken() / githubClaims(): RS256 JWTs with the claim set of GitHub Actions' ID tokens;
//   - startIdTokenEndpoint(): GitHub's ID-token endpoint as @actions/core's getIDToken() calls it
//     (GET ${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=… with Authorization: Bearer
//     ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}, answer {"value": "<jwt>"}), configurable per test;
//   - startClientProvider(): an OIDC provider for an OAuth2 client (Keycloak-shaped: a discovery
//     document and a client-credentials token endpoint, over https with the test CA), whose
//     id_token and access_token are RS256 JWTs signed with the issuer's key.
// Types: oidc.d.mts next to this file.
//
// CLI, for trying things by hand against an instance started with start.sh:
//   OIDC_STATE_DIR=DIR node scripts/oidc/oidc.mjs mint [--repository R] [--ref REF] [--audience A]
//       [--environment E] [--expires-in S] [--expired]          prints a JWT
//   OIDC_STATE_DIR=DIR node scripts/oidc/oidc.mjs serve [same options as defaults]
//       prints ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN export lines, serves until SIGINT/SIGTERM

import { createHash, createPrivateKey, createSign, randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run, serverRegistry, tail } from '../lib/process.mjs'
import { parseExports } from '../keystone/keystone.mjs'

const HERE = dirname(fileURLToPath(import.meta.url))
const START_SH = join(HERE, 'start.sh')
const STOP_SH = join(HERE, 'stop.sh')

// A cold start (no seed) took 24 to 39 s here on a busy 2-core machine; a first run on a bare
// machine also apt-installs Apache and Keystone. A warm start takes about 4 s.
const DEFAULT_START_TIMEOUT_MS = 300_000
const STOP_TIMEOUT_MS = 30_000

// Knobs of start.sh that may pass through from the caller's environment; every other OIDC_*, OS_*
// or KEYSTONE_* variable is dropped (a developer's own cloud settings must not reach the instance).
const PASS_THROUGH = ['OIDC_CACHE_DIR', 'OIDC_NO_CACHE', 'OIDC_READY_TIMEOUT', 'OIDC_DEBUG']

/** Ids GitHub would give the fixture's repository and owner (the mapping admits exactly these). */
export const KNOWN_IDS = Object.freeze({ 'acme/deploy': '7654321', acme: '1234567' })

/** Instances not stopped yet, killed when the process exits. */
// Same PID-reuse guard as stop.sh: only apache2 still running this instance's config.
const servers = serverRegistry({
  isOurs: (cmdline, instance) => {
    const argv = cmdline.split('\0')
    return argv[0] === '/usr/sbin/apache2' && argv[2] === join(instance.stateDir, 'apache', 'httpd.conf')
  },
  signal: 'SIGKILL',
  marker: '.oidc-test-instance',
  keepStateVariable: 'OIDC_KEEP_STATE'
})

/**
 * @param {import('./oidc.d.mts').StartFederatedKeystoneOptions} [options]
 * @returns {Promise<import('./oidc.d.mts').FederatedKeystone>}
 */
export async function startFederatedKeystone(options = {}) {
  const { port = 0, timeoutMs = DEFAULT_START_TIMEOUT_MS } = options
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'oidc-test-'))

  /** @type {Record<string, string>} */
  const env = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (/^(OS|OIDC|KEYSTONE)_/.test(name) && !PASS_THROUGH.includes(name)) continue
    env[name] = value
  }
  env.OIDC_STATE_DIR = stateDir
  if (options.audience !== undefined) env.OIDC_AUDIENCE = options.audience
  if (options.hardened === false) env.OIDC_HARDENED = '0'
  if (options.tokenExpiration !== undefined) env.OIDC_TOKEN_EXPIRATION = String(options.tokenExpiration)

  const result = await run('bash', [START_SH, String(port)], env, timeoutMs)
  if (result.code !== 0) {
    await run('bash', [STOP_SH, '--purge'], { ...env, OIDC_STATE_DIR: stateDir }, STOP_TIMEOUT_MS).catch(() => {})
    const why = result.timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${result.code}`
    throw new Error(`scripts/oidc/start.sh ${why}:\n${tail(result.stderr)}`)
  }
  const vars = parseExports(result.stdout)
  for (const required of [
    'OS_AUTH_URL',
    'OIDC_PORT',
    'OIDC_PID',
    'OIDC_STATE_DIR',
    'OIDC_ISSUER',
    'OIDC_SIGNING_KEY',
    'OIDC_KID',
    'OIDC_PROJECT_ID'
  ]) {
    if (!vars[required]) throw new Error(`start.sh printed no ${required}:\n${result.stdout}`)
  }
  /** @type {Record<string, string>} */
  const adminEnv = {}
  for (const [name, value] of Object.entries(vars)) if (name.startsWith('OS_')) adminEnv[name] = value

  const signingKey = createPrivateKey(readFileSync(vars.OIDC_SIGNING_KEY))
  const issuer = vars.OIDC_ISSUER
  const kid = vars.OIDC_KID
  const audience = vars.OIDC_AUDIENCE
  const fixtures = {
    domainId: vars.OIDC_DOMAIN_ID,
    domainName: vars.OIDC_DOMAIN_NAME,
    projectId: vars.OIDC_PROJECT_ID,
    projectName: vars.OIDC_PROJECT_NAME,
    otherProjectId: vars.OIDC_OTHER_PROJECT_ID,
    otherProjectName: vars.OIDC_OTHER_PROJECT_NAME,
    groupId: vars.OIDC_GROUP_ID,
    groupName: vars.OIDC_GROUP_NAME,
    mapping: vars.OIDC_MAPPING,
    repository: vars.OIDC_REPOSITORY,
    repositoryId: vars.OIDC_REPOSITORY_ID,
    repositoryOwner: vars.OIDC_REPOSITORY_OWNER,
    repositoryOwnerId: vars.OIDC_REPOSITORY_OWNER_ID,
    ref: vars.OIDC_REF
  }

  const instance = {
    authUrl: vars.OS_AUTH_URL,
    port: Number(vars.OIDC_PORT),
    issuer,
    issuerPort: Number(vars.OIDC_ISSUER_PORT),
    jwksUri: vars.OIDC_JWKS_URI,
    caCertPath: vars.OIDC_CA_CERT,
    audience,
    hardened: vars.OIDC_HARDENED === '1',
    identityProvider: vars.OIDC_IDP,
    protocol: vars.OIDC_PROTOCOL,
    stateDir: vars.OIDC_STATE_DIR,
    pid: Number(vars.OIDC_PID),
    env: adminEnv,
    fixtures,
    signingKeyPath: vars.OIDC_SIGNING_KEY,
    kid,
    accessLogPath: vars.OIDC_ACCESS_LOG,
    errorLogPath: vars.OIDC_ERROR_LOG,
    keystoneLogPath: vars.OIDC_KEYSTONE_LOG,
    startKind: /** @type {'cold' | 'warm'} */ (vars.OIDC_START_KIND),
    startMs: Number(vars.OIDC_START_MS),
    /** @param {import('./oidc.d.mts').IdTokenClaimsOptions} [claims] */
    mintIdToken(claims = {}) {
      return mintIdToken({ issuer, audience, ...claims, privateKey: signingKey, kid })
    },
    /** @param {import('./oidc.d.mts').IdTokenEndpointOptions} [endpointOptions] */
    startIdTokenEndpoint(endpointOptions = {}) {
      return startIdTokenEndpoint({ issuer, ...endpointOptions, privateKey: signingKey, kid })
    },
    client: {
      identityProvider: vars.OIDC_CLIENT_IDP,
      clientId: vars.OIDC_CLIENT_ID,
      issuer: vars.OIDC_CLIENT_ISSUER
    },
    /** @param {import('./oidc.d.mts').ClientProviderOptions} [providerOptions] */
    startClientProvider(providerOptions = {}) {
      return startClientProvider({
        issuer: vars.OIDC_CLIENT_ISSUER,
        clientId: vars.OIDC_CLIENT_ID,
        ...providerOptions,
        privateKey: signingKey,
        kid,
        tlsDir: join(vars.OIDC_STATE_DIR, 'tls')
      })
    },
    /** @param {{ method?: string, path?: string, status?: number }} [filter] */
    countRequests(filter) {
      return countRequests(instance.accessLogPath, filter)
    },
    /** @param {{ purge?: boolean }} [stopOptions] */
    async stop(stopOptions = {}) {
      if (!servers.remove(instance)) return
      const purge = stopOptions.purge ?? process.env.OIDC_KEEP_STATE !== '1'
      const stopped = await run(
        'bash',
        purge ? [STOP_SH, '--purge'] : [STOP_SH],
        { PATH: process.env.PATH ?? '/usr/bin:/bin', OIDC_STATE_DIR: instance.stateDir },
        STOP_TIMEOUT_MS
      )
      if (stopped.code !== 0) throw new Error(`scripts/oidc/stop.sh exited with ${stopped.code}:\n${tail(stopped.stderr)}`)
    }
  }
  servers.add(instance)
  return instance
}

/**
 * The claim set GitHub Actions puts in its ID tokens (same names, same shapes: ids are numeric
 * strings, times are seconds). Defaults describe a push to acme/deploy on main.
 *
 * @param {import('./oidc.d.mts').IdTokenClaimsOptions & { issuer: string }} options
 * @returns {Record<string, unknown>}
 */
export function githubClaims(options) {
  const repository = options.repository ?? 'acme/deploy'
  const owner = options.repositoryOwner ?? repository.split('/')[0]
  const ref = options.ref ?? 'refs/heads/main'
  const refType = ref.startsWith('refs/tags/') ? 'tag' : 'branch'
  const now = Math.floor((options.now ?? Date.now()) / 1000)
  const iat = options.expired ? now - 900 : now
  // GitHub: nbf 10 minutes before iat, exp 5 minutes after (its documented example token).
  const exp = options.expired ? now - 60 : iat + (options.expiresIn ?? 300)
  const workflowFile = options.workflowFile ?? '.github/workflows/deploy.yml'
  const eventName = options.eventName ?? 'push'
  const sub = options.environment
    ? `repo:${repository}:environment:${options.environment}`
    : eventName === 'pull_request'
      ? `repo:${repository}:pull_request`
      : `repo:${repository}:ref:${ref}`
  const sha = options.sha ?? createHash('sha1').update(`${repository}@${ref}`).digest('hex')
  /** @type {Record<string, unknown>} */
  const claims = {
    jti: randomUUID(),
    sub,
    aud: options.audience ?? `https://github.com/${owner}`,
    ref,
    sha,
    repository,
    repository_owner: owner,
    repository_owner_id: options.repositoryOwnerId ?? stableId(owner),
    run_id: options.runId ?? '4242424242',
    run_number: '7',
    run_attempt: '1',
    repository_visibility: 'private',
    repository_id: options.repositoryId ?? stableId(repository),
    actor_id: '583231',
    actor: options.actor ?? 'octocat',
    workflow: options.workflow ?? 'deploy',
    head_ref: '',
    base_ref: '',
    event_name: eventName,
    ref_protected: refType === 'branch' && ref === 'refs/heads/main' ? 'true' : 'false',
    ref_type: refType,
    workflow_ref: `${repository}/${workflowFile}@${ref}`,
    workflow_sha: sha,
    job_workflow_ref: options.jobWorkflowRef ?? `${repository}/${workflowFile}@${ref}`,
    job_workflow_sha: sha,
    runner_environment: 'github-hosted',
    ...(options.environment && { environment: options.environment }),
    iss: options.issuer,
    nbf: iat - 600,
    exp,
    iat
  }
  for (const [name, value] of Object.entries(options.claims ?? {})) {
    if (value === undefined) delete claims[name]
    else claims[name] = value
  }
  return claims
}

/**
 * An RS256 JWT with githubClaims(options), signed with the issuer's key.
 *
 * @param {import('./oidc.d.mts').MintOptions} options
 * @returns {string}
 */
export function mintIdToken(options) {
  const { privateKey, kid, ...claimOptions } = options
  const key = typeof privateKey === 'string' || Buffer.isBuffer(privateKey) ? createPrivateKey(privateKey) : privateKey
  const header = { typ: 'JWT', alg: 'RS256', kid }
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(githubClaims(claimOptions)))}`
  const signature = createSign('RSA-SHA256').update(input).sign(key)
  return `${input}.${b64url(signature)}`
}

/**
 * Reads a JWT's header and payload (no verification: for assertions in tests).
 *
 * @param {string} jwt
 * @returns {{ header: Record<string, unknown>, payload: Record<string, unknown> }}
 */
export function decodeJwt(jwt) {
  const [header, payload] = jwt.split('.')
  if (!header || !payload) throw new Error('not a JWT')
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  }
}

/**
 * GitHub's ID-token endpoint, as getIDToken() of @actions/core calls it. The URL it gives already
 * carries a query (`?api-version=2.0`), as GitHub's does: getIDToken appends `&audience=…`.
 *
 * @param {import('./oidc.d.mts').IdTokenEndpointOptions & { privateKey: import('node:crypto').KeyObject | string | Buffer, kid: string, issuer: string }} options
 * @returns {Promise<import('./oidc.d.mts').IdTokenEndpoint>}
 */
export async function startIdTokenEndpoint(options) {
  const { privateKey, kid, issuer } = options
  const key = typeof privateKey === 'string' || Buffer.isBuffer(privateKey) ? createPrivateKey(privateKey) : privateKey
  const requestToken = options.requestToken ?? randomBytes(24).toString('base64url')
  const path = `/_apis/distributedtask/hubs/Actions/plans/${randomUUID()}/jobs/${randomUUID()}/idtoken`
  /** @type {import('./oidc.d.mts').IdTokenEndpointConfig} */
  let config = { ...(options.defaults ?? {}) }
  /** @type {import('./oidc.d.mts').IdTokenRequest[]} */
  const requests = []
  /** @type {string[]} */
  const issued = []

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    const audience = url.searchParams.get('audience') ?? undefined
    const authorization = request.headers.authorization ?? ''
    const authorized = authorization === `Bearer ${requestToken}`
    /** @param {number} status @param {unknown} body */
    const answer = (status, body) => {
      requests.push({ method: request.method ?? '', path: url.pathname, audience, authorized, status, at: new Date() })
      response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
      response.end(JSON.stringify(body))
    }
    request.resume()
    if (url.pathname !== path) return answer(404, { message: 'Not Found' })
    if (request.method !== 'GET') return answer(405, { message: 'Method Not Allowed' })
    if (!authorized) return answer(401, { message: "Unauthorized: the Bearer token is not this job's ACTIONS_ID_TOKEN_REQUEST_TOKEN" })
    if (config.fail) return answer(config.fail.status, config.fail.body ?? { message: `emulated failure ${config.fail.status}` })
    const { fail: _fail, audience: forcedAudience, ...claims } = config
    const jwt = mintIdToken({
      issuer,
      ...claims,
      // GitHub puts the asked audience in aud (default https://github.com/<owner>); a test may force another.
      ...((forcedAudience ?? audience) !== undefined && { audience: forcedAudience ?? audience }),
      privateKey: key,
      kid
    })
    issued.push(jwt)
    answer(200, { count: jwt.length, value: jwt })
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(undefined))
  })
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  const url = `http://127.0.0.1:${address.port}${path}?api-version=2.0`
  return {
    url,
    requestToken,
    runnerEnv: () => ({ ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken }),
    configure(next) {
      config = { ...(options.defaults ?? {}), ...next }
    },
    requests,
    issued,
    close: () =>
      new Promise(resolve => {
        server.closeAllConnections()
        server.close(() => resolve(undefined))
      })
  }
}

/**
 * An OIDC provider for one OAuth2 client, shaped like Keycloak's (`/realms/<realm>/…`): GET
 * …/.well-known/openid-configuration, and POST …/protocol/openid-connect/token with
 * `grant_type=client_credentials` and the client's id and secret in HTTP Basic (as keystoneauth
 * sends them). It answers an id_token (aud = the client id) and an access_token (aud `account`), both
 * with azp = the client id and sub = its service account, like Keycloak's. Over https with the
 * instance's test certificate (tlsDir: server.crt, server.key).
 *
 * @param {import('./oidc.d.mts').ClientProviderOptions & { issuer: string, clientId: string, privateKey: import('node:crypto').KeyObject, kid: string, tlsDir: string }} options
 * @returns {Promise<import('./oidc.d.mts').ClientProvider>}
 */
export async function startClientProvider(options) {
  const { issuer, clientId, privateKey, kid, tlsDir } = options
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url')
  const realm = '/realms/robots'
  /** @type {import('./oidc.d.mts').ClientProviderConfig} */
  let config = {}
  /** @type {import('./oidc.d.mts').ClientProviderRequest[]} */
  const requests = []
  /** @type {string[]} */
  const issued = []
  let baseUrl = ''

  /** @param {Record<string, unknown>} claims */
  const sign = claims => {
    const header = { typ: 'JWT', alg: 'RS256', kid }
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    return `${input}.${b64url(createSign('RSA-SHA256').update(input).sign(privateKey))}`
  }

  const server = createHttpsServer(
    { cert: readFileSync(join(tlsDir, 'server.crt')), key: readFileSync(join(tlsDir, 'server.key')) },
    (request, response) => {
      const url = new URL(request.url ?? '/', 'https://127.0.0.1')
      /** @type {Buffer[]} */
      const chunks = []
      request.on('data', chunk => chunks.push(chunk))
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1]
        const [id, ...rest] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : []
        const authorized = id === clientId && rest.join(':') === clientSecret
        /** @param {number} status @param {unknown} answer @param {Record<string, string>} [headers] */
        const answer = (status, answer, headers = {}) => {
          requests.push({ method: request.method ?? '', path: url.pathname, authorized, status, at: new Date() })
          response.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers })
          response.end(JSON.stringify(answer))
        }
        if (request.method === 'GET' && url.pathname === `${realm}/.well-known/openid-configuration`) {
          return answer(200, {
            issuer,
            token_endpoint: `${baseUrl}${realm}/protocol/openid-connect/token`,
            jwks_uri: `${baseUrl}${realm}/protocol/openid-connect/certs`,
            grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
            id_token_signing_alg_values_supported: ['RS256'],
            token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post']
          })
        }
        if (request.method !== 'POST' || url.pathname !== `${realm}/protocol/openid-connect/token`) return answer(404, { error: 'not_found' })
        if (config.fail) return answer(config.fail.status, config.fail.body ?? { error: 'temporarily_unavailable' }, config.fail.headers)
        if (!authorized) return answer(401, { error: 'invalid_client', error_description: 'Invalid client or Invalid client credentials' })
        const form = new URLSearchParams(body)
        if (form.get('grant_type') !== 'client_credentials') return answer(400, { error: 'unsupported_grant_type' })
        const now = Math.floor(Date.now() / 1000)
        const common = { iss: issuer, sub: `service-account-${clientId}`, azp: clientId, iat: now, exp: now + 300, jti: randomUUID() }
        const idToken = sign({ ...common, aud: clientId, typ: 'ID' })
        const accessToken = sign({ ...common, aud: 'account', typ: 'Bearer', scope: form.get('scope') ?? '' })
        issued.push(idToken, accessToken)
        return answer(200, { access_token: accessToken, id_token: idToken, token_type: 'Bearer', expires_in: 300, scope: form.get('scope') ?? '' })
      })
    }
  )
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(undefined))
  })
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  baseUrl = `https://127.0.0.1:${address.port}`
  return {
    discoveryEndpoint: `${baseUrl}${realm}/.well-known/openid-configuration`,
    tokenEndpoint: `${baseUrl}${realm}/protocol/openid-connect/token`,
    clientId,
    clientSecret,
    configure(next) {
      config = { ...next }
    },
    requests,
    issued,
    close: () =>
      new Promise(resolve => {
        server.closeAllConnections()
        server.close(() => resolve(undefined))
      })
  }
}

/**
 * Requests in the Apache access log (one line per request, emptied when start.sh was ready).
 *
 * @param {string} accessLogPath
 * @param {{ method?: string, path?: string, status?: number }} [filter]  path: prefix of the request
 *   target; default every POST to the federation auth path
 * @returns {number}
 */
export function countRequests(accessLogPath, filter = {}) {
  const { method = 'POST', path = '/v3/OS-FEDERATION/', status } = filter
  let count = 0
  for (const line of readFileSync(accessLogPath, 'utf8').split('\n')) {
    const match = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/.exec(line)
    if (match && match[1] === method && match[2].startsWith(path) && (status === undefined || Number(match[3]) === status)) count += 1
  }
  return count
}

// start.sh prints its results the way scripts/keystone does: one parser for both.
export { parseExports }

// --- internals ---------------------------------------------------------------------------------

/** A numeric string id derived from a name (GitHub's ids are numbers sent as strings). */
function stableId(name) {
  const known = /** @type {Record<string, string>} */ (KNOWN_IDS)[name]
  if (known) return known
  return String((createHash('sha256').update(name).digest().readUInt32BE(0) % 900_000_000) + 100_000_000)
}

/** @param {string | Buffer} data */
function b64url(data) {
  return Buffer.from(data).toString('base64url')
}

// --- CLI ---------------------------------------------------------------------------------------

/** @param {string[]} args */
function claimArgs(args) {
  /** @type {import('./oidc.d.mts').IdTokenClaimsOptions} */
  const claims = {}
  for (let i = 0; i < args.length; i++) {
    const next = () => {
      const value = args[++i]
      if (value === undefined) throw new Error(`${args[i - 1]} needs a value`)
      return value
    }
    switch (args[i]) {
      case '--repository':
        claims.repository = next()
        break
      case '--repository-id':
        claims.repositoryId = next()
        break
      case '--repository-owner-id':
        claims.repositoryOwnerId = next()
        break
      case '--ref':
        claims.ref = next()
        break
      case '--audience':
        claims.audience = next()
        break
      case '--environment':
        claims.environment = next()
        break
      case '--event-name':
        claims.eventName = next()
        break
      case '--expires-in':
        claims.expiresIn = Number(next())
        break
      case '--expired':
        claims.expired = true
        break
      default:
        throw new Error(`unknown option ${args[i]}`)
    }
  }
  return claims
}

async function main() {
  const [command, ...args] = process.argv.slice(2)
  const stateDir = process.env.OIDC_STATE_DIR
  if (!stateDir || !['mint', 'serve'].includes(command ?? '')) {
    console.error(
      'usage: OIDC_STATE_DIR=DIR node scripts/oidc/oidc.mjs mint|serve [--repository R] [--repository-id N] [--repository-owner-id N] [--ref REF] [--audience A] [--environment E] [--event-name E] [--expires-in S] [--expired]'
    )
    process.exit(2)
  }
  const vars = parseExports(readFileSync(join(stateDir, 'openrc'), 'utf8'))
  const privateKey = readFileSync(vars.OIDC_SIGNING_KEY)
  const claims = claimArgs(args)
  if (command === 'mint') {
    process.stdout.write(`${mintIdToken({ issuer: vars.OIDC_ISSUER, audience: vars.OIDC_AUDIENCE, ...claims, privateKey, kid: vars.OIDC_KID })}\n`)
    return
  }
  const endpoint = await startIdTokenEndpoint({ issuer: vars.OIDC_ISSUER, defaults: claims, privateKey, kid: vars.OIDC_KID })
  for (const [name, value] of Object.entries(endpoint.runnerEnv())) console.log(`export ${name}='${value}'`)
  const stop = () => {
    endpoint.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch(error => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  })
}
