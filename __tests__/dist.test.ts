import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseCommandFile } from './helpers/github.js'
import { noContent, startKeystone, type KeystoneServer } from './helpers/hostile-server.js'
import { TOKEN } from './helpers/keystone-fixtures.js'
import { savedState, stateVariables } from './helpers/steps.js'

/**
 * The committed bundles, run as the runner runs them (a node process per step, inputs in
 * INPUT_* variables, command files on disk) against a Keystone stand-in on 127.0.0.1.
 * This is what catches a bundle that builds but cannot load.
 */
const ROOT = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..')

// A real socket: the bundles run as processes of their own, out of nock's reach.
let keystone: KeystoneServer
let authUrl: string
const requests = () => keystone.requests.map(r => ({ method: r.method, url: r.url, subject: r.headers['x-subject-token'] }))
afterEach(() => keystone.reset())

beforeAll(async () => {
  keystone = await startKeystone()
  authUrl = keystone.origin
})
afterAll(() => keystone.close())

function runBundle(
  entry: 'main' | 'post',
  env: Record<string, string>,
  started: (child: ReturnType<typeof spawn>) => void = () => undefined
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; files: Record<string, Record<string, string>> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-'))
  const files = { GITHUB_ENV: 'env', GITHUB_OUTPUT: 'output', GITHUB_STATE: 'state' }
  for (const name of Object.values(files)) fs.writeFileSync(path.join(dir, name), '')
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', entry, 'index.js')], {
    env: { PATH: process.env.PATH, ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, path.join(dir, v)])), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  started(child)
  let stdout = ''
  child.stdout.on('data', chunk => (stdout += chunk))
  child.stderr.on('data', chunk => (stdout += chunk))
  return new Promise(resolve =>
    child.on('close', (code, signal) => {
      const read = (name: string) => parseCommandFile(fs.readFileSync(path.join(dir, name), 'utf8'))
      resolve({ code, signal, stdout, files: { env: read('env'), output: read('output'), state: read('state') } })
      fs.rmSync(dir, { recursive: true, force: true })
    })
  )
}

test('dist/main issues and exports, and writes the auth plugin the bundle carries; dist/post revokes what main saved', async () => {
  const runnerTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-runner-temp-'))
  const main = await runBundle('main', {
    'INPUT_AUTH-URL': authUrl,
    'INPUT_USER-ID': 'u1',
    INPUT_PASSWORD: 'dist-secret',
    'INPUT_PROJECT-ID': '0f2c4c30f1dc46468772fa9da7d7cd27',
    INPUT_REVOKE: 'true',
    'INPUT_EXPORT-ENV': 'true',
    RUNNER_TEMP: runnerTemp
  })
  expect(main.code).toBe(0)
  const plugin = path.join(runnerTemp, 'openstack-token', 'python')
  expect(main.files.env).toMatchObject({ OS_TOKEN: TOKEN, OS_AUTH_TYPE: 'openstack-token', OS_AUTH_URL: `${authUrl}/v3`, PYTHONPATH: plugin })
  for (const name of ['openstack_token.py', 'openstack_token-0.dist-info/METADATA', 'openstack_token-0.dist-info/entry_points.txt']) {
    expect(fs.readFileSync(path.join(plugin, name), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'src', 'python', name), 'utf8'))
  }
  fs.rmSync(runnerTemp, { recursive: true, force: true })
  expect(
    main.stdout
      .split('\n')
      .filter(l => l.includes(TOKEN) || l.includes('dist-secret'))
      .every(l => l.startsWith('::add-mask::'))
  ).toBe(true)

  const state = stateVariables(main.files.state!)
  const post = await runBundle('post', state)
  expect(post.code).toBe(0)
  expect(post.stdout).toContain('Token revoked.')
  expect(requests().map(r => `${r.method} ${r.url}`)).toEqual(['POST /v3/auth/tokens', 'DELETE /v3/auth/tokens'])
  expect(requests()[1]!.subject).toBe(TOKEN)
})

test('dist/main fails with one ::error:: line and exit code 1', async () => {
  const main = await runBundle('main', { INPUT_REVOKE: 'true', 'INPUT_EXPORT-ENV': 'true' })
  expect(main.code).toBe(1)
  expect(main.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^::error::No Keystone URL/)])
})

describe('dist/post cancelled by the runner (SIGINT, then SIGTERM)', () => {
  const state = (): Record<string, string> =>
    stateVariables(savedState({ token: TOKEN, authUrl: `${authUrl}/v3`, expiresAt: new Date(Date.now() + 3_600_000).toISOString(), revoke: 'true' }))

  test.each(['SIGINT', 'SIGTERM'] as const)(
    '%s while the revocation is on the wire: the step waits for Keystone, and the token is revoked',
    async name => {
      let child: ReturnType<typeof spawn> | undefined
      keystone.onDelete((_request, response) => {
        child?.kill(name)
        setTimeout(() => response.writeHead(204).end(), 300)
      })
      const post = await runBundle('post', state(), spawned => (child = spawned))
      expect([post.code, post.signal]).toEqual([0, null])
      expect(post.stdout).toContain('Token revoked.')
      expect(requests().map(r => `${r.method} ${r.subject}`)).toEqual([`DELETE ${TOKEN}`])
    }
  )

  test('SIGINT during a back-off: no waiting out Retry-After, one last attempt at once, which revokes', async () => {
    let child: ReturnType<typeof spawn> | undefined
    let deletes = 0
    keystone.onDelete((request, response) => {
      if (++deletes > 1) return noContent(request, response)
      response.writeHead(503, { 'Retry-After': '10' }).end()
      setTimeout(() => child?.kill('SIGINT'), 200)
    })
    const started = Date.now()
    const post = await runBundle('post', state(), spawned => (child = spawned))
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(post.code).toBe(0)
    expect(post.stdout).toContain('Token revoked.')
    expect(deletes).toBe(2)
  })
})
