import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseCommandFile } from './helpers/github.js'
import { TOKEN, TOKEN_HEADERS, tokenBody } from './helpers/keystone-fixtures.js'

/**
 * The committed bundles, run as the runner runs them (a node process per step, inputs in
 * INPUT_* variables, command files on disk) against a Keystone stand-in on 127.0.0.1.
 * This is what catches a bundle that builds but cannot load.
 */
const ROOT = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..')

let server: http.Server
let authUrl: string
const requests: { method: string; url: string; subject?: string }[] = []
const answerNow = (response: http.ServerResponse): void => void response.writeHead(204).end()
let answerDelete: (response: http.ServerResponse) => void = answerNow
afterEach(() => {
  answerDelete = answerNow
  requests.length = 0
})

beforeAll(async () => {
  server = http.createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      requests.push({ method: request.method!, url: request.url!, subject: request.headers['x-subject-token'] as string | undefined })
      if (request.method === 'POST') response.writeHead(201, TOKEN_HEADERS).end(JSON.stringify(tokenBody()))
      else answerDelete(response)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  authUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise(resolve => server.close(resolve)))

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

test('dist/main issues and exports, dist/post revokes what main saved', async () => {
  const main = await runBundle('main', {
    'INPUT_AUTH-URL': authUrl,
    'INPUT_USER-ID': 'u1',
    INPUT_PASSWORD: 'dist-secret',
    'INPUT_PROJECT-ID': '0f2c4c30f1dc46468772fa9da7d7cd27',
    INPUT_REVOKE: 'true',
    'INPUT_EXPORT-ENV': 'true'
  })
  expect(main.code).toBe(0)
  expect(main.files.env).toMatchObject({ OS_TOKEN: TOKEN, OS_AUTH_TYPE: 'v3token', OS_AUTH_URL: `${authUrl}/v3` })
  expect(
    main.stdout
      .split('\n')
      .filter(l => l.includes(TOKEN) || l.includes('dist-secret'))
      .every(l => l.startsWith('::add-mask::'))
  ).toBe(true)

  const state = Object.fromEntries(Object.entries(main.files.state!).map(([k, v]) => [`STATE_${k}`, v]))
  const post = await runBundle('post', state)
  expect(post.code).toBe(0)
  expect(post.stdout).toContain('Token revoked.')
  expect(requests.map(r => `${r.method} ${r.url}`)).toEqual(['POST /v3/auth/tokens', 'DELETE /v3/auth/tokens'])
  expect(requests[1]!.subject).toBe(TOKEN)
})

test('dist/main fails with one ::error:: line and exit code 1', async () => {
  const main = await runBundle('main', { INPUT_REVOKE: 'true', 'INPUT_EXPORT-ENV': 'true' })
  expect(main.code).toBe(1)
  expect(main.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^::error::No Keystone URL/)])
})

describe('dist/post cancelled by the runner (SIGINT, then SIGTERM)', () => {
  const state = (): Record<string, string> => ({
    STATE_token: TOKEN,
    'STATE_auth-url': `${authUrl}/v3`,
    'STATE_expires-at': new Date(Date.now() + 3_600_000).toISOString(),
    STATE_revoke: 'true'
  })

  test.each(['SIGINT', 'SIGTERM'] as const)(
    '%s while the revocation is on the wire: the step waits for Keystone, and the token is revoked',
    async name => {
      let child: ReturnType<typeof spawn> | undefined
      answerDelete = response => {
        child?.kill(name)
        setTimeout(() => response.writeHead(204).end(), 300)
      }
      const post = await runBundle('post', state(), spawned => (child = spawned))
      expect([post.code, post.signal]).toEqual([0, null])
      expect(post.stdout).toContain('Token revoked.')
      expect(requests.map(r => `${r.method} ${r.subject}`)).toEqual([`DELETE ${TOKEN}`])
    }
  )

  test('SIGINT during a back-off: no waiting out Retry-After, one last attempt at once, which revokes', async () => {
    let child: ReturnType<typeof spawn> | undefined
    let deletes = 0
    answerDelete = response => {
      if (++deletes > 1) return void response.writeHead(204).end()
      response.writeHead(503, { 'Retry-After': '10' }).end()
      setTimeout(() => child?.kill('SIGINT'), 200)
    }
    const started = Date.now()
    const post = await runBundle('post', state(), spawned => (child = spawned))
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(post.code).toBe(0)
    expect(post.stdout).toContain('Token revoked.')
    expect(deletes).toBe(2)
  })
})
