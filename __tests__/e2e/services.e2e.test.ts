import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCloud, type Cloud } from '../../scripts/cloud.mjs'
import { issueToken, validateToken, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import type { JobTranscript, RunStepSpec } from '../../scripts/emulator/runner.mjs'
import { clientRequests, type ServicesInstance } from '../../scripts/services/services.mjs'
import { job, leaks, OPENSTACK, ROOT, issueAdminToken } from './helpers.js'

/**
 * The work after the login, on real services: Glance (image) and Swift (object-store) from Debian's
 * packages, behind keystonemiddleware, validating against the real Keystone; the built action run
 * through the runner emulator; the real tools in later steps (`openstack`, `swift`, `rclone`,
 * openstacksdk). One Keystone and one set of services serve every test of this file.
 *
 * Each measured step counts the Keystone requests its command made (the access log, without the
 * services' own validations and service-user logins). The figures are printed at the end.
 */

const SWIFT = '/usr/bin/swift'
const RCLONE = '/usr/bin/rclone'
// keystonemiddleware's token_cache_time, lowered from its default (300 s) so that the window after
// revocation is measured in bounded time.
const CACHE_TIME_S = 10
const KEEP = 2
// rclone: a remote "os" of type swift that takes everything from OS_* variables.
const RCLONE_ENV = { RCLONE_CONFIG_OS_TYPE: 'swift', RCLONE_CONFIG_OS_ENV_AUTH: 'true' }

let cloud: Cloud
let keystone: KeystoneInstance
let services: ServicesInstance
let fix: KeystoneInstance['fixtures']
let adminToken: string
let proj3: string
let imageReader: { id: string; secret: string }
let node24: string
const figures: string[] = []

const password = () => ({ 'user-id': fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD, 'project-id': fix.FIX_PROJ2_ID })
const appcred = () => ({ 'application-credential-id': fix.FIX_APPCRED_ID, 'application-credential-secret': fix.FIX_APPCRED_SECRET })
const secrets = () => [fix.FIX_USER2_PASSWORD, fix.FIX_APPCRED_SECRET, imageReader?.secret ?? '']

async function api(token: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${keystone.authUrl}${path}`, {
    method,
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000)
  })
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return response.status === 204 ? undefined : response.json()
}

beforeAll(async () => {
  const started = Date.now()
  cloud = await startCloud({ services: { tokenCacheTime: CACHE_TIME_S } })
  ;({ keystone, services } = cloud as Required<Cloud>)
  fix = keystone.fixtures
  figures.push(`Keystone, then Glance + Swift started in ${Date.now() - started} ms (scripts/cloud.mjs)`)

  adminToken = await issueAdminToken(keystone)
  // A second project of user2, for the copy between two scopes.
  proj3 = (await api(adminToken, 'POST', '/projects', { project: { name: 'proj3', domain_id: fix.FIX_DOM2_ID } })).project.id
  await api(adminToken, 'PUT', `/projects/${proj3}/users/${fix.FIX_USER2_ID}/roles/${fix.FIX_MEMBER_ROLE_ID}`)
  // The least-privilege pipeline credential: user2 makes it with a token of its own.
  const user2 = await issueToken(keystone.authUrl, {
    auth: {
      identity: { methods: ['password'], password: { user: { id: fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD } } },
      scope: { project: { id: fix.FIX_PROJ2_ID } }
    }
  })
  const created = await api(user2.token, 'POST', `/users/${fix.FIX_USER2_ID}/application_credentials`, {
    application_credential: {
      name: 'image-reader',
      secret: 'image-reader-secret',
      access_rules: [{ service: 'image', method: 'GET', path: '/v2/images' }]
    }
  })
  imageReader = { id: created.application_credential.id, secret: 'image-reader-secret' }
  node24 = execFileSync('bash', [`${ROOT}/scripts/node24/install.sh`], { encoding: 'utf8', timeout: 300_000 }).trim()
}, 900_000)

afterAll(async () => {
  if (figures.length > 0) console.log(['Real services (Glance, Swift):', ...figures.map(f => `  ${f}`)].join('\n'))
  await cloud?.stop()
})

/**
 * A later step that runs `command` and prints the access-log line numbers around it, so the test
 * can count the Keystone requests this step made. The command's status is the step's.
 */
function measured(name: string, command: string, extra: Partial<RunStepSpec> = {}): RunStepSpec {
  const log = keystone.accessLogPath
  return {
    name,
    run: `set +e\nb=$(wc -l < ${log})\n${command}\nrc=$?\nsleep 0.2\necho "keystone-lines $b $(wc -l < ${log})"\nexit $rc`,
    ...extra
  }
}

/** Keystone requests of a measured step (clients only). */
function cost(transcript: JobTranscript, name: string): { all: number; posts: number } {
  const line = (transcript.step(name)?.stdout ?? []).find(l => l.startsWith('keystone-lines '))
  if (!line) throw new Error(`step ${name} printed no keystone-lines: ${JSON.stringify(transcript.step(name))}`)
  const [, from, to] = line.split(' ').map(Number)
  const { all, posts } = clientRequests(keystone.accessLogPath, from, to)
  return { all, posts }
}

/** The step's output without the keystone-lines marker. */
function out(transcript: JobTranscript, name: string): string[] {
  return (transcript.step(name)?.stdout ?? []).filter(l => !l.startsWith('keystone-lines '))
}

async function expectRevoked(token: string): Promise<void> {
  expect(await validateToken(keystone.authUrl, adminToken, token)).toBe(404)
}

function record(what: string, transcript: JobTranscript, names: string[]): void {
  figures.push(`${what}: ${names.map(n => `${n} ${cost(transcript, n).all}`).join(', ')} Keystone requests`)
}

describe('1. scheduled snapshot pipeline: upload, list, prune to the newest 2, revoke', () => {
  const uploads = ['upload 1', 'upload 2', 'upload 3']
  function pipeline(tag: string): RunStepSpec[] {
    const create = `${OPENSTACK} image create --file snap.raw --disk-format raw --container-format bare --property pipeline=${tag} ${tag}-$(date +%s%N) -f value -c id`
    const list = `${OPENSTACK} image list --property pipeline=${tag} --sort created_at:desc -f value -c ID`
    return [
      // one second apart: Glance's created_at, the pruning order, has a resolution of a second
      ...uploads.map(name => measured(name, `sleep 1\n${create}`)),
      measured('list', list),
      measured('prune', `${list} | tail -n +${KEEP + 1} | xargs -r ${OPENSTACK} image delete`),
      { name: 'left', run: list }
    ]
  }
  const before: RunStepSpec[] = [{ name: 'snapshot file', run: 'head -c 65536 /dev/urandom > snap.raw' }]

  test.each([
    ['password', 'exchange', 1],
    ['password', 'direct', 0],
    ['application credential', 'direct', 0]
  ] as const)('%s, token-use: %s: works, %d Keystone requests per openstack call', async (kind, tokenUse, perCall) => {
    const tag = `nightly-${kind === 'password' ? 'pw' : 'ac'}-${tokenUse}`
    const t = await job({
      inputs: { 'auth-url': keystone.authUrl, ...(kind === 'password' ? password() : appcred()), 'token-use': tokenUse },
      secrets: secrets(),
      before,
      steps: pipeline(tag)
    })
    expect(t.failed).toBe(false)
    const ids = uploads.map(name => out(t, name)[0])
    // The newest two stay, newest first; the oldest is gone.
    expect(out(t, 'left')).toEqual([ids[2], ids[1]])
    for (const name of [...uploads, 'list']) expect(cost(t, name)).toEqual({ all: perCall, posts: perCall })
    // prune: two openstack processes (list, delete)
    expect(cost(t, 'prune').posts).toBe(2 * perCall)
    expect(t.post?.stdout).toContain('Token revoked.')
    await expectRevoked(t.outputs.token!)
    expect(leaks(t, [t.outputs.token!, ...secrets()])).toEqual([])
    record(`snapshot pipeline, ${kind}, ${tokenUse}`, t, ['upload 1', 'list', 'prune'])
  })

  test('application credential with token-use: exchange: the CLI cannot use the token (Keystone refuses the exchange), as the action warns', async () => {
    const t = await job({
      inputs: { 'auth-url': keystone.authUrl, ...appcred(), 'token-use': 'exchange' },
      secrets: secrets(),
      before,
      steps: pipeline('nightly-ac-exchange').slice(0, 1)
    })
    expect(t.main?.stdout.join('\n')).toMatch(/::warning::.*token-use: direct/)
    expect(t.step('upload 1')?.status).toBe('failure')
    expect(t.post?.stdout).toContain('Token revoked.')
  })
})

describe('2. backups to object storage: openstack, swift and rclone', () => {
  const backupSteps = (container: string): RunStepSpec[] => [
    measured('container create', `${OPENSTACK} container create ${container} -f value -c container`),
    measured('object create', `${OPENSTACK} object create ${container} data/a.txt -f value -c object`),
    measured('object list', `${OPENSTACK} object list ${container} -f value -c Name`),
    measured('swift upload', `${SWIFT} upload ${container} data/b.bin`),
    measured('swift list', `${SWIFT} list ${container}`),
    measured('rclone copy', `${RCLONE} copy data os:${container}/rclone`, { env: RCLONE_ENV }),
    measured('rclone ls', `${RCLONE} lsf -R os:${container}`, { env: RCLONE_ENV })
  ]
  const before: RunStepSpec[] = [{ name: 'data', run: 'mkdir data && echo hello > data/a.txt && head -c 100000 /dev/urandom > data/b.bin' }]

  test.each([
    ['password', 'exchange'],
    ['password', 'direct'],
    ['application credential', 'direct']
  ] as const)(
    '%s, token-use: %s: OS_AUTH_TOKEN and OS_STORAGE_URL from a bare uses:, swift and rclone make no Keystone request',
    async (kind, tokenUse) => {
      const container = `backups-${kind === 'password' ? 'pw' : 'ac'}-${tokenUse}`
      const t = await job({
        inputs: { 'auth-url': keystone.authUrl, ...(kind === 'password' ? password() : appcred()), 'token-use': tokenUse },
        secrets: secrets(),
        before,
        steps: backupSteps(container)
      })
      expect(t.failed).toBe(false)
      expect(t.env.OS_STORAGE_URL).toBe(services.storageUrl(fix.FIX_PROJ2_ID))
      expect(t.env.OS_AUTH_TOKEN).toBe(t.outputs.token)
      expect(out(t, 'object list')).toEqual(['data/a.txt'])
      expect(out(t, 'swift list')).toEqual(['data/a.txt', 'data/b.bin'])
      expect(out(t, 'rclone ls').sort()).toEqual(['data/', 'data/a.txt', 'data/b.bin', 'rclone/', 'rclone/a.txt', 'rclone/b.bin'])
      for (const name of ['swift upload', 'swift list', 'rclone copy', 'rclone ls']) expect(cost(t, name).all).toBe(0)
      const perCall = tokenUse === 'exchange' ? 1 : 0
      for (const name of ['container create', 'object create', 'object list']) expect(cost(t, name).posts).toBe(perCall)
      expect(t.post?.stdout).toContain('Token revoked.')
      expect(leaks(t, [t.outputs.token!, ...secrets()])).toEqual([])
      record(`backups, ${kind}, ${tokenUse}`, t, ['object create', 'object list', 'swift upload', 'swift list', 'rclone copy', 'rclone ls'])
    }
  )

  test('a domain-scoped token: no object store in its catalog, OS_STORAGE_URL blank', async () => {
    const t = await job({
      inputs: { 'auth-url': keystone.authUrl, 'user-id': fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD, 'domain-id': fix.FIX_DOM2_ID },
      jobEnv: { OS_STORAGE_URL: 'http://127.0.0.1:9/v1/AUTH_stale' },
      secrets: secrets()
    })
    expect(t.failed).toBe(false)
    expect(t.env.OS_STORAGE_URL).toBe('')
    expect(t.env.OS_AUTH_TOKEN).toBe(t.outputs.token)
  })
})

describe('3. least privilege: an application credential that may only GET /v2/images', () => {
  test('later steps list images and are refused everything else; Keystone cannot revoke the token, and the post step says so', async () => {
    const attempt = (command: string) => `if ${command} >/dev/null 2>err.txt; then echo allowed; else echo refused; tr '\\n' ' ' < err.txt; fi`
    const t = await job({
      inputs: { 'auth-url': keystone.authUrl, 'application-credential-id': imageReader.id, 'application-credential-secret': imageReader.secret },
      secrets: secrets(),
      before: [{ name: 'file', run: 'echo x > x.raw' }],
      steps: [
        measured('image list', `${OPENSTACK} image list -f value -c ID >/dev/null && echo listed`),
        // The smoke test asks Keystone about the token with the access-rules header; a refusal of
        // such a token would not mean it was revoked, and the plugin never says so.
        { name: 'token issue', run: `${OPENSTACK} token issue -f value -c project_id 2>&1` },
        { name: 'image create', run: attempt(`${OPENSTACK} image create --file x.raw --disk-format raw --container-format bare nope`) },
        { name: 'object list', run: attempt(`${OPENSTACK} container list`) },
        { name: 'swift list', run: attempt(`${SWIFT} list`) }
      ]
    })
    expect(t.failed).toBe(false)
    expect(out(t, 'image list')).toEqual(['listed'])
    expect(cost(t, 'image list').all).toBe(0)
    expect(t.step('token issue')?.stdout.at(-1)).toBe(fix.FIX_PROJ2_ID)
    expect(t.step('token issue')?.stdout.join('\n')).not.toMatch(/revoked/)
    // keystonemiddleware marks the token invalid for a call its rules do not allow: 401, not 403.
    // The `openstack` CLI may fail earlier or report it differently: it validates its own token at
    // Keystone for some commands (GET /v3/auth/tokens without the access-rules header), and
    // Keystone answers 404 ("Failed to validate token") for the token of such a credential.
    const refusal = /HTTP 401|Unauthorized|Failed to validate token \(HTTP 404\)/
    for (const name of ['image create', 'object list'])
      expect([name, t.step(name)?.stdout]).toEqual([name, ['refused', expect.stringMatching(refusal)]])
    expect(t.step('swift list')?.stdout).toEqual(['refused', expect.stringContaining('401 Unauthorized')])
    // Keystone's DELETE looks the token up without access-rules support and answers as if it did
    // not exist: the token stays valid (as a service that sends the access-rules header sees it).
    expect(t.post?.stdout.join('\n')).toMatch(
      /::warning::Keystone could not revoke this token: it comes from an application credential with access rules/
    )
    const check = await fetch(`${keystone.authUrl}/auth/tokens`, {
      headers: { 'X-Auth-Token': adminToken, 'X-Subject-Token': t.outputs.token!, 'OpenStack-Identity-Access-Rules': '1.0' },
      signal: AbortSignal.timeout(15_000)
    })
    await check.arrayBuffer()
    expect(check.status).toBe(200)
    figures.push(
      'least privilege: the token of an application credential with access rules cannot be revoked (Keystone answers 404 to the DELETE); still valid after the post step'
    )
  })
})

describe('4. two logins in one job: copy an image from project A to project B', () => {
  test('two uses: steps with different scopes, tokens through the token output, two post steps, both revoked, nothing leaked', async () => {
    // Each later step picks its token and scope from the step outputs (exchange: v3token + project).
    const scoped = (id: string) => ({
      OS_AUTH_URL: keystone.authUrl,
      OS_AUTH_TYPE: 'v3token',
      OS_TOKEN: `\${{ steps.${id}.outputs.token }}`,
      OS_PROJECT_ID: `\${{ steps.${id}.outputs.project-id }}`,
      OS_PROJECT_NAME: '',
      OS_PROJECT_DOMAIN_ID: ''
    })
    const t = await job({
      id: 'a',
      inputs: { 'auth-url': keystone.authUrl, ...password(), 'export-env': 'false' },
      secrets: secrets(),
      before: [{ name: 'file', run: 'head -c 32768 /dev/urandom > snap.raw' }],
      steps: [
        { name: 'login B', id: 'b', uses: { inputs: { 'auth-url': keystone.authUrl, ...password(), 'project-id': proj3, 'export-env': 'false' } } },
        {
          name: 'snapshot in A',
          id: 'src',
          env: scoped('a'),
          run: `echo "id=$(${OPENSTACK} image create --file snap.raw --disk-format raw --container-format bare snap-a -f value -c id)" >> "$GITHUB_OUTPUT"`
        },
        { name: 'download from A', env: scoped('a'), run: `${OPENSTACK} image save --file copy.raw \${{ steps.src.outputs.id }}` },
        {
          name: 'upload to B',
          env: scoped('b'),
          run: `${OPENSTACK} image create --file copy.raw --disk-format raw --container-format bare snap-a-replica -f value -c owner`
        },
        { name: 'same bytes', run: 'cmp snap.raw copy.raw && echo same' }
      ]
    })
    expect(t.failed).toBe(false)
    const tokenA = t.outputs.token!
    const tokenB = t.step('login B')!.outputs.token!
    expect(tokenB).not.toBe(tokenA)
    expect(t.step('login B')!.outputs['project-id']).toBe(proj3)
    expect(t.step('upload to B')!.stdout).toEqual([proj3])
    expect(t.step('same bytes')!.stdout).toEqual(['same'])
    expect(t.steps.filter(s => s.stage === 'post').map(s => [s.name, s.stdout.includes('Token revoked.')])).toEqual([
      ['Post login B', true],
      ['Post Run ./', true]
    ])
    await expectRevoked(tokenA)
    await expectRevoked(tokenB)
    expect(leaks(t, [tokenA, tokenB, ...secrets()])).toEqual([])
  })
})

describe('5. a matrix deploy: several jobs at once on Glance and Swift', () => {
  const deploySteps = (i: number): RunStepSpec[] => [
    { name: 'file', run: `echo build-${i} > artifact.txt && cp artifact.txt artifact.raw` },
    { name: 'image', run: `${OPENSTACK} image create --file artifact.raw --disk-format raw --container-format bare deploy-${i} -f value -c status` },
    { name: 'upload', run: `${SWIFT} upload deploy-${i} artifact.txt` }
  ]

  test('each job with its own token (direct): all work, all revoked', async () => {
    const jobs = await Promise.all(
      [1, 2, 3].map(i =>
        job({ inputs: { 'auth-url': keystone.authUrl, ...password(), 'token-use': 'direct' }, secrets: secrets(), steps: deploySteps(i) })
      )
    )
    for (const t of jobs) {
      expect(t.failed).toBe(false)
      expect(t.step('upload')?.stdout).toEqual(['artifact.txt'])
      expect(t.post?.stdout).toContain('Token revoked.')
      await expectRevoked(t.outputs.token!)
    }
  })

  test('one shared token: a producer, three consumers at once (direct: their catalog gives OS_STORAGE_URL), a revoker', async () => {
    const KEY = 'matrix-share-key-0123456789abcdef'
    const RUN = { GITHUB_REPOSITORY: 'acme/deploy', GITHUB_RUN_ID: '777', GITHUB_RUN_ATTEMPT: '1' }
    const producer = await job({
      runnerEnv: RUN,
      inputs: { 'auth-url': keystone.authUrl, ...password(), 'share-key': KEY },
      secrets: [...secrets(), KEY]
    })
    expect(producer.failed).toBe(false)
    const sealed = producer.outputs['shared-token']!
    const consumers = await Promise.all(
      [4, 5, 6].map(i =>
        job({
          runnerEnv: RUN,
          inputs: { 'shared-token': sealed, 'share-key': KEY, 'token-use': 'direct' },
          secrets: [KEY],
          steps: deploySteps(i)
        })
      )
    )
    for (const t of consumers) {
      expect(t.failed).toBe(false)
      expect(t.env.OS_STORAGE_URL).toBe(services.storageUrl(fix.FIX_PROJ2_ID))
      expect(t.step('upload')?.stdout).toEqual(['artifact.txt'])
    }
    const revoker = await job({ runnerEnv: RUN, inputs: { 'shared-token': sealed, 'share-key': KEY, 'revoke-shared': 'true' }, secrets: [KEY] })
    expect(revoker.main?.stdout).toContain('Shared token revoked.')
    await expectRevoked(producer.outputs.token!)
  })
})

describe('6. after revocation: keystonemiddleware caches validations', () => {
  test(`the services accept the revoked token until their cache entry expires (token_cache_time ${CACHE_TIME_S} s here)`, async () => {
    const t = await job({
      inputs: { 'auth-url': keystone.authUrl, ...password(), 'token-use': 'direct' },
      secrets: secrets(),
      steps: [
        { name: 'image list', run: `${OPENSTACK} image list -f value -c ID` },
        { name: 'swift list', run: `${SWIFT} list` }
      ]
    })
    expect(t.failed).toBe(false)
    expect(t.post?.stdout).toContain('Token revoked.')
    const revokedAt = Date.now()
    const token = t.outputs.token!
    expect(await validateToken(keystone.authUrl, adminToken, token)).toBe(404)

    const status = async (url: string) => {
      const response = await fetch(url, { headers: { 'X-Auth-Token': token }, signal: AbortSignal.timeout(10_000) })
      await response.arrayBuffer()
      return response.status
    }
    const probes = { image: `${services.glanceUrl}/v2/images`, 'object-store': services.storageUrl(fix.FIX_PROJ2_ID) }
    const refusedAfter: Record<string, number> = {}
    const firstStatus: Record<string, number> = {}
    const deadline = revokedAt + (CACHE_TIME_S + 10) * 1000
    while (Object.keys(refusedAfter).length < 2 && Date.now() < deadline) {
      for (const [service, url] of Object.entries(probes)) {
        if (refusedAfter[service] !== undefined) continue
        const code = await status(url)
        firstStatus[service] ??= code
        if (code === 401) refusedAfter[service] = Date.now() - revokedAt
      }
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    // Right after the revocation both still accept it (the validation made in the job is cached) …
    expect(firstStatus).toEqual({ image: 200, 'object-store': expect.any(Number) })
    expect([200, 204]).toContain(firstStatus['object-store'])
    // … and refuse it once the entry expires: at most token_cache_time after the job's validation.
    expect(refusedAfter.image).toBeLessThanOrEqual(CACHE_TIME_S * 1000 + 2000)
    expect(refusedAfter['object-store']).toBeLessThanOrEqual(CACHE_TIME_S * 1000 + 2000)
    figures.push(
      `after revocation (token_cache_time ${CACHE_TIME_S} s): Glance accepted the token for ${refusedAfter.image} ms more, Swift for ${refusedAfter['object-store']} ms; Keystone refused it at once`
    )
  })
})

describe('7. openstacksdk: openstack.connect() with only what the action exported', () => {
  const script = [
    'import openstack',
    'conn = openstack.connect()',
    'print(len(list(conn.image.images())) >= 0, conn.current_project_id)',
    'print(sorted(c.name for c in conn.object_store.containers())[:1] is not None)'
  ].join('\n')

  test.each([
    ['exchange', 1],
    ['direct', 0]
  ] as const)('token-use: %s: image and object-store calls work, %d login(s) per script', async (tokenUse, logins) => {
    const t = await job({
      inputs: { 'auth-url': keystone.authUrl, ...password(), 'token-use': tokenUse },
      secrets: secrets(),
      steps: [measured('sdk script', `/usr/bin/python3 -c '${script}'`)]
    })
    // stderr may hold openstacksdk's "Failed to contact the endpoint … for discovery" about Swift, which has no version document
    const sdk = t.step('sdk script')!
    expect({ status: sdk.status, errors: sdk.stderr.filter(l => /Traceback|Error/.test(l)) }).toEqual({ status: 'success', errors: [] })
    expect(out(t, 'sdk script')).toEqual([`True ${fix.FIX_PROJ2_ID}`, 'True'])
    expect(cost(t, 'sdk script').posts).toBe(logins)
    record(`openstacksdk script, password, ${tokenUse}`, t, ['sdk script'])
  })
})

describe("7b. Ansible: Debian's ansible 7.7 and its bundled openstack.cloud 1.10", () => {
  const BUNDLED = '/usr/lib/python3/dist-packages/ansible_collections/openstack/cloud'
  let collections: string
  const ansibleEnv = (path?: string) => ({
    ANSIBLE_LOCALHOST_WARNING: 'false',
    ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false',
    ...(path !== undefined && { ANSIBLE_COLLECTIONS_PATH: path })
  })
  const imageInfo = '/usr/bin/ansible localhost -o -m openstack.cloud.image_info'

  beforeAll(() => {
    // A copy of the bundled collection without its upper bound on the openstacksdk version: what a
    // user of Debian bookworm has to do (or install a newer collection from Galaxy).
    collections = mkdtempSync(join(tmpdir(), 'ansible-collections-'))
    const copy = join(collections, 'ansible_collections', 'openstack', 'cloud')
    cpSync(BUNDLED, copy, { recursive: true })
    const utils = join(copy, 'plugins', 'module_utils', 'openstack.py')
    const patched = readFileSync(utils, 'utf8').replace(/^MAXIMUM_SDK_VERSION = .*$/m, 'MAXIMUM_SDK_VERSION = None')
    expect(patched).toContain('MAXIMUM_SDK_VERSION = None')
    writeFileSync(utils, patched)
  })
  afterAll(() => {
    if (collections) rmSync(collections, { recursive: true, force: true })
  })

  test('as shipped, the collection refuses openstacksdk 0.101 by its version check', async () => {
    const t = await job({
      inputs: { 'auth-url': keystone.authUrl, ...password() },
      secrets: secrets(),
      steps: [{ name: 'ansible', env: ansibleEnv(), run: `${imageInfo} 2>&1 | grep -o 'Version MUST be[^"]*larger' | head -1` }]
    })
    expect(t.step('ansible')?.stdout).toEqual(['Version MUST be >=0.36 and <=0.98.999, but 0.101.0 is larger'])
  })

  test.each([
    ['exchange', 1],
    ['direct', 0]
  ] as const)('without the upper bound, token-use: %s: image_info works with what the action exported, %d login(s)', async (tokenUse, logins) => {
    const t = await job({
      inputs: { 'auth-url': keystone.authUrl, ...password(), 'token-use': tokenUse },
      secrets: secrets(),
      steps: [measured('ansible', `${imageInfo} | grep -o '^localhost | SUCCESS'`, { env: ansibleEnv(collections) })]
    })
    expect(out(t, 'ansible')).toEqual(['localhost | SUCCESS'])
    expect(cost(t, 'ansible').posts).toBe(logins)
    expect(leaks(t, [t.outputs.token!, ...secrets()])).toEqual([])
    record(`ansible openstack.cloud.image_info, password, ${tokenUse}`, t, ['ansible'])
  })
})

describe('Node 24 (the node24 runtime of action.yml)', () => {
  test('the binary is Node 24', () => {
    expect(execFileSync(node24, ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./)
  })

  test('main + post, password, exchange: openstack works, the token is revoked', async () => {
    const t = await job({
      node: node24,
      inputs: { 'auth-url': keystone.authUrl, ...password(), 'token-use': 'exchange' },
      secrets: secrets(),
      steps: [measured('image list', `${OPENSTACK} image list -f value -c ID >/dev/null && echo ok`)]
    })
    expect(t.failed).toBe(false)
    expect(out(t, 'image list')).toEqual(['ok'])
    expect(cost(t, 'image list').posts).toBe(1)
    expect(t.post?.stdout).toContain('Token revoked.')
    await expectRevoked(t.outputs.token!)
  })

  test('direct use (application credential): openstack and swift with no Keystone request', async () => {
    const t = await job({
      node: node24,
      inputs: { 'auth-url': keystone.authUrl, ...appcred() },
      secrets: secrets(),
      steps: [
        measured('image list', `${OPENSTACK} image list -f value -c ID >/dev/null && echo ok`),
        measured('swift stat', `${SWIFT} stat >/dev/null && echo ok`)
      ]
    })
    expect(t.failed).toBe(false)
    expect(out(t, 'image list')).toEqual(['ok'])
    expect(cost(t, 'image list').all).toBe(0)
    expect(cost(t, 'swift stat').all).toBe(0)
    expect(t.post?.stdout).toContain('Token revoked.')
    expect(leaks(t, [t.outputs.token!, ...secrets()])).toEqual([])
  })
})
