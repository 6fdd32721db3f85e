import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startCloud, type Cloud } from '../../scripts/cloud.mjs'
import { issueToken, validateToken, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import type { JobTranscript, RunStepSpec } from '../../scripts/emulator/runner.mjs'
import { clientRequests, type ServicesInstance } from '../../scripts/services/services.mjs'
import { startFederatedKeystone, type FederatedKeystone, type IdTokenEndpoint } from '../../scripts/oidc/oidc.mjs'
import { inTrixie, trixieRoot, trixieScript } from '../../scripts/trixie/trixie.mjs'
import { issueAdminToken, job, leaks, ROOT } from './helpers.js'

/**
 * Today's OpenStack as well as 2022's: the later steps of the main scenarios run with Debian 13's
 * (trixie) clients, inside the root of scripts/trixie (python-openstackclient 7, openstacksdk 4,
 * keystoneauth1 5.10, Python 3.13, Ansible's openstack.cloud 2, swift 4.7), against Keystone 22 (the
 * host's Debian 12) and Keystone 27 (2025.1, started inside the root by the same
 * scripts/keystone/start.sh), each with the host's Glance and Swift in its catalog. The action itself
 * runs on the host's Node, as the runner runs it; RUNNER_TEMP is bound into the root at its path.
 * The other e2e files run the same scenarios with Debian 12's clients.
 *
 * One job per login kind and stack: each later step counts the Keystone requests its command made
 * (the access log, without the services' validations). The figures are printed at the end, and the
 * versions each stack's tools report are held to README's "Tested with" table.
 */

const trixie = trixieRoot()
const describeIfRoot = 'root' in trixie ? describe : describe.skip
if ('reason' in trixie) console.log(`Debian 13 stack: skipped, ${trixie.reason}`)

// The root's own tools, by full path inside it.
const OPENSTACK = '/usr/bin/openstack'
const PYTHON = '/usr/bin/python3'
const SWIFT = '/usr/bin/swift'
const ANSIBLE = '/usr/bin/ansible'
const ANSIBLE_ENV = 'ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3'
// What `pip install python-openstackclient` gives: no keyring package at all.
const HIDE_KEYRING = ['/usr/lib/python3/dist-packages/keyring', '/usr/lib/python3/dist-packages/keyring-*.dist-info']

interface Stack {
  name: string
  cloud: Cloud
  keystone: KeystoneInstance
  services: ServicesInstance
  adminToken: string
  imageReader: { id: string; secret: string }
}
const stacks: Record<'22' | '27', Stack> = {} as never
const figures: string[] = []

// The versions a stack's tools report, as README's "Tested with" table names them.
const VERSIONS_SCRIPT = [
  'import importlib.metadata as m, json, platform',
  'names = {"Keystone": "keystone", "python-openstackclient": "python-openstackclient", "openstacksdk": "openstacksdk",',
  '         "keystoneauth1": "keystoneauth1", "keyring": "keyring", "python-swiftclient": "python-swiftclient", "ansible-core": "ansible-core"}',
  'v = {tool: m.version(dist) for tool, dist in names.items()}',
  'v["Python"] = platform.python_version()',
  'v["openstack.cloud"] = json.load(open("/usr/lib/python3/dist-packages/ansible_collections/openstack/cloud/MANIFEST.json"))["collection_info"]["version"]',
  'print(json.dumps(v))'
].join('\n')

const SDK_SCRIPT = ['import openstack', 'conn = openstack.connect()', 'print(len(list(conn.image.images())) >= 0, conn.current_project_id)'].join(
  '\n'
)

async function api(stack: Stack, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${stack.keystone.authUrl}${path}`, {
    method,
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000)
  })
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return response.status === 204 ? undefined : response.json()
}

async function startStack(name: string, inRoot: boolean): Promise<Stack> {
  const cloud = await startCloud({
    ...(inRoot && { keystone: { within: (command: string[], binds: string[]) => inTrixie(command, { binds, keepMounts: true }) } }),
    services: true
  })
  const { keystone, services } = cloud as Required<Cloud>
  const fix = keystone.fixtures
  const adminToken = await issueAdminToken(keystone)
  const stack: Stack = { name, cloud, keystone, services, adminToken, imageReader: { id: '', secret: 'image-reader-secret' } }
  const user2 = await issueToken(keystone.authUrl, {
    auth: {
      identity: { methods: ['password'], password: { user: { id: fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD } } },
      scope: { project: { id: fix.FIX_PROJ2_ID } }
    }
  })
  const created = await api(stack, user2.token, 'POST', `/users/${fix.FIX_USER2_ID}/application_credentials`, {
    application_credential: {
      name: 'image-reader',
      secret: 'image-reader-secret',
      access_rules: [{ service: 'image', method: 'GET', path: '/v2/images' }]
    }
  })
  stack.imageReader.id = created.application_credential.id
  return stack
}

beforeAll(async () => {
  if (!('root' in trixie)) return
  const started = Date.now()
  // One after the other: on a 2-core machine two Keystone starts at once only slow each other.
  stacks['22'] = await startStack('Keystone 22 (host, Debian 12)', false)
  stacks['27'] = await startStack('Keystone 27 (Debian 13 root)', true)
  figures.push(`both clouds (Keystone, Glance, Swift) started in ${Date.now() - started} ms`)
}, 900_000)

afterAll(async () => {
  if (figures.length > 0) console.log(['Debian 13 clients (trixie root), Keystone 22 and 27:', ...figures.map(f => `  ${f}`)].join('\n'))
  for (const stack of Object.values(stacks)) await stack?.cloud.stop()
})

/**
 * A later step that runs `script` inside the Debian 13 root with the job's environment, and prints
 * the access-log line numbers around it so the test can count this step's Keystone requests.
 */
function measured(stack: Stack, name: string, script: string, hide: string[] = []): RunStepSpec {
  const log = stack.keystone.accessLogPath
  const inside = trixieScript(script, { hide })
  return { name, run: `set +e\nb=$(wc -l < ${log})\n${inside}\nrc=$?\nsleep 0.2\necho "keystone-lines $b $(wc -l < ${log})"\nexit $rc` }
}

function cost(stack: Stack, transcript: JobTranscript, name: string): { all: number; posts: number } {
  const line = (transcript.step(name)?.stdout ?? []).find(l => l.startsWith('keystone-lines '))
  if (!line) throw new Error(`step ${name} printed no keystone-lines: ${JSON.stringify(transcript.step(name))}`)
  const [, from, to] = line.split(' ').map(Number)
  const { all, posts } = clientRequests(stack.keystone.accessLogPath, from, to)
  return { all, posts }
}

function out(transcript: JobTranscript, name: string): string[] {
  return (transcript.step(name)?.stdout ?? []).filter(l => !l.startsWith('keystone-lines '))
}

/** The step succeeded; on failure the assertion shows what it printed. */
function expectSuccess(transcript: JobTranscript, name: string): void {
  const step = transcript.step(name)
  expect({ name, status: step?.status, stderr: step?.status === 'success' ? [] : step?.stderr.slice(-8) }).toEqual({
    name,
    status: 'success',
    stderr: []
  })
}

function record(stack: Stack, what: string, transcript: JobTranscript, names: string[]): void {
  figures.push(
    `${stack.name}, ${what}: ${names.map(n => `${n} ${cost(stack, transcript, n).posts} POST / ${cost(stack, transcript, n).all} in all`).join('; ')}`
  )
}

const logins = (stack: Stack) => {
  const fix = stack.keystone.fixtures
  return {
    password: { 'user-id': fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD, 'project-id': fix.FIX_PROJ2_ID },
    'application credential': { 'application-credential-id': fix.FIX_APPCRED_ID, 'application-credential-secret': fix.FIX_APPCRED_SECRET }
  }
}
const secrets = (stack: Stack) => [stack.keystone.fixtures.FIX_USER2_PASSWORD, stack.keystone.fixtures.FIX_APPCRED_SECRET, stack.imageReader.secret]

describeIfRoot("Debian 13's clients in later steps, against Keystone 22 and Keystone 27", () => {
  const keystones = [['22'], ['27']] as const

  test.each(keystones)(
    'Keystone %s: password (direct, exchange) and application credential (direct, with no keyring package installed): openstack, openstacksdk, Ansible, swift; revoked after the post step',
    async which => {
      const stack = stacks[which]
      const fix = stack.keystone.fixtures
      // The application credential's job runs as after `pip install python-openstackclient`: no
      // keyring package at all (the root's is hidden from every step of that job).
      const cases = [
        ['password', 'direct', 'keyring installed'],
        ['password', 'exchange', 'keyring installed'],
        ['application credential', 'direct', 'no keyring package']
      ] as const
      for (const [kind, tokenUse, keyring] of cases) {
        const perCall = tokenUse === 'exchange' ? 1 : 0
        const hide = keyring === 'no keyring package' ? HIDE_KEYRING : []
        const step = (name: string, script: string) => measured(stack, name, script, hide)
        const steps: RunStepSpec[] = [
          { name: 'keyring', run: trixieScript(`${PYTHON} -c 'import keyring' 2>&1 | tail -1`, { hide }) },
          step('project show', `${OPENSTACK} project show ${fix.FIX_PROJ2_ID} -f value -c id`),
          step('image list', `${OPENSTACK} image list -f value -c ID >/dev/null && echo listed`),
          step('openstacksdk', `${PYTHON} -c '${SDK_SCRIPT}'`),
          step('ansible auth', `${ANSIBLE_ENV} ${ANSIBLE} localhost -o -m openstack.cloud.auth | grep -o '^localhost | SUCCESS'`),
          step('ansible image_info', `${ANSIBLE_ENV} ${ANSIBLE} localhost -o -m openstack.cloud.image_info | grep -o '^localhost | SUCCESS'`),
          step('swift', `${SWIFT} post ci-${tokenUse} && ${SWIFT} list`)
        ]
        const t = await job({
          inputs: { 'auth-url': stack.keystone.authUrl, ...logins(stack)[kind], 'token-use': tokenUse },
          secrets: secrets(stack),
          steps
        })
        const what = `${kind}, ${tokenUse}, ${keyring}`
        expect(out(t, 'keyring')).toEqual(hide.length > 0 ? [expect.stringMatching(/ModuleNotFoundError: No module named 'keyring'/)] : [])
        for (const { name } of steps.slice(1)) expectSuccess(t, name!)
        expect(out(t, 'project show')).toEqual([fix.FIX_PROJ2_ID])
        expect(out(t, 'image list')).toEqual(['listed'])
        expect(out(t, 'openstacksdk')).toEqual([`True ${fix.FIX_PROJ2_ID}`])
        expect(out(t, 'ansible auth')).toEqual(['localhost | SUCCESS'])
        expect(out(t, 'ansible image_info')).toEqual(['localhost | SUCCESS'])
        expect(out(t, 'swift')).toContain(`ci-${tokenUse}`)
        // A login per call with exchange; none with direct use. swift takes OS_AUTH_TOKEN and
        // OS_STORAGE_URL as they are.
        for (const name of ['project show', 'image list', 'openstacksdk', 'ansible auth', 'ansible image_info']) {
          expect({ what, name, posts: cost(stack, t, name).posts }).toEqual({ what, name, posts: perCall })
        }
        expect(cost(stack, t, 'swift').all).toBe(0)
        expect(t.post?.stdout).toContain('Token revoked.')
        expect(await validateToken(stack.keystone.authUrl, stack.adminToken, t.outputs.token!)).toBe(404)
        expect(leaks(t, [t.outputs.token!, ...secrets(stack)])).toEqual([])
        record(stack, what, t, ['project show', 'image list', 'openstacksdk', 'ansible auth', 'ansible image_info', 'swift'])
      }
    },
    600_000
  )

  test.each(keystones)(
    'Keystone %s: an application credential with access rules: image list works, the rest is refused; the post step warns that the token stays valid, and it does',
    async which => {
      const stack = stacks[which]
      const attempt = (command: string) => `if ${command} >/dev/null 2>err.txt; then echo allowed; else echo refused; fi`
      const t = await job({
        inputs: {
          'auth-url': stack.keystone.authUrl,
          'application-credential-id': stack.imageReader.id,
          'application-credential-secret': stack.imageReader.secret
        },
        secrets: secrets(stack),
        steps: [
          measured(stack, 'image list', `${OPENSTACK} image list -f value -c ID >/dev/null && echo listed`),
          measured(stack, 'openstacksdk', `${PYTHON} -c '${SDK_SCRIPT}'`),
          { name: 'swift list', run: trixieScript(attempt(`${SWIFT} list`)) }
        ]
      })
      expectSuccess(t, 'image list')
      expect(out(t, 'image list')).toEqual(['listed'])
      expect(out(t, 'openstacksdk')).toEqual([`True ${stack.keystone.fixtures.FIX_PROJ2_ID}`])
      expect(out(t, 'swift list')).toEqual(['refused'])
      for (const name of ['image list', 'openstacksdk']) expect(cost(stack, t, name).posts).toBe(0)
      expect(t.post?.stdout.join('\n')).toMatch(
        /::warning::Keystone could not revoke this token: it comes from an application credential with access rules/
      )
      // Still valid: an admin's validation with access-rules support accepts it.
      const response = await fetch(`${stack.keystone.authUrl}/auth/tokens`, {
        headers: { 'X-Auth-Token': stack.adminToken, 'X-Subject-Token': t.outputs.token!, 'OpenStack-Identity-Access-Rules': '1.0' },
        signal: AbortSignal.timeout(15_000)
      })
      expect(response.status).toBe(200)
      record(stack, 'application credential with access rules, direct', t, ['image list', 'openstacksdk'])
    },
    300_000
  )

  test("README's Tested with table names the versions each stack's tools report", () => {
    const host = JSON.parse(execFileSync('/usr/bin/python3', ['-c', VERSIONS_SCRIPT], { encoding: 'utf8', timeout: 60_000 }))
    const [command, ...args] = inTrixie([PYTHON, '-c', VERSIONS_SCRIPT], { binds: [ROOT] })
    const root = JSON.parse(execFileSync(command, args, { encoding: 'utf8', timeout: 60_000, cwd: ROOT }))
    const found = [
      ...Object.entries(host as Record<string, string>).map(([tool, version]) => `${tool} | ${version} | Debian 12`),
      ...Object.entries(root as Record<string, string>).map(([tool, version]) => `${tool} | ${version} | Debian 13`)
    ]
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('### Tested with'))
    const table = section
      .split('\n')
      .filter(line => /^\| .* \| (Debian 12|Debian 13) \|$/.test(line))
      .map(line => line.slice(2, -2))
    expect(table.sort()).toEqual(found.sort())
  })
})

describeIfRoot("the auth plugin of token-use: direct under Debian 13's Python and keystoneauth", () => {
  test("its own tests pass there (python3 -m unittest discover -s src/python), as they do on the host's Debian 12 (python-plugin.test.ts)", () => {
    const [command, ...args] = inTrixie([PYTHON, '-m', 'unittest', 'discover', '-v', '-s', join(ROOT, 'src', 'python')], { binds: [ROOT] })
    const result = spawnSync(command, args, {
      encoding: 'utf8',
      timeout: 120_000,
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: '/root', PYTHONDONTWRITEBYTECODE: '1', LANG: 'C.UTF-8' }
    })
    expect({ status: result.status, tail: result.stderr.trim().split('\n').slice(-3) }).toEqual({ status: 0, tail: expect.arrayContaining(['OK']) })
    expect(Number(/^Ran (\d+) tests?/m.exec(result.stderr)?.[1])).toBeGreaterThanOrEqual(20)
    expect(result.stderr).not.toMatch(/skipped/)
  })
})

describeIfRoot("Debian 13's clients after a keyless login (the federated Keystone 22 in Apache, which runs on the host only)", () => {
  let ks: FederatedKeystone
  let endpoint: IdTokenEndpoint

  beforeAll(async () => {
    if (!('root' in trixie)) return
    ks = await startFederatedKeystone()
    endpoint = await ks.startIdTokenEndpoint()
  }, 600_000)

  afterAll(async () => {
    await endpoint?.close()
    await ks?.stop()
  })

  /** A later step inside the root that prints how many POST /v3/auth/tokens Apache logged meanwhile. */
  function counted(name: string, script: string): RunStepSpec {
    const log = ks.accessLogPath
    const posts = `grep -c '"POST /v3/auth/tokens' ${log} || true`
    return { name, run: `set +e\nb=$(${posts})\n${trixieScript(script)}\nrc=$?\nsleep 0.2\necho "keystone-posts $(( $(${posts}) - b ))"\nexit $rc` }
  }
  const posts = (t: JobTranscript, name: string) =>
    Number((t.step(name)?.stdout ?? []).find(l => l.startsWith('keystone-posts '))?.split(' ')[1] ?? NaN)

  test.each([
    ['direct', 0],
    ['exchange', 1]
  ] as const)(
    'token-use: %s: openstack and openstacksdk work with the scoped token, %d POST per call; revoked after the post step',
    async (tokenUse, perCall) => {
      const projectId = ks.fixtures.projectId
      const t = await job({
        inputs: {
          'auth-url': ks.authUrl,
          'identity-provider': ks.identityProvider,
          audience: ks.audience,
          'project-id': projectId,
          'token-use': tokenUse
        },
        runnerEnv: endpoint.runnerEnv(),
        steps: [
          counted('project show', `${OPENSTACK} project show ${projectId} -f value -c id`),
          counted('openstacksdk', `${PYTHON} -c 'import openstack; print(openstack.connect().current_project_id)'`)
        ]
      })
      for (const name of ['project show', 'openstacksdk']) {
        expectSuccess(t, name)
        expect(out(t, name).filter(l => !l.startsWith('keystone-posts '))).toEqual([projectId])
        expect({ name, posts: posts(t, name) }).toEqual({ name, posts: perCall })
      }
      expect(t.post?.stdout).toContain('Token revoked.')
      figures.push(
        `keyless (federated Keystone 22, host), ${tokenUse}: project show ${posts(t, 'project show')} POST; openstacksdk ${posts(t, 'openstacksdk')} POST`
      )
    }
  )
})
