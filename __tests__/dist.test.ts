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

beforeAll(async () => {
  server = http.createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      requests.push({ method: request.method!, url: request.url!, subject: request.headers['x-subject-token'] as string | undefined })
      if (request.method === 'POST') response.writeHead(201, TOKEN_HEADERS).end(JSON.stringify(tokenBody()))
      else response.writeHead(204).end()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  authUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise(resolve => server.close(resolve)))

function runBundle(
  entry: 'main' | 'post',
  env: Record<string, string>
): Promise<{ code: number; stdout: string; files: Record<string, Record<string, string>> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-'))
  const files = { GITHUB_ENV: 'env', GITHUB_OUTPUT: 'output', GITHUB_STATE: 'state' }
  for (const name of Object.values(files)) fs.writeFileSync(path.join(dir, name), '')
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', entry, 'index.js')], {
    env: { PATH: process.env.PATH, ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, path.join(dir, v)])), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  child.stdout.on('data', chunk => (stdout += chunk))
  child.stderr.on('data', chunk => (stdout += chunk))
  return new Promise(resolve =>
    child.on('close', code => {
      const read = (name: string) => parseCommandFile(fs.readFileSync(path.join(dir, name), 'utf8'))
      resolve({ code: code ?? -1, stdout, files: { env: read('env'), output: read('output'), state: read('state') } })
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
