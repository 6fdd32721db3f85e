import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { issueToken, revokeToken, startKeystone, validateToken, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import { runStep } from '../../scripts/emulator/runner.mjs'
import { directUseSetup, renderTokenState, tokenStatePath } from '../../src/handoff/direct-use.js'
import { writeFilesUnder } from '../../src/runtime/files.js'
import { parseKeystoneTime } from '../../src/time.js'
import { job, OPENSTACK, ROOT, issueAdminToken } from './helpers.js'
import { startServiceRecorder, type ServiceRecorder } from './service-recorder.js'

/**
 * Direct token use on the wire: a real Keystone whose catalog lists compute, image, network,
 * volumev3 and object-store at a loopback recorder, tokens issued with their catalog (by password
 * and by application credential), directUseSetup's files and variables (the auth plugin
 * openstack-token on PYTHONPATH), and the real `openstack` CLI (Debian's osc 6.0 / openstacksdk
 * 0.101 / keystoneauth1 5.0) run with nothing else in its env.
 *
 * For every command: which URL the service got, with which token, and how many requests reached
 * Keystone (its gunicorn access log). "exchange" is token-use: exchange (OS_AUTH_TYPE=v3token);
 * "direct", the default, adds directUseSetup's variables to it.
 *
 * Most tests issue the token themselves and play the main step's part (write the files, merge the
 * variables); the last ones run the action itself in a job.
 */

let keystone: KeystoneInstance
let fix: KeystoneInstance['fixtures']
let recorder: ServiceRecorder
let work: string
/** A copy of Debian's dist-packages without `keyring`, as a pip-installed CLI would have it. */
let noKeyringSite: string

interface Issued {
  token: string
  body: unknown
}
const tokens = {} as Record<'password' | 'appcred', Issued>

/** Keystone requests and POST /v3/auth/tokens per command, by mode, for the summary printed at the end. */
const costs: string[] = []

beforeAll(async () => {
  keystone = await startKeystone()
  fix = keystone.fixtures
  recorder = await startServiceRecorder()
  work = mkdtempSync(join(tmpdir(), 'direct-use-e2e-'))
  mkdirSync(join(work, 'home'))

  await registerRecorder(keystone, recorder)
  Object.assign(tokens, await issueTokens(keystone))

  noKeyringSite = join(work, 'site-without-keyring')
  mkdirSync(noKeyringSite)
  for (const entry of readdirSync('/usr/lib/python3/dist-packages')) {
    if (!/^keyring/i.test(entry)) symlinkSync(join('/usr/lib/python3/dist-packages', entry), join(noKeyringSite, entry))
  }
}, 600_000)

afterAll(async () => {
  if (costs.length > 0) console.log(['Keystone requests per command (all / POST /v3/auth/tokens):', ...costs].join('\n'))
  await recorder?.close()
  await keystone?.stop()
  if (work) rmSync(work, { recursive: true, force: true })
})

async function keystoneApi(instance: KeystoneInstance, adminToken: string, method: string, path: string, body: unknown): Promise<any> {
  const response = await fetch(`${instance.authUrl}${path}`, {
    method,
    headers: { 'X-Auth-Token': adminToken, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000)
  })
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return response.json()
}

/**
 * Keystone's own API (what `curl -H "X-Auth-Token: $ADMIN" …` would send): one service per
 * recorder entry, with a public and an internal endpoint in RegionOne.
 */
async function registerRecorder(instance: KeystoneInstance, services: ServiceRecorder): Promise<void> {
  const f = instance.fixtures
  const admin = await issueToken(instance.authUrl, {
    auth: {
      identity: { methods: ['password'], password: { user: { id: f.FIX_ADMIN_USER_ID, password: f.FIX_ADMIN_PASSWORD } } },
      scope: { project: { id: f.FIX_ADMIN_PROJECT_ID } }
    }
  })
  for (const [type, url] of Object.entries(services.endpoints())) {
    const created = await keystoneApi(instance, admin.token, 'POST', '/services', { service: { type, name: `recorder-${type}` } })
    for (const iface of ['public', 'internal']) {
      await keystoneApi(instance, admin.token, 'POST', '/endpoints', {
        endpoint: { service_id: created.service.id, interface: iface, region_id: 'RegionOne', url }
      })
    }
  }
}

/** A password token and an application-credential token for proj2, with the catalog, as the main step will issue them in direct mode. */
async function issueTokens(instance: KeystoneInstance): Promise<Record<'password' | 'appcred', Issued>> {
  const f = instance.fixtures
  const issue = async (auth: unknown): Promise<Issued> => {
    const issued = await issueToken(instance.authUrl, { auth })
    return { token: issued.token, body: issued.body }
  }
  return {
    password: await issue({
      identity: { methods: ['password'], password: { user: { id: f.FIX_USER2_ID, password: f.FIX_USER2_PASSWORD } } },
      scope: { project: { id: f.FIX_PROJ2_ID } }
    }),
    appcred: await issue({
      identity: { methods: ['application_credential'], application_credential: { id: f.FIX_APPCRED_ID, secret: f.FIX_APPCRED_SECRET } }
    })
  }
}

/** What the action exports for a project token with token-use: exchange (src/handoff/environment.ts), region included. */
function exchangeEnv(issued: Issued, instance = keystone): Record<string, string> {
  const project = (issued.body as any).token.project
  return {
    OS_AUTH_URL: instance.authUrl,
    OS_AUTH_TYPE: 'v3token',
    OS_TOKEN: issued.token,
    OS_IDENTITY_API_VERSION: '3',
    OS_PROJECT_ID: project.id,
    OS_PROJECT_NAME: project.name,
    OS_PROJECT_DOMAIN_ID: project.domain.id,
    OS_REGION_NAME: 'RegionOne',
    OS_USERNAME: '',
    OS_PASSWORD: '',
    OS_USER_DOMAIN_NAME: '',
    OS_CLOUD: ''
  }
}

/** The main step in direct mode: directUseSetup, its files written, its variables over exchangeEnv. */
function directEnv(issued: Issued, runnerTemp: string, jobEnv: Record<string, string> = {}, instance = keystone): Record<string, string> {
  const { issued_at: issuedAt, expires_at: expiresAt } = (issued.body as { token: { issued_at: string; expires_at: string } }).token
  const setup = directUseSetup({
    token: issued.token,
    receivedAt: new Date(),
    validForMs: parseKeystoneTime(expiresAt)!.getTime() - parseKeystoneTime(issuedAt)!.getTime(),
    tokenBody: issued.body,
    authUrl: instance.authUrl,
    region: 'RegionOne',
    runnerTemp,
    env: jobEnv
  })
  // The runner makes RUNNER_TEMP; the action writes only below it.
  mkdirSync(runnerTemp, { recursive: true, mode: 0o700 })
  writeFilesUnder(runnerTemp, setup.files)
  return { ...exchangeEnv(issued, instance), ...setup.env }
}

interface Run {
  status: number | null
  stdout: string
  stderr: string
  /** Requests Keystone logged during the run. */
  keystone: number
  posts: number
  /** What the services got during the run. */
  services: ServiceRecorder['requests']
}

function keystoneLog(instance: KeystoneInstance): string[] {
  return readFileSync(instance.accessLogPath, 'utf8')
    .split('\n')
    .filter(line => line.trim() !== '')
}

/** The access log once no new line has come for 300 ms (bounded: 3 s). */
async function settledLog(instance: KeystoneInstance): Promise<string[]> {
  let lines = keystoneLog(instance)
  for (let quiet = 0, i = 0; quiet < 3 && i < 30; i++) {
    await new Promise(resolve => setTimeout(resolve, 100))
    const again = keystoneLog(instance)
    quiet = again.length === lines.length ? quiet + 1 : 0
    lines = again
  }
  return lines
}

/**
 * Runs a program with PATH, HOME and `env` only (asynchronously: the recorder answers from this
 * process), bounded in time, and measures what reached Keystone and the services meanwhile.
 */
async function measure(
  command: string,
  args: string[],
  env: Record<string, string>,
  { cwd = work, instance = keystone }: { cwd?: string; instance?: KeystoneInstance } = {}
): Promise<Run> {
  // gunicorn writes a request's line after answering it: let the lines of earlier requests (the
  // logins of a beforeAll, say) land first, or they would be counted against this command.
  const before = (await settledLog(instance)).length
  const firstService = recorder.requests.length
  const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { PATH: '/usr/bin:/bin', HOME: join(work, 'home'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', chunk => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', chunk => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('error', error => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', status => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
  const added = (await settledLog(instance)).slice(before)
  return {
    ...result,
    keystone: added.length,
    posts: added.filter(line => line.includes('"POST /v3/auth/tokens')).length,
    services: recorder.requests.slice(firstService)
  }
}

function openstack(args: string, env: Record<string, string>, options: { cwd?: string; instance?: KeystoneInstance } = {}): Promise<Run> {
  return measure(OPENSTACK, args.split(' '), env, options)
}

/** The CLI as a `pip install python-openstackclient` without keyring would run it. */
function openstackWithoutKeyring(args: string, env: Record<string, string>): Promise<Run> {
  const main = `import sys; sys.path.append(${JSON.stringify(noKeyringSite)}); from openstackclient.shell import main; sys.exit(main(sys.argv[1:]))`
  return measure('/usr/bin/python3', ['-S', '-c', main, ...args.split(' ')], env)
}

/** The service commands and the request each must reach the recorder with. */
function serviceCommands(): Array<[string, RegExp]> {
  const project = fix.FIX_PROJ2_ID
  return [
    ['server list', /^\/compute\/v2\.1\/servers\/detail/],
    ['image list', /^\/image\/v2\/images/],
    ['network list', /^\/network\/v2\.0\/networks/],
    ['volume list', new RegExp(`^/volume/v3/${project}/volumes/detail`)],
    ['container list', new RegExp(`^/object-store/v1/AUTH_${project}\\?format=json`)]
  ]
}

/** Every request that carried a token carried `token`; the expected path was reached with it. */
function expectServedWith(run: Run, path: RegExp, token: string): void {
  expect(run.services.filter(r => path.test(r.path)).map(r => r.token)).toEqual([token])
  for (const request of run.services.filter(r => r.token !== undefined)) expect(request.token).toBe(token)
}

function record(mode: string, kind: string, command: string, run: Run): void {
  costs.push(`  ${mode.padEnd(22)} ${kind.padEnd(8)} ${command.padEnd(16)} exit ${String(run.status).padEnd(3)} ${run.keystone} / ${run.posts}`)
}

describe.each(['password', 'appcred'] as const)('direct use, %s token', kind => {
  let env: Record<string, string>

  beforeAll(() => {
    env = directEnv(tokens[kind], join(work, `runner-temp-${kind}`))
  })

  test('service commands reach the catalog URL with the token itself, and Keystone sees nothing', async () => {
    for (const [command, path] of serviceCommands()) {
      const run = await openstack(command, env)
      record('direct', kind, command, run)
      expect({ command, status: run.status, stderr: run.stderr }).toEqual({ command, status: 0, stderr: '' })
      expect({ command, keystone: run.keystone }).toEqual({ command, keystone: 0 })
      expectServedWith(run, path, tokens[kind].token)
    }
  })

  test('identity commands: no new token either; project show talks to Keystone with the token (GET only)', async () => {
    const project = await openstack(`project show ${fix.FIX_PROJ2_ID} -f value -c name`, env)
    record('direct', kind, 'project show', project)
    expect([project.status, project.stdout.trim(), project.posts]).toEqual([0, fix.FIX_PROJ2_NAME, 0])

    const catalog = await openstack('catalog list -f value -c Type', env)
    record('direct', kind, 'catalog list', catalog)
    expect(catalog.status).toBe(0)
    expect(catalog.stdout.trim().split('\n').sort()).toEqual(['compute', 'identity', 'image', 'network', 'object-store', 'volumev3'])
    expect(catalog.keystone).toBe(0)

    // The token shown is the job's own, not a new one.
    const shown = await openstack('token issue -f value -c id -c project_id', env)
    record('direct', kind, 'token issue', shown)
    // token issue, the usual smoke test, asks Keystone whether the token still stands: one HEAD, no POST.
    expect([shown.status, shown.stdout.trim().split('\n'), shown.keystone, shown.posts]).toEqual([0, [tokens[kind].token, fix.FIX_PROJ2_ID], 1, 0])
  })

  test('openstacksdk in a script: no Keystone request', async () => {
    const script = [
      'import openstack',
      'conn = openstack.connect()',
      'print(len(list(conn.image.images())), len(list(conn.network.networks())), len(list(conn.compute.servers())), len(list(conn.block_storage.volumes())))',
      'conn.close()'
    ].join('\n')
    const run = await measure('/usr/bin/python3', ['-c', script], env)
    record('direct', kind, 'openstacksdk', run)
    expect([run.status, run.stdout.trim(), run.stderr]).toEqual([0, '0 0 0 0', ''])
    expect(run.keystone).toBe(0)
    for (const request of run.services.filter(r => r.token !== undefined)) expect(request.token).toBe(tokens[kind].token)
  })

  test('a CLI installed without the keyring package: the plugin does not need it', async () => {
    for (const [command, path] of serviceCommands().slice(1, 3)) {
      const run = await openstackWithoutKeyring(command, env)
      record('direct, no keyring', kind, command, run)
      expect({ command, status: run.status, stderr: run.stderr, keystone: run.keystone }).toEqual({ command, status: 0, stderr: '', keystone: 0 })
      expectServedWith(run, path, tokens[kind].token)
    }
  })
})

describe('token-use: exchange (OS_AUTH_TYPE=v3token)', () => {
  test('password token: every command POSTs once for a new token, and the services see that one', async () => {
    const env = exchangeEnv(tokens.password)
    for (const [command, path] of serviceCommands()) {
      const run = await openstack(command, env)
      record('exchange', 'password', command, run)
      expect({ command, status: run.status, posts: run.posts }).toEqual({ command, status: 0, posts: 1 })
      const used = run.services.filter(r => path.test(r.path)).map(r => r.token)
      expect(used).toHaveLength(1)
      expect(used[0]).not.toBe(tokens.password.token)
    }
  })

  test('application-credential token: Keystone refuses the exchange (403), every command fails', async () => {
    const env = exchangeEnv(tokens.appcred)
    for (const [command] of serviceCommands().slice(0, 2)) {
      const run = await openstack(command, env)
      record('exchange', 'appcred', command, run)
      expect(run.status).not.toBe(0)
      expect(run.stderr).toMatch(/Using a delegated token to create another token is not allowed.*\(HTTP 403\)/)
      expect(run.posts).toBe(1)
      expect(run.services.filter(r => r.token !== undefined)).toEqual([])
    }
  })
})

describe('direct use: limits and neighbours', () => {
  test("a step that replaces PYTHONPATH loses the plugin: its commands stop with keystoneauth's own message, asking Keystone nothing", async () => {
    for (const kind of ['password', 'appcred'] as const) {
      const env = { ...directEnv(tokens[kind], join(work, `runner-temp-fallback-${kind}`)), PYTHONPATH: join(work, 'elsewhere') }
      const run = await openstack('image list', env)
      record('direct, PYTHONPATH lost', kind, 'image list', run)
      expect([run.status, run.keystone]).toEqual([1, 0])
      expect(run.stderr).toMatch(/The plugin openstack-token could not be found/)
    }
  })

  test('a python3 -I (isolated: PYTHONPATH ignored) does not find it either', async () => {
    const env = directEnv(tokens.password, join(work, 'runner-temp-isolated'))
    const run = await measure('/usr/bin/python3', ['-I', '-c', 'import openstack; print(openstack.connect().current_project_id)'], env)
    expect(run.status).not.toBe(0)
    expect(run.stderr).toMatch(/openstack-token could not be found/)
    expect(run.keystone).toBe(0)
  })

  test('another scope asked in a step: refused in one sentence, with no Keystone request', async () => {
    const env = directEnv(tokens.password, join(work, 'runner-temp-scope'))
    const run = await openstack(`--os-project-id ${fix.FIX_ADMIN_PROJECT_ID} image list`, env)
    record('direct, other scope', 'password', 'image list', run)
    expect(run.status).not.toBe(0)
    expect(run.stderr).toContain(
      `openstack-token: this step asks for OS_PROJECT_ID=${fix.FIX_ADMIN_PROJECT_ID}, but the job's token is scoped to project ${fix.FIX_PROJ2_NAME} (${fix.FIX_PROJ2_ID}) and a token cannot change its scope`
    )
    expect(run.keystone).toBe(0)
  })

  test('a token from another source in OS_TOKEN: refused, pointing to OS_AUTH_TYPE=v3token', async () => {
    const env = { ...directEnv(tokens.password, join(work, 'runner-temp-stranger')), OS_TOKEN: tokens.appcred.token }
    const run = await openstack('image list', env)
    expect(run.status).not.toBe(0)
    expect(run.stderr).toMatch(/openstack-token: no state for the token in OS_TOKEN under .*set OS_AUTH_TYPE=v3token to use another token/)
    expect(run.keystone).toBe(0)
  })

  test('another cloud of clouds.yaml (OS_CLOUD) in a later step logs in by itself and never gets the job token', async () => {
    const cwd = join(work, 'other-cloud')
    mkdirSync(cwd, { recursive: true })
    writeFileSync(
      join(cwd, 'clouds.yaml'),
      [
        'clouds:',
        '  other:',
        '    auth_type: password',
        '    auth:',
        `      auth_url: ${keystone.authUrl}`,
        `      user_id: ${fix.FIX_USER2_ID}`,
        `      password: ${fix.FIX_USER2_PASSWORD}`,
        `      project_id: ${fix.FIX_PROJ2_ID}`,
        '    region_name: RegionOne',
        ''
      ].join('\n')
    )
    const direct = directEnv(tokens.appcred, join(work, 'runner-temp-other'))
    // What stays job-wide from direct use, plus the step's own choice of cloud.
    const inherited = { PYTHONPATH: direct.PYTHONPATH!, OS_AUTH_TYPE: direct.OS_AUTH_TYPE!, OS_CLOUD: 'other' }
    // The CLI (osc-lib) takes OS_AUTH_TYPE over the file's auth_type, as it did with v3token: the
    // plugin then lacks its token, and nothing is sent anywhere.
    const refused = await openstack('image list', inherited, { cwd })
    expect([refused.status, refused.keystone, refused.services]).toEqual([1, 0, []])
    expect(refused.stderr).toMatch(/Missing value token required for auth plugin openstack-token/)
    // With OS_AUTH_TYPE blanked in that step, the file's password login; and openstacksdk reads the file's auth_type anyway.
    for (const [label, run] of [
      ['image list', () => openstack('image list', { ...inherited, OS_AUTH_TYPE: '' }, { cwd })],
      [
        'openstacksdk',
        () => measure('/usr/bin/python3', ['-c', 'import openstack; print(len(list(openstack.connect().image.images())))'], inherited, { cwd })
      ]
    ] as const) {
      const result = await run()
      record('other cloud', 'password', label, result)
      expect([label, result.status, result.posts]).toEqual([label, 0, 1])
      const used = result.services.filter(r => r.token !== undefined).map(r => r.token)
      expect(used.length).toBeGreaterThan(0)
      expect(used).not.toContain(tokens.appcred.token)
    }
  })

  test('other Python tools still see the real keyring package', async () => {
    const env = directEnv(tokens.password, join(work, 'runner-temp-tools'))
    const script = 'import keyring; print(keyring.__file__); print(keyring.get_keyring().__class__.__module__)'
    const run = await measure('/usr/bin/python3', ['-c', script], env)
    expect(run.stdout.trim().split('\n')[0]).toBe('/usr/lib/python3/dist-packages/keyring/__init__.py')
  })

  test('without the keyring package, other Python tools get the ImportError they always got', async () => {
    const env = directEnv(tokens.password, join(work, 'runner-temp-tools2'))
    const script = `import sys; sys.path.append(${JSON.stringify(noKeyringSite)})\ntry:\n    import keyring\nexcept ImportError as e:\n    print(type(e).__name__)`
    const run = await measure('/usr/bin/python3', ['-S', '-c', script], env)
    expect(run.stdout.trim()).toBe('ModuleNotFoundError')
  })
})

describe("the token's last two minutes (keystoneauth re-authenticates when less than 120 s are left)", () => {
  // A Keystone whose tokens live 115 s: every token is in that window from the start.
  let shortLived: KeystoneInstance
  let shortRecorder: ServiceRecorder
  let issued: Record<'password' | 'appcred', Issued>

  beforeAll(async () => {
    shortLived = await startKeystone({ tokenExpiration: 115 })
    shortRecorder = await startServiceRecorder()
    await registerRecorder(shortLived, shortRecorder)
    issued = await issueTokens(shortLived)
  }, 600_000)
  afterAll(async () => {
    await shortRecorder?.close()
    await shortLived?.stop()
  })

  test('direct: still no Keystone request, for both kinds of token', async () => {
    for (const kind of ['password', 'appcred'] as const) {
      const env = directEnv(issued[kind], join(work, `runner-temp-short-${kind}`), {}, shortLived)
      const run = await openstack('image list', env, { instance: shortLived })
      record('direct, last 2 min', kind, 'image list', run)
      expect([run.status, run.keystone]).toEqual([0, 0])
    }
  })

  test('exchange: a password token is exchanged again and again within one command (each new token expires as soon)', async () => {
    const run = await openstack('image list', exchangeEnv(issued.password, shortLived), { instance: shortLived })
    record('exchange, last 2 min', 'password', 'image list', run)
    expect(run.status).toBe(0)
    expect(run.posts).toBeGreaterThan(1)
  })
})

describe('the action', () => {
  /** A job with the recorder in the catalog; each later step's Keystone requests are counted. */
  async function actionJob(inputs: Record<string, string>, secrets: string[]) {
    const commands = serviceCommands().map(([command]) => command)
    const before = keystoneLog(keystone).length
    const transcript = await job({
      inputs: { 'auth-url': keystone.authUrl, ...inputs },
      secrets,
      // A later step writes how many Keystone requests the access log has before and after it.
      steps: commands.map(command => ({
        name: command,
        run: `before=$(wc -l < ${keystone.accessLogPath}); ${OPENSTACK} ${command} -f value >/dev/null; sleep 0.3; after=$(wc -l < ${keystone.accessLogPath}); echo "keystone requests: $((after - before))"`
      }))
    })
    return { transcript, commands, keystoneRequests: keystoneLog(keystone).length - before }
  }

  test('an application credential from a bare uses: later openstack commands work, with no Keystone request', async () => {
    const { transcript, commands } = await actionJob(
      { 'application-credential-id': fix.FIX_APPCRED_ID, 'application-credential-secret': fix.FIX_APPCRED_SECRET },
      [fix.FIX_APPCRED_SECRET]
    )
    expect(transcript.failed).toBe(false)
    for (const command of commands) expect(transcript.step(command)?.stdout).toContain('keystone requests: 0')
    expect(transcript.env.PYTHONPATH).toMatch(/openstack-token\/python$/)
    expect(transcript.post?.stdout).toContain('Token revoked.')
    const token = transcript.outputs.token!
    for (const request of recorder.requests.slice(-commands.length)) expect(request.token).toBe(token)
  })

  test('a password login with the default (direct), no Keystone request per command; with token-use: exchange, one POST each', async () => {
    const password = { 'user-id': fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD, 'project-id': fix.FIX_PROJ2_ID }
    const direct = await actionJob(password, [fix.FIX_USER2_PASSWORD])
    expect(direct.transcript.failed).toBe(false)
    expect(direct.transcript.env.OS_AUTH_TYPE).toBe('openstack-token')
    for (const command of direct.commands) expect(direct.transcript.step(command)?.stdout).toContain('keystone requests: 0')

    const exchange = await actionJob({ ...password, 'token-use': 'exchange' }, [fix.FIX_USER2_PASSWORD])
    expect(exchange.transcript.failed).toBe(false)
    expect(exchange.transcript.env.PYTHONPATH).toBeUndefined()
    for (const command of exchange.commands) expect(exchange.transcript.step(command)?.stdout).toContain('keystone requests: 1')
    costs.push(
      `  action job, ${direct.commands.length} commands: direct ${direct.keystoneRequests} Keystone requests in all (1 login + 1 revocation), exchange ${exchange.keystoneRequests}`
    )
  })

  test("a runner clock two hours fast: the login, the later steps and the revocation go by Keystone's clock", async () => {
    // libfaketime (Debian's faketime) shifts the wall clock of every step of the job, not the emulator's.
    const fast = {
      LD_PRELOAD: execFileSync('sh', ['-c', 'ls /usr/lib/*/faketime/libfaketime.so.1'], { encoding: 'utf8' }).trim(),
      FAKETIME: '+2h',
      FAKETIME_DONT_FAKE_MONOTONIC: '1'
    }
    const transcript = await job({
      baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: join(work, 'home'), LANG: 'C.UTF-8', ...fast },
      inputs: {
        'auth-url': keystone.authUrl,
        'application-credential-id': fix.FIX_APPCRED_ID,
        'application-credential-secret': fix.FIX_APPCRED_SECRET
      },
      secrets: [fix.FIX_APPCRED_SECRET],
      steps: [
        { name: 'clock', run: 'date -u +%s' },
        {
          name: 'image list',
          run: `before=$(wc -l < ${keystone.accessLogPath}); ${OPENSTACK} image list -f value >/dev/null; sleep 0.3; after=$(wc -l < ${keystone.accessLogPath}); echo "keystone requests: $((after - before))"`
        }
      ]
    })
    // The steps really ran two hours ahead: the token's expires_at is behind their clock.
    expect(Number(transcript.step('clock')!.stdout[0]) * 1000).toBeGreaterThan(Date.parse(transcript.outputs['expires-at']!))
    expect(transcript.main?.status).toBe('success')
    expect(transcript.step('image list')?.stdout).toContain('keystone requests: 0')
    expect(transcript.post?.stdout).toContain('Token revoked.')
    const admin = await issueAdminToken(keystone)
    expect(await validateToken(keystone.authUrl, admin, transcript.outputs.token!)).toBe(404)
  })

  test('two logins in one job, both direct: a later step gets the token it names, and each post step revokes its own', async () => {
    // Two `uses:` steps of a job share RUNNER_TEMP and the job env; each has its own state.
    const runnerTemp = mkdtempSync(join(work, 'two-logins-'))
    const base = { action: ROOT, baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: join(work, 'home') }, runnerEnv: { RUNNER_TEMP: runnerTemp } }
    const secrets = [fix.FIX_APPCRED_SECRET, fix.FIX_USER2_PASSWORD]
    const first = await runStep({
      ...base,
      stage: 'main',
      secrets,
      inputs: {
        'auth-url': keystone.authUrl,
        'application-credential-id': fix.FIX_APPCRED_ID,
        'application-credential-secret': fix.FIX_APPCRED_SECRET
      }
    })
    const jobEnv: Record<string, string> = { ...first.exportedEnv }
    const second = await runStep({
      ...base,
      stage: 'main',
      secrets,
      env: jobEnv,
      inputs: {
        'auth-url': keystone.authUrl,
        'user-id': fix.FIX_USER2_ID,
        password: fix.FIX_USER2_PASSWORD,
        'project-id': fix.FIX_PROJ2_ID
      }
    })
    Object.assign(jobEnv, second.exportedEnv)
    expect([first.status, second.status]).toEqual(['success', 'success'])
    const [tokenA, tokenB] = [first.outputs.token!, second.outputs.token!]
    expect(tokenA).not.toBe(tokenB)

    // `env: OS_TOKEN: ${{ steps.first.outputs.token }}`: the first token, used as it is (an
    // application credential's token cannot be exchanged), with no Keystone request.
    const pickedFirst = await openstack('image list -f value', { ...jobEnv, OS_TOKEN: tokenA, OS_PROJECT_ID: first.outputs['project-id']! })
    expect(pickedFirst.status).toBe(0)
    expect(pickedFirst.keystone).toBe(0)
    expectServedWith(pickedFirst, /^\/image\/v2\/images/, tokenA)
    const latest = await openstack('image list -f value', jobEnv)
    expect(latest.status).toBe(0)
    expect(latest.keystone).toBe(0)
    expectServedWith(latest, /^\/image\/v2\/images/, tokenB)

    // The runner runs post steps in reverse order, each with its own step's state.
    const posts = [await runStep({ ...base, stage: 'post', state: second.state }), await runStep({ ...base, stage: 'post', state: first.state })]
    for (const post of posts) expect(post.stdout).toContain('Token revoked.')
    const admin = await issueAdminToken(keystone)
    expect([await validateToken(keystone.authUrl, admin, tokenA), await validateToken(keystone.authUrl, admin, tokenB)]).toEqual([404, 404])
    rmSync(runnerTemp, { recursive: true, force: true })
  })
})

describe('a renewal (the state file replaced with a fresh token) reaches a process that is running', () => {
  test('openstacksdk gets a 401 for the revoked first token, reads the file again and goes on with the fresh one: no POST of its own', async () => {
    const login = () =>
      issueToken(keystone.authUrl, {
        auth: {
          identity: { methods: ['password'], password: { user: { id: fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD } } },
          scope: { project: { id: fix.FIX_PROJ2_ID } }
        }
      })
    const first = await login()
    const runnerTemp = join(work, 'runner-temp-renewal')
    const env = directEnv({ token: first.token, body: first.body }, runnerTemp)
    // One Keystone call, then wait for a line on stdin, then the same call again, in one process.
    const script = [
      'import sys, openstack',
      'conn = openstack.connect()',
      `print(conn.identity.get_project(${JSON.stringify(fix.FIX_PROJ2_ID)}).name, conn.auth_token == ${JSON.stringify(first.token)}, flush=True)`,
      'sys.stdin.readline()',
      `print(conn.identity.get_project(${JSON.stringify(fix.FIX_PROJ2_ID)}).name, conn.auth_token == ${JSON.stringify(first.token)}, flush=True)`
    ].join('\n')
    const before = (await settledLog(keystone)).length
    const child = spawn('/usr/bin/python3', ['-c', script], { env: { PATH: '/usr/bin:/bin', HOME: join(work, 'home'), ...env } })
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    let stdout = ''
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', chunk => (stderr += chunk))
    const firstLine = new Promise<void>(resolve =>
      child.stdout.setEncoding('utf8').on('data', chunk => {
        stdout += chunk
        if (stdout.includes('\n')) resolve()
      })
    )
    const closed = new Promise<number | null>(resolve => child.on('close', resolve))
    await Promise.race([firstLine, closed])

    // What the renewer does: a fresh token into the first token's file (writeFilesUnder: a temporary
    // file, then renamed over it); the first one revoked.
    const fresh = await login()
    const { issued_at: issuedAt, expires_at: expiresAt } = (fresh.body as { token: { issued_at: string; expires_at: string } }).token
    const validForMs = parseKeystoneTime(expiresAt)!.getTime() - parseKeystoneTime(issuedAt)!.getTime()
    const content = renderTokenState({ value: fresh.token, receivedAt: new Date(), validForMs, document: fresh.body }, keystone.authUrl)
    writeFilesUnder(runnerTemp, [{ path: tokenStatePath(runnerTemp, first.token), content, mode: 0o600 }])
    expect(await revokeToken(keystone.authUrl, first.token, first.token)).toBe(204)

    child.stdin.end('go\n')
    const status = await closed
    clearTimeout(timer)
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' })
    expect(stdout.trim().split('\n')).toEqual([`${fix.FIX_PROJ2_NAME} True`, `${fix.FIX_PROJ2_NAME} False`])
    const lines = (await settledLog(keystone)).slice(before)
    // The test's own two requests (the fresh login, the revocation) and the two GETs, one refused (401) and retried.
    expect(lines.filter(line => line.includes('"POST /v3/auth/tokens'))).toHaveLength(1)
    expect(lines.filter(line => line.includes(`"GET /v3/projects/${fix.FIX_PROJ2_ID}`)).map(line => / (\d{3}) /.exec(line)?.[1])).toEqual([
      '200',
      '401',
      '200'
    ])
  })
})

describe('the smoke test: `openstack token issue` under direct use', () => {
  test('asks Keystone once (no new token), and fails once the token is revoked', async () => {
    const fresh = await issueToken(keystone.authUrl, {
      auth: {
        identity: { methods: ['password'], password: { user: { id: fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD } } },
        scope: { project: { id: fix.FIX_PROJ2_ID } }
      }
    })
    const env = directEnv({ token: fresh.token, body: fresh.body }, join(work, 'runner-temp-smoke'))
    const valid = await openstack('token issue -f value -c id', env)
    expect(valid.status).toBe(0)
    expect(valid.stdout.trim()).toBe(fresh.token)
    expect([valid.keystone, valid.posts]).toEqual([1, 0])
    record('direct', 'password', 'token issue', valid)

    expect(await revokeToken(keystone.authUrl, fresh.token, fresh.token)).toBe(204)
    const revoked = await openstack('token issue -f value -c id', env)
    expect(revoked.status).not.toBe(0)
    expect(revoked.stdout).not.toContain(fresh.token)
    expect(revoked.stderr).toMatch(/openstack-token: Keystone no longer accepts the job's token \(HTTP 40[14]\): it was revoked or has expired\./)
    expect(revoked.posts).toBe(0)
    // Service commands are not slowed down by it: still no Keystone request.
    const service = await openstack('image list -f value', directEnv(tokens.password, join(work, 'runner-temp-password')))
    expect(service.keystone).toBe(0)
  })
})
