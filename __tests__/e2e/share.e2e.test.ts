import { spawnSync } from 'node:child_process'
import { countRequests, issueToken, startKeystone, validateToken, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import { cli, job, leaks, OPENSTACK, output } from './helpers.js'

/**
 * One token for a whole run: 1 producer + 30 consumers + 1 revoker against the real Keystone.
 * Exactly one login from credentials and one revocation reach Keystone; every consumer's
 * `openstack` call works; after the revoker the token is dead.
 */

const CONSUMERS = 30
const PARALLEL = 6
const KEY = 'e2e-share-key-0123456789abcdef'
// Every job of one run sees the same repository and run id.
const RUN = { GITHUB_REPOSITORY: 'acme/deploy', GITHUB_RUN_ID: '424242', GITHUB_RUN_ATTEMPT: '1' }

let keystone: KeystoneInstance
let fix: KeystoneInstance['fixtures']

beforeAll(async () => {
  keystone = await startKeystone()
  fix = keystone.fixtures
}, 600_000)
afterAll(async () => {
  await keystone?.stop()
})

const requests = () => ({
  posts: countRequests(keystone.accessLogPath, { method: 'POST', path: '/v3/auth/tokens' }),
  deletes: countRequests(keystone.accessLogPath, { method: 'DELETE', path: '/v3/auth/tokens' }),
  gets: countRequests(keystone.accessLogPath, { method: 'GET', path: '/v3/auth/tokens' })
})

test('1 producer, 30 consumers, 1 revoker', async () => {
  const before = requests()

  const producer = await job({
    runnerEnv: RUN,
    inputs: {
      'auth-url': keystone.authUrl,
      'user-id': fix.FIX_USER2_ID,
      password: fix.FIX_USER2_PASSWORD,
      'project-id': fix.FIX_PROJ2_ID,
      'share-key': KEY
    },
    secrets: [fix.FIX_USER2_PASSWORD, KEY]
  })
  expect(producer.failed).toBe(false)
  const sealed = producer.outputs['shared-token']!
  const token = producer.outputs.token!
  expect(sealed).toMatch(/^ost1\./)
  expect(producer.post?.stdout.join('\n')).toMatch(/Token left valid until .*\(shared with the other jobs/)
  const afterProducer = requests()
  expect(afterProducer.posts - before.posts).toBe(1)
  expect(afterProducer.deletes - before.deletes).toBe(0)

  // The consumers' own steps: one GET each (the token's catalog, for the auth plugin), no login.
  const consumers = []
  for (let i = 0; i < CONSUMERS; i += PARALLEL) {
    const batch = Array.from({ length: Math.min(PARALLEL, CONSUMERS - i) }, () =>
      job({
        runnerEnv: RUN,
        inputs: { 'shared-token': sealed, 'share-key': KEY },
        secrets: [KEY],
        steps: [cli('token issue', 'token issue -f value -c project_id')]
      })
    )
    consumers.push(...(await Promise.all(batch)))
  }
  for (const consumer of consumers) {
    expect(consumer.failed).toBe(false)
    expect(output(consumer, 'token issue')).toBe(fix.FIX_PROJ2_ID)
    expect(consumer.main?.stdout.join('\n')).toMatch(/Using the token shared by the producer job: .*one Keystone request for its catalog/)
    expect(consumer.post?.stdout.join('\n')).toMatch(/Token left valid until .*\(shared by another job/)
    expect(leaks(consumer, [token, KEY])).toEqual([])
  }
  const afterConsumers = requests()
  // No `openstack` process makes a token (token-use: direct, the default); each consumer read its token once.
  expect(afterConsumers.posts - afterProducer.posts).toBe(0)
  expect(afterConsumers.gets - afterProducer.gets).toBe(CONSUMERS)
  expect(afterConsumers.deletes - afterProducer.deletes).toBe(0)

  const revoker = await job({ runnerEnv: RUN, inputs: { 'shared-token': sealed, 'share-key': KEY, 'revoke-shared': 'true' }, secrets: [KEY] })
  expect(revoker.failed).toBe(false)
  expect(revoker.main?.stdout).toContain('Shared token revoked.')
  const end = requests()
  expect(end.deletes - afterConsumers.deletes).toBe(1)
  expect(end.posts - afterConsumers.posts).toBe(0)

  // The token is dead: Keystone says so, and the CLI with a consumer's environment fails.
  const admin = await issueToken(keystone.authUrl, {
    auth: {
      identity: { methods: ['password'], password: { user: { id: fix.FIX_ADMIN_USER_ID, password: fix.FIX_ADMIN_PASSWORD } } },
      scope: { project: { id: fix.FIX_ADMIN_PROJECT_ID } }
    }
  })
  expect(await validateToken(keystone.authUrl, admin.token, token)).toBe(404)
  const late = spawnSync(OPENSTACK, ['token', 'issue'], { env: { ...consumers[0]!.env, PATH: '/usr/bin:/bin' }, encoding: 'utf8', timeout: 60_000 })
  expect(late.status).not.toBe(0)

  console.log(
    `sharing, per job: producer 1 POST; each consumer's action step 1 GET (the token's catalog), its openstack call 0 POST; revoker 1 DELETE. Totals: ${end.posts - before.posts} POST, ${end.deletes - before.deletes} DELETE, ${end.gets - before.gets} GET for ${CONSUMERS + 2} jobs.`
  )
}, 600_000)

test("an application credential's token shared with 3 consumers: their openstack calls work, with no login at all", async () => {
  const before = requests()
  const producer = await job({
    runnerEnv: RUN,
    inputs: {
      'auth-url': keystone.authUrl,
      'application-credential-id': fix.FIX_APPCRED_ID,
      'application-credential-secret': fix.FIX_APPCRED_SECRET,
      'share-key': KEY
    },
    secrets: [fix.FIX_APPCRED_SECRET, KEY]
  })
  expect(producer.failed).toBe(false)
  const sealed = producer.outputs['shared-token']!
  const consumers = await Promise.all(
    [0, 1, 2].map(() =>
      job({
        runnerEnv: RUN,
        inputs: { 'shared-token': sealed, 'share-key': KEY },
        secrets: [KEY],
        steps: [cli('token issue', 'token issue -f value -c project_id'), cli('catalog list', 'catalog list -f value -c Name')]
      })
    )
  )
  for (const consumer of consumers) {
    expect(consumer.failed).toBe(false)
    expect(output(consumer, 'token issue')).toBe(fix.FIX_PROJ2_ID)
    expect(consumer.main?.stdout.join('\n')).toMatch(/one Keystone request for its catalog/)
  }
  const end = requests()
  // The producer's login is the only POST; each consumer read the token once (GET), its CLI nothing.
  expect(end.posts - before.posts).toBe(1)
  expect(end.gets - before.gets).toBe(consumers.length)
  console.log(
    `application-credential sharing: ${end.posts - before.posts} POST, ${end.gets - before.gets} GET for 1 producer + ${consumers.length} consumers running 2 openstack commands each`
  )
}, 300_000)
