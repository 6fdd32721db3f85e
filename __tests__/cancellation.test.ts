import { EventEmitter } from 'node:events'
import { cancellationSignal, JobCancelled } from '../src/runtime/cancellation.js'
import { abortableSleep } from '../src/net/retry.js'
import type { StepRun } from './helpers/github.js'
import { restoreSteps, runMainStep, runPostStep, savedField, savedState } from './helpers/steps.js'
import { envSnapshot, issueToken, startKeystone, type KeystoneServer } from './helpers/hostile-server.js'
import { JSON_HEADERS, PROJ2, TOKEN, USER2 } from './helpers/keystone-fixtures.js'

/**
 * The runner cancels a job with SIGINT (then SIGTERM, then a kill). The main step stops sending
 * requests at once, but a login already on the wire is allowed to finish, and the token it brings
 * is saved for the post step and revoked. These tests abort the step's signal at chosen moments
 * against a loopback Keystone stand-in and count what it issued and what was revoked.
 */

let keystone: KeystoneServer
let restoreEnv: () => void

beforeAll(async () => (keystone = await startKeystone()))
afterAll(() => keystone.close())
beforeEach(() => (restoreEnv = envSnapshot()))
afterEach(() => {
  restoreSteps()
  restoreEnv()
  keystone.reset()
})

const LOGIN = {
  'user-id': USER2.id,
  password: 'cancel-Pa55word',
  'project-id': PROJ2.id
}

/** Runs the main step and cancels it `afterMs` after it starts, as the runner's SIGINT would. */
function cancelledMain(inputs: Record<string, string>, afterMs: number): Promise<StepRun> {
  return runMainStep({ 'auth-url': keystone.authUrl, ...LOGIN, ...inputs }, { timeoutMs: 2000, cancelAfterMs: afterMs })
}

function postStep(state: Record<string, string>): Promise<StepRun> {
  return runPostStep(state, { inputs: { 'max-wait': '0' }, timeoutMs: 2000 })
}

const errors = (run: StepRun) => run.lines.filter(line => line.startsWith('::error::'))
const revoked = () => keystone.received('DELETE').map(request => String(request.headers['x-subject-token']))

test('SIGINT and SIGTERM abort the signal once, with a JobCancelled that names the signal', () => {
  const emitter = new EventEmitter()
  const signal = cancellationSignal(emitter)
  expect(signal.aborted).toBe(false)
  emitter.emit('SIGINT')
  emitter.emit('SIGTERM')
  expect(signal.aborted).toBe(true)
  expect(signal.reason).toBeInstanceOf(JobCancelled)
  expect((signal.reason as Error).message).toBe('The job was cancelled (SIGINT) while the main step was running.')
})

test('a sleep ends at once when the signal is aborted', async () => {
  const controller = new AbortController()
  const started = Date.now()
  const sleeping = abortableSleep(60_000, controller.signal)
  controller.abort(new JobCancelled('stop'))
  await expect(sleeping).rejects.toThrow('stop')
  expect(Date.now() - started).toBeLessThan(1000)
})

test('cancelled while waiting for its pacing slot: no request at all, one clear error', async () => {
  const run = await cancelledMain({ 'job-index': '5', 'job-total': '10', 'rate-limit': '1/min' }, 50)
  expect(keystone.requests).toEqual([])
  expect(errors(run)).toEqual(['::error::The job was cancelled (SIGINT) while the main step was running.'])
  expect(savedField(run, 'token') ?? '').toBe('')
})

test('cancelled during a retry back-off: the back-off ends at once and no further request is sent', async () => {
  keystone.onPost((_request, response) => response.writeHead(503, { 'Retry-After': '10' }).end())
  const started = Date.now()
  const run = await cancelledMain({ 'max-wait': '60s' }, 200)
  expect(Date.now() - started).toBeLessThan(2000)
  expect(keystone.received('POST')).toHaveLength(1)
  expect(errors(run)).toEqual(['::error::The job was cancelled (SIGINT) while the main step was running.'])
})

test('cancelled while the login is on the wire: the login finishes, its token is saved, then revoked at once', async () => {
  keystone.onPost((request, response) => setTimeout(() => issueToken(request, response), 300))
  const run = await cancelledMain({}, 100)
  expect(keystone.received('POST')).toHaveLength(1)
  expect(revoked()).toEqual([TOKEN])
  expect(run.lines).toContain('Revoked the token Keystone issued before the cancellation.')
  expect(errors(run)).toEqual(['::error::The job was cancelled (SIGINT) while the main step was running.'])
  expect(run.exported()).toEqual({})
  // Revoked by the main step: the post step has nothing left to do.
  expect(savedField(run, 'token')).toBe('')
  expect(savedField(run, 'others')).toBe('')
  const post = await postStep(run.state())
  expect(post.lines).toEqual(['No token to revoke: the main step did not issue one, or already revoked it.'])
})

test('cancelled while the login is on the wire and Keystone does not take the revocation: the post step does', async () => {
  keystone.onPost((request, response) => setTimeout(() => issueToken(request, response), 300))
  keystone.onDelete((_request, response) => response.writeHead(503, JSON_HEADERS).end('{}'))
  const run = await cancelledMain({}, 100)
  expect(run.lines).toContain('::warning::Could not revoke the token Keystone issued before the cancellation: the post step tries again.')
  expect(savedField(run, 'others')).toBe(TOKEN)
  keystone.reset()
  const post = await postStep(run.state())
  expect(revoked()).toEqual([TOKEN])
  expect(post.lines).toContain('A token Keystone issued during a failed or cancelled login revoked.')
})

test('a producer cancelled during its login seals nothing: the token is revoked, not left to a revoker job that may never see it', async () => {
  keystone.onPost((request, response) => setTimeout(() => issueToken(request, response), 300))
  const run = await cancelledMain({ 'share-key': 'a-long-enough-share-key-0123456789abcdef' }, 100)
  expect(run.outputs()['shared-token']).toBeUndefined()
  expect(revoked()).toEqual([TOKEN])
  expect(savedField(run, 'token')).toBe('')
})

test('cancelled after the token was handed to later steps: the main step ends normally, the post step revokes', async () => {
  const run = await cancelledMain({}, 1500)
  expect(errors(run)).toEqual([])
  expect(run.exported().OS_TOKEN).toBe(TOKEN)
  expect(savedField(run, 'token')).toBe(TOKEN)
  const post = await postStep(run.state())
  expect(revoked()).toEqual([TOKEN])
  expect(post.lines).toContain('Token revoked.')
})

// --- the post step: cancelled, it still sends each revocation once, at once ----------------------

/** Runs the post step and cancels it `afterMs` after it starts (negative: before it starts). */
function cancelledPost(state: Record<string, string>, afterMs: number, inputs: Record<string, string> = {}): Promise<StepRun> {
  return runPostStep(state, { inputs, timeoutMs: 2000, cancelAfterMs: afterMs })
}

const saved = () => savedState({ token: TOKEN, authUrl: keystone.authUrl, expiresAt: new Date(Date.now() + 3_600_000).toISOString(), revoke: 'true' })

test.each([-1, 0, 20, 50])('post step cancelled %i ms after it starts: the revocation still goes out, and lands', async afterMs => {
  keystone.onDelete((_request, response) => setTimeout(() => response.writeHead(204).end(), 100))
  const post = await cancelledPost(saved(), afterMs)
  expect(revoked()).toEqual([TOKEN])
  expect(post.lines).toContain('Token revoked.')
})

test('post step cancelled during a back-off: the back-off ends at once, one last attempt goes out, and its answer is final', async () => {
  let deletes = 0
  keystone.onDelete((_request, response) =>
    ++deletes === 1 ? response.writeHead(503, { 'Retry-After': '20' }).end() : response.writeHead(204).end()
  )
  const started = Date.now()
  const post = await cancelledPost(saved(), 300)
  expect(Date.now() - started).toBeLessThan(5000)
  expect(revoked()).toEqual([TOKEN, TOKEN])
  expect(post.lines).toContain('Token revoked.')
})

test('post step cancelled while Keystone keeps failing: one last attempt, then a warning that says until when the token stays valid', async () => {
  keystone.onDelete((_request, response) => response.writeHead(503, { 'Retry-After': '20' }).end())
  const post = await cancelledPost(saved(), 300)
  expect(revoked()).toEqual([TOKEN, TOKEN])
  const warning = post.lines.find(line => line.startsWith('::warning::'))
  expect(warning).toMatch(
    /^::warning::Could not revoke the token: .*The post step was cancelled, so it made one last attempt without waiting\. It stays valid until /
  )
})
