import nock from 'nock'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { StepRun } from './helpers/github.js'
import { expectNoLeak, restoreSteps, runMainStep, runPostStep, savedField, savedState } from './helpers/steps.js'
import { DOM2, JSON_HEADERS, PROJ2, TOKEN, TOKEN_HEADERS, tokenBody, USER2 } from './helpers/keystone-fixtures.js'

/**
 * One token for a whole run: a producer job seals it into `shared-token`, consumers open it with
 * no Keystone request, a revoker job revokes it. Each job is its own process in a real run, so each
 * test step here gets its own command files.
 */
const KEYSTONE = 'https://keystone.test'
const KEY = 'a-long-random-share-key-0123456789'
const RUN = { GITHUB_REPOSITORY: 'acme/deploy', GITHUB_REPOSITORY_ID: '42', GITHUB_RUN_ID: '1001', GITHUB_RUN_ATTEMPT: '1' }
const CREDENTIALS = { 'auth-url': KEYSTONE, 'user-id': USER2.id, password: 'pw-of-user2', 'project-id': PROJ2.id }

const steps: StepRun[] = []
beforeAll(() => nock.disableNetConnect())
afterEach(() => {
  steps.length = 0
  restoreSteps()
  nock.cleanAll()
})
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

async function job(inputs: Record<string, string>, env: Record<string, string> = RUN): Promise<StepRun> {
  // The runner gives every declared input: defaults included (runMainStep adds revoke and export-env).
  const step = await runMainStep(inputs, { env })
  steps.push(step)
  return step
}

/** Keystone's answer to the one GET of the shared token (with its catalog for token-use: direct): the token as it stands, with Keystone's Date. */
function keystoneSays(shape: Parameters<typeof tokenBody>[0]) {
  return nock(KEYSTONE)
    .get(path => path === '/v3/auth/tokens' || path === '/v3/auth/tokens?nocatalog')
    .matchHeader('x-subject-token', TOKEN)
    .reply(200, tokenBody(shape), { ...JSON_HEADERS, Date: new Date().toUTCString() })
}

async function produce(): Promise<string> {
  nock(KEYSTONE).post('/v3/auth/tokens').reply(201, tokenBody(), TOKEN_HEADERS)
  const producer = await job({ ...CREDENTIALS, 'share-key': KEY })
  expect(producer.exitCode()).toBe(0)
  return producer.outputs()['shared-token']!
}

test('the producer seals the token into shared-token, without the token in clear, and keeps it valid at its end', async () => {
  const sealed = await produce()
  expect(sealed).toMatch(/^ost1\.[A-Za-z0-9_.-]+$/)
  expect(sealed).not.toContain(TOKEN)
  const producer = steps[0]!
  expect(producer.state()).toMatchObject(savedState({ token: TOKEN, revoke: 'false' }))
  // its post step leaves the token to the revoker
  const post = await runPostStep(producer.state(), { env: RUN })
  expect(post.lines.filter(l => !l.startsWith('::add-mask::'))).toEqual([
    expect.stringMatching(/^Token left valid until .* \(shared with the other jobs: the job with revoke-shared: true revokes it\)\.$/)
  ])
})

test('with token-use: exchange, a consumer exports what the producer exported, with no Keystone request at all', async () => {
  nock(KEYSTONE).post('/v3/auth/tokens').reply(201, tokenBody(), TOKEN_HEADERS)
  const sealed = (await job({ ...CREDENTIALS, 'share-key': KEY, 'token-use': 'exchange' })).outputs()['shared-token']!
  const producerEnv = steps[0]!.exported()
  const consumer = await job({ 'shared-token': sealed, 'share-key': KEY, 'token-use': 'exchange' })
  expect(consumer.exitCode()).toBe(0)
  expect(nock.pendingMocks()).toEqual([])
  expect(consumer.exported()).toEqual(producerEnv)
  expect(consumer.outputs()).toMatchObject({ token: TOKEN, 'project-id': PROJ2.id, 'domain-id': DOM2.id, 'user-id': USER2.id })
  expect(consumer.lines[consumer.lines.indexOf(`::add-mask::${TOKEN}`) - 1]).not.toContain(TOKEN)
  expectNoLeak(consumer, TOKEN)
  expect(consumer.lines.join('\n')).toMatch(/Using the token shared by the producer job: .*no Keystone request\./)
  expect(consumer.state()).toMatchObject(savedState({ revoke: 'false' }))
})

test('by default (token-use: direct) a consumer reads the token with its catalog (one GET) and hands it to the auth plugin', async () => {
  const sealed = await produce()
  const read = keystoneSays({})
  const consumer = await job({ 'shared-token': sealed, 'share-key': KEY })
  expect(read.isDone()).toBe(true)
  expect(consumer.exitCode()).toBe(0)
  expect(consumer.exported()).toMatchObject({
    OS_TOKEN: TOKEN,
    OS_AUTH_TYPE: 'openstack-token',
    PYTHONPATH: expect.stringMatching(/\/openstack-token\/python$/)
  })
  expect(consumer.lines.join('\n')).toMatch(/one Keystone request for its catalog\./)
})

test('a consumer in another matrix region exports its own region', async () => {
  const sealed = await produce()
  const consumer = await job({ 'shared-token': sealed, 'share-key': KEY, region: 'SBG5', 'token-use': 'exchange' })
  expect(consumer.exported().OS_REGION_NAME).toBe('SBG5')
})

test('validate: true asks Keystone once', async () => {
  const sealed = await produce()
  const check = nock(KEYSTONE).get('/v3/auth/tokens?nocatalog').matchHeader('x-subject-token', TOKEN).reply(200, tokenBody())
  const consumer = await job({ 'shared-token': sealed, 'share-key': KEY, validate: 'true', 'token-use': 'exchange' })
  expect(check.isDone()).toBe(true)
  expect(consumer.exitCode()).toBe(0)
})

test('validate: true with a revoked token fails clearly and exports nothing', async () => {
  const sealed = await produce()
  nock(KEYSTONE).get('/v3/auth/tokens?nocatalog').reply(404, {})
  const consumer = await job({ 'shared-token': sealed, 'share-key': KEY, validate: 'true', 'token-use': 'exchange' })
  expect(consumer.exitCode()).toBe(1)
  expect(consumer.lines.filter(l => l.startsWith('::error::'))).toEqual([
    expect.stringMatching(/^::error::The shared token is no longer valid at Keystone/)
  ])
  expect(consumer.exported()).toEqual({})
})

test('the revoker revokes the shared token with one DELETE and exports nothing', async () => {
  const sealed = await produce()
  const revoked = nock(KEYSTONE).delete('/v3/auth/tokens').matchHeader('x-subject-token', TOKEN).reply(204)
  const revoker = await job({ 'shared-token': sealed, 'share-key': KEY, 'revoke-shared': 'true' })
  expect(revoked.isDone()).toBe(true)
  expect(revoker.exitCode()).toBe(0)
  expect(revoker.exported()).toEqual({})
  expect(revoker.lines).toContain('Shared token revoked.')
})

test('a wrong key, another run: one clear error each, nothing exported', async () => {
  const sealed = await produce()
  const wrongKey = await job({ 'shared-token': sealed, 'share-key': 'another-long-share-key-9876543210' })
  expect(wrongKey.lines.find(l => l.startsWith('::error::'))).toMatch(/does not open with this `share-key`/)
  const otherRun = await job({ 'shared-token': sealed, 'share-key': KEY }, { ...RUN, GITHUB_RUN_ID: '1002' })
  expect(otherRun.lines.find(l => l.startsWith('::error::'))).toMatch(/sealed in run 1001 .* this is run 1002/)
  for (const step of [wrongKey, otherRun]) {
    expect(step.exitCode()).toBe(1)
    expect(step.exported()).toEqual({})
  }
})

test('shared-token without share-key', async () => {
  const consumer = await job({ 'shared-token': 'ost1.x' })
  expect(consumer.lines).toEqual([
    '::error::`shared-token` needs `share-key`, the secret it was sealed with: set it from the same repository secret as in the producer job.'
  ])
})

test('min-validity: a consumer with credentials logs in itself when the shared token expires too soon', async () => {
  nock(KEYSTONE)
    .post('/v3/auth/tokens')
    .reply(201, tokenBody({ expiresInMs: 30 * 60_000 }), TOKEN_HEADERS)
  const producer = await job({ ...CREDENTIALS, 'share-key': KEY })
  const sealed = producer.outputs()['shared-token']!
  // This runner's clock says too soon; Keystone's clock, asked once, agrees.
  const asked = keystoneSays({ expiresInMs: 30 * 60_000 })
  const own = nock(KEYSTONE)
    .post('/v3/auth/tokens')
    .reply(201, tokenBody({ expiresInMs: 3 * 3600_000 }), TOKEN_HEADERS)
  const consumer = await job({ ...CREDENTIALS, 'shared-token': sealed, 'share-key': KEY, 'min-validity': '2h' })
  expect(asked.isDone()).toBe(true)
  expect(own.isDone()).toBe(true)
  expect(consumer.exitCode()).toBe(0)
  expect(consumer.lines.join('\n')).toMatch(/sooner than min-validity 2 h: logging in with this job's own credentials instead\./)
  // its own token is its own to revoke
  expect(savedField(consumer, 'revoke')).toBe('true')
})

test('min-validity: without credentials, the consumer fails early', async () => {
  nock(KEYSTONE)
    .post('/v3/auth/tokens')
    .reply(201, tokenBody({ expiresInMs: 30 * 60_000 }), TOKEN_HEADERS)
  const sealed = (await job({ ...CREDENTIALS, 'share-key': KEY })).outputs()['shared-token']!
  const asked = keystoneSays({ expiresInMs: 30 * 60_000 })
  const consumer = await job({ 'shared-token': sealed, 'share-key': KEY, 'min-validity': '2h' })
  expect(asked.isDone()).toBe(true)
  expect(consumer.exitCode()).toBe(1)
  expect(consumer.lines.find(l => l.startsWith('::error::'))).toMatch(/sooner than min-validity 2 h/)
})

test("min-validity: a runner clock that runs fast does not refuse a token Keystone's clock says is good", async () => {
  nock(KEYSTONE)
    .post('/v3/auth/tokens')
    .reply(201, tokenBody({ expiresInMs: 3 * 3600_000 }), TOKEN_HEADERS)
  const sealed = (await job({ ...CREDENTIALS, 'share-key': KEY })).outputs()['shared-token']!
  // This runner is two hours ahead: by its clock, 1 h is left; Keystone's Date says 3 h.
  const asked = keystoneSays({ expiresInMs: 3 * 3600_000 })
  const step = await runMainStep(
    { 'shared-token': sealed, 'share-key': KEY, 'min-validity': '2h' },
    { env: RUN, now: () => new Date(Date.now() + 2 * 3600_000) }
  )
  expect(asked.isDone()).toBe(true)
  expect(step.exitCode()).toBe(0)
  expect(step.exported().OS_TOKEN).toBe(TOKEN)
  expect(step.lines).toContainEqual(
    expect.stringMatching(/^::warning::This runner's clock says the shared token expires too soon, Keystone's says it has 3 h left/)
  )
})

test('the revoker asks Keystone even when its clock says the shared token has expired', async () => {
  nock(KEYSTONE)
    .post('/v3/auth/tokens')
    .reply(201, tokenBody({ expiresInMs: 3600_000 }), TOKEN_HEADERS)
  const sealed = (await job({ ...CREDENTIALS, 'share-key': KEY })).outputs()['shared-token']!
  const revoked = nock(KEYSTONE).delete('/v3/auth/tokens').matchHeader('x-subject-token', TOKEN).reply(204)
  const step = await runMainStep(
    { 'shared-token': sealed, 'share-key': KEY, 'revoke-shared': 'true' },
    { env: RUN, now: () => new Date(Date.now() + 2 * 3600_000) }
  )
  expect(revoked.isDone()).toBe(true)
  expect(step.lines).toContain('Shared token revoked.')
})

test('min-validity on a login: a cloud whose tokens live shorter is reported, and the token revoked', async () => {
  nock(KEYSTONE)
    .post('/v3/auth/tokens')
    .reply(201, tokenBody({ expiresInMs: 3600_000 }), TOKEN_HEADERS)
  const revoked = nock(KEYSTONE).delete('/v3/auth/tokens').reply(204)
  const step = await job({ ...CREDENTIALS, 'min-validity': '2h' })
  expect(step.exitCode()).toBe(1)
  expect(revoked.isDone()).toBe(true)
  expect(step.lines.find(l => l.startsWith('::error::'))).toMatch(/sooner than min-validity 2 h: this cloud's tokens live shorter than that/)
})

test("an application credential's shared token: a consumer reads its catalog (one GET) and uses it as it is", async () => {
  const runnerTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-temp-'))
  try {
    nock(KEYSTONE)
      .post('/v3/auth/tokens')
      .reply(201, tokenBody({ applicationCredential: true }), TOKEN_HEADERS)
    const producer = await job(
      { 'auth-url': KEYSTONE, 'application-credential-id': 'ac', 'application-credential-secret': 'appcred-secret', 'share-key': KEY },
      { ...RUN, RUNNER_TEMP: runnerTemp }
    )
    const sealed = producer.outputs()['shared-token']!
    const read = nock(KEYSTONE)
      .get('/v3/auth/tokens')
      .matchHeader('x-subject-token', TOKEN)
      .reply(200, tokenBody({ applicationCredential: true }))
    const consumer = await job({ 'shared-token': sealed, 'share-key': KEY }, { ...RUN, RUNNER_TEMP: runnerTemp })
    expect(read.isDone()).toBe(true)
    expect(consumer.exitCode()).toBe(0)
    expect(consumer.exported().PYTHONPATH).toBe(path.join(runnerTemp, 'openstack-token', 'python'))
    expect(consumer.lines.join('\n')).toMatch(/one Keystone request for its catalog\./)
  } finally {
    fs.rmSync(runnerTemp, { recursive: true, force: true })
  }
})

test('token-use: direct with a shared token that Keystone no longer knows: one clear error', async () => {
  const sealed = await produce()
  nock(KEYSTONE).get('/v3/auth/tokens').reply(404, {})
  const consumer = await job({ 'shared-token': sealed, 'share-key': KEY, 'token-use': 'direct' }, { ...RUN, RUNNER_TEMP: os.tmpdir() })
  expect(consumer.exitCode()).toBe(1)
  expect(consumer.lines.filter(l => l.startsWith('::error::'))).toEqual([
    expect.stringMatching(/^::error::The shared token is no longer valid at Keystone/)
  ])
})
