import { randomBytes, randomUUID } from 'node:crypto'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { countRequests, issueToken, revokeToken, startKeystone, validateToken, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import { startFederatedKeystone, type FederatedKeystone, type IdTokenEndpoint } from '../../scripts/oidc/oidc.mjs'
import type { JobTranscript, RunStepSpec } from '../../scripts/emulator/runner.mjs'
import { tokenStatePath } from '../../src/handoff/direct-use.js'
import { issueAdminToken, job, OPENSTACK } from './helpers.js'

/**
 * Renewal as a user meets it: Keystones whose tokens live 300 s, and three jobs with the defaults
 * (password, application credential, keyless), run at once. Each calls the `openstack` CLI, an
 * openstacksdk script and an Ansible module at its start and again after its first token expired
 * (in between, one openstacksdk process runs across that expiry and calls before and after it),
 * then its post step runs. Every call succeeds; every token Keystone issued (201) is revoked (204),
 * but the first one of each job, which had expired by then (its DELETE gets 401);
 * no process of the action is left; the password and the secret are in no process's environment or
 * command line and in no file of the job once the main step has ended.
 *
 * The password and the application credential's secret are made for this file alone (random), so
 * that a scan of every /proc/<pid> on the machine finds only what this test leaked.
 */

const LIFE_S = 300
let keystone: KeystoneInstance
let federated: FederatedKeystone
let endpoint: IdTokenEndpoint
let collections: string
const user = { id: '', password: `renewal-${randomBytes(12).toString('hex')}` }
const appcred = { id: '', secret: '' }

async function api(authUrl: string, token: string, method: string, url: string, body?: unknown): Promise<any> {
  const response = await fetch(`${authUrl}${url}`, {
    method,
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000)
  })
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`)
  return response.status === 204 ? undefined : response.json()
}

beforeAll(async () => {
  ;[keystone, federated] = await Promise.all([startKeystone({ tokenExpiration: LIFE_S }), startFederatedKeystone({ tokenExpiration: LIFE_S })])
  endpoint = await federated.startIdTokenEndpoint()
  const fix = keystone.fixtures
  // A user of this file's own, with a member role on proj2, and an application credential of it.
  const admin = await issueAdminToken(keystone)
  const created = await api(keystone.authUrl, admin, 'POST', '/users', {
    user: { name: `renewal-${randomUUID().slice(0, 8)}`, domain_id: fix.FIX_DOM2_ID, password: user.password, default_project_id: fix.FIX_PROJ2_ID }
  })
  user.id = created.user.id
  await api(keystone.authUrl, admin, 'PUT', `/projects/${fix.FIX_PROJ2_ID}/users/${user.id}/roles/${fix.FIX_MEMBER_ROLE_ID}`)
  const own = await issueToken(keystone.authUrl, {
    auth: {
      identity: { methods: ['password'], password: { user: { id: user.id, password: user.password } } },
      scope: { project: { id: fix.FIX_PROJ2_ID } }
    }
  })
  const credential = await api(keystone.authUrl, own.token, 'POST', `/users/${user.id}/application_credentials`, {
    application_credential: { name: `renewal-${randomUUID().slice(0, 8)}` }
  })
  appcred.id = credential.application_credential.id
  appcred.secret = credential.application_credential.secret
  for (const token of [own.token, admin]) await revokeToken(keystone.authUrl, token, token)

  // Debian 12's openstack.cloud refuses its own openstacksdk by a version bound (services.e2e.test.ts).
  collections = fs.mkdtempSync(path.join(tmpdir(), 'renewal-collections-'))
  const copy = path.join(collections, 'ansible_collections', 'openstack', 'cloud')
  fs.cpSync('/usr/lib/python3/dist-packages/ansible_collections/openstack/cloud', copy, { recursive: true })
  const utils = path.join(copy, 'plugins', 'module_utils', 'openstack.py')
  fs.writeFileSync(utils, fs.readFileSync(utils, 'utf8').replace(/^MAXIMUM_SDK_VERSION = .*$/m, 'MAXIMUM_SDK_VERSION = None'))
}, 600_000)

afterAll(async () => {
  await endpoint?.close()
  await Promise.all([keystone?.stop(), federated?.stop()])
  if (collections) fs.rmSync(collections, { recursive: true, force: true })
})

/** Every process on the machine whose environment or command line holds one of `secrets`. */
function processesHolding(secrets: string[]): string[] {
  const found: string[] = []
  for (const pid of fs.readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
    for (const part of ['environ', 'cmdline']) {
      let text: string
      try {
        text = fs.readFileSync(`/proc/${pid}/${part}`, 'utf8')
      } catch {
        continue
      }
      for (const secret of secrets) if (text.includes(secret)) found.push(`/proc/${pid}/${part}`)
    }
  }
  return found
}

/** Every file under `dirs` that holds one of `secrets`. */
function filesHolding(dirs: string[], secrets: string[]): string[] {
  const found: string[] = []
  for (const dir of dirs) {
    for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue
      const file = path.join(entry.parentPath, entry.name)
      let text: string
      try {
        text = fs.readFileSync(file, 'utf8')
      } catch {
        continue
      }
      for (const secret of secrets) if (text.includes(secret)) found.push(file)
    }
  }
  return found
}

/** Processes started in this job (the runner's orphan check): their environment carries its RUNNER_TRACKING_ID. */
function processesOfJob(trackingId: string): string[] {
  return fs
    .readdirSync('/proc')
    .filter(name => /^\d+$/.test(name))
    .filter(pid => {
      try {
        return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`RUNNER_TRACKING_ID=${trackingId}`)
      } catch {
        return false
      }
    })
    .map(pid => `${pid}: ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`)
}

interface Seen {
  /** What the scans found while the job ran, once the main step had ended. */
  leaks: string[]
  /** The tokens the token state held, first and last. */
  tokens: string[]
}

const ANSIBLE_ENV = { ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' }
const SDK_SCRIPT = [
  'import openstack',
  'c = openstack.connect()',
  // GET /v3/auth/projects: any token may read it, and Keystone checks the token to answer.
  'r = c.identity.get("/auth/projects")',
  'print(r.status_code, c.current_project_id)'
].join('; ')

/**
 * A process that calls Keystone's API, sleeps until its token has expired, and calls again: its
 * auth plugin must take the renewed token (keystoneauth asks it again before the token's last 120 s).
 */
const RUNNING_SCRIPT = [
  'import datetime, time, openstack',
  'c = openstack.connect()',
  'first = c.identity.get("/auth/projects").status_code',
  'expires = c.session.auth.get_auth_ref(c.session).expires',
  'time.sleep(max(0, (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds() + 10))',
  'print(first, c.identity.get("/auth/projects").status_code)'
].join('; ')

/** The calls of each round: the CLI, an openstacksdk script, an Ansible module. */
function calls(round: number): RunStepSpec[] {
  return [
    { name: `cli ${round}`, run: `${OPENSTACK} token issue -f value -c project_id` },
    { name: `sdk ${round}`, run: `/usr/bin/python3 -c '${SDK_SCRIPT}'` },
    {
      name: `ansible ${round}`,
      env: { ...ANSIBLE_ENV, ANSIBLE_COLLECTIONS_PATH: collections },
      run: `/usr/bin/ansible localhost -o -m openstack.cloud.auth | grep -o '^localhost | SUCCESS'`
    }
  ].map(step => ({ ...step, timeoutMs: 120_000 }))
}

async function renewalJob(inputs: Record<string, string>, secrets: string[], runnerEnv: Record<string, string> = {}) {
  const trackingId = `github_${randomUUID()}`
  const seen: Seen = { leaks: [], tokens: [] }
  const scan = (env: Record<string, string>): void => {
    seen.leaks.push(...processesHolding(secrets), ...filesHolding([path.dirname(env.RUNNER_TEMP!), env.GITHUB_WORKSPACE!], secrets))
  }
  const stateOf = (env: Record<string, string>): string =>
    (JSON.parse(fs.readFileSync(tokenStatePath(env.RUNNER_TEMP!, env.OS_TOKEN!), 'utf8')) as { auth_token: string }).auth_token
  const transcript = await job({
    inputs,
    secrets,
    runnerEnv,
    baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', RUNNER_TRACKING_ID: trackingId },
    timeoutMs: 120_000,
    steps: [
      {
        name: 'start',
        fn: ({ env }) => {
          seen.tokens.push(env.OS_TOKEN!)
          scan(env)
        }
      },
      ...calls(1),
      // One process that outlives the first token: it must take the renewed one by itself.
      { name: 'running sdk process', timeoutMs: (LIFE_S + 90) * 1000, run: `/usr/bin/python3 -c '${RUNNING_SCRIPT}'` },
      ...calls(2),
      {
        name: 'collect',
        fn: ({ env }) => {
          seen.tokens.push(stateOf(env))
          scan(env)
        }
      }
    ]
  })
  return { transcript, seen, trackingId }
}

function outputOf(t: JobTranscript, name: string): string[] {
  return t.step(name)?.stdout ?? []
}

test(
  'password, application credential and keyless: renewed past the first token, all revoked, nothing left, no secret exposed',
  async () => {
    const fix = keystone.fixtures
    const issued = () => countRequests(keystone.accessLogPath, { method: 'POST', path: '/v3/auth/tokens', status: 201 })
    const revoked = () => countRequests(keystone.accessLogPath, { method: 'DELETE', path: '/v3/auth/tokens', status: 204 })
    // An expired token cannot authenticate its own revocation: 401 (404 when another token asks).
    const expired = () =>
      [401, 404].reduce((n, status) => n + countRequests(keystone.accessLogPath, { method: 'DELETE', path: '/v3/auth/tokens', status }), 0)
    const fedIssued = () => federated.countRequests({ method: 'POST', path: '/v3/', status: 201 })
    const fedRevoked = () => federated.countRequests({ method: 'DELETE', path: '/v3/auth/tokens', status: 204 })
    const fedExpired = () => [401, 404].reduce((n, status) => n + federated.countRequests({ method: 'DELETE', path: '/v3/auth/tokens', status }), 0)
    const before = {
      issued: issued(),
      revoked: revoked(),
      expired: expired(),
      fedIssued: fedIssued(),
      fedRevoked: fedRevoked(),
      fedExpired: fedExpired()
    }

    const jobs = await Promise.all([
      renewalJob({ 'auth-url': keystone.authUrl, 'user-id': user.id, password: user.password, 'project-id': fix.FIX_PROJ2_ID }, [user.password]),
      renewalJob({ 'auth-url': keystone.authUrl, 'application-credential-id': appcred.id, 'application-credential-secret': appcred.secret }, [
        appcred.secret
      ]),
      renewalJob(
        {
          'auth-url': federated.authUrl,
          'identity-provider': federated.identityProvider,
          audience: federated.audience,
          'project-id': federated.fixtures.projectId
        },
        [endpoint.requestToken],
        endpoint.runnerEnv()
      )
    ])
    const [password, application, keyless] = jobs

    // Apache and gunicorn write a request's line once it has answered: let the last ones land.
    for (
      let i = 0;
      i < 50 &&
      (revoked() + expired() - before.revoked - before.expired < issued() - before.issued ||
        fedRevoked() + fedExpired() - before.fedRevoked - before.fedExpired < fedIssued() - before.fedIssued);
      i++
    ) {
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    const report: string[] = []
    const outcomes: Record<string, unknown> = {}
    const expected: Record<string, unknown> = {}
    for (const [name, { transcript: t, seen }] of Object.entries({ password, application, keyless })) {
      const post = (t.post?.stdout ?? []).filter(l => !l.startsWith('::add-mask::'))
      report.push(`${name}: main step ${t.main?.durationMs} ms; post step: ${post.join(' | ')}`)
      const project = name === 'keyless' ? federated.fixtures.projectId : fix.FIX_PROJ2_ID
      outcomes[name] = {
        failed: t.steps.filter(s => s.status !== 'success').map(s => `${s.name}: ${[...s.stdout, ...s.stderr].slice(-3).join(' / ')}`),
        calls: [1, 2].map(round => [outputOf(t, `cli ${round}`), outputOf(t, `sdk ${round}`), outputOf(t, `ansible ${round}`)]),
        running: outputOf(t, 'running sdk process'),
        // A renewal landed before the first token expired, and the post step revoked what it got.
        renewed: seen.tokens.length === 2 && seen.tokens[0] !== seen.tokens[1],
        renewedRevoked: post.some(line => line === 'Renewed token revoked.'),
        warnings: post.filter(line => line.startsWith('::warning::')),
        leaks: seen.leaks
      }
      expected[name] = {
        failed: [],
        calls: [1, 2].map(() => [[project], [`200 ${project}`], ['localhost | SUCCESS']]),
        running: ['200 200'],
        renewed: true,
        renewedRevoked: true,
        warnings: [],
        leaks: []
      }
    }
    console.log(report.join('\n'))
    expect(outcomes).toEqual(expected)

    // Every token Keystone issued during the jobs was revoked (204), but each job's first token: it
    // had expired before the post step, whose DELETE then got 401.
    expect({ revoked: revoked() - before.revoked, expired: expired() - before.expired }).toEqual({
      revoked: issued() - before.issued - 2,
      expired: 2
    })
    expect({ revoked: fedRevoked() - before.fedRevoked, expired: fedExpired() - before.fedExpired }).toEqual({
      revoked: fedIssued() - before.fedIssued - 1,
      expired: 1
    })
    // The first and the last token of each job no longer validate.
    const admin = await issueAdminToken(keystone)
    for (const token of [...password.seen.tokens, ...application.seen.tokens]) expect(await validateToken(keystone.authUrl, admin, token)).toBe(404)
    await revokeToken(keystone.authUrl, admin, admin)
    // No process of any job is left, and no process holds a secret.
    for (const { trackingId } of jobs) expect(processesOfJob(trackingId)).toEqual([])
    expect(processesHolding([user.password, appcred.secret, endpoint.requestToken])).toEqual([])
  },
  15 * 60_000
)
