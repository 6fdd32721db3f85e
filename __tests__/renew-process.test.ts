import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { endRenewal } from '../src/renew/stop.js'
import { startRenewal } from '../src/renew/start.js'
import { ledgerPath, readLedger } from '../src/renew/ledger.js'
import { tokenStatePath } from '../src/handoff/direct-use.js'
import { loadRenewer } from '../src/runtime/state.js'
import { tokenBody } from './helpers/keystone-fixtures.js'

/**
 * The renewer as the runner runs it: dist/renew/index.js, a process of its own, started by the main
 * step's startRenewal and ended by the post step's endRenewal, against a Keystone on 127.0.0.1 whose
 * tokens live two seconds (the schedule then renews after one).
 */

const ROOT = path.resolve(import.meta.dirname, '..')
const SCRIPT = path.join(ROOT, 'dist', 'renew', 'index.js')
const PASSWORD = 'renewer-Pa55-in-memory-only'
const FIRST = 'first-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const linux = process.platform === 'linux' ? test : test.skip

let server: http.Server
let issued: string[]
let bodies: string[]
let authUrl: string
let runnerTemp: string

beforeAll(async () => {
  server = http.createServer((request, response) => {
    let body = ''
    request.on('data', chunk => (body += chunk))
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/v3/auth/tokens') {
        bodies.push(body)
        const token = `renewed-${issued.length + 1}-${'b'.repeat(30)}`
        issued.push(token)
        response.writeHead(201, { 'Content-Type': 'application/json', 'X-Subject-Token': token })
        response.end(JSON.stringify(tokenBody({ expiresInMs: 2_000 })))
      } else {
        response.writeHead(404).end()
      }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  authUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`
})
afterAll(() => new Promise(resolve => server.close(resolve)))

beforeEach(() => {
  issued = []
  bodies = []
  runnerTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'renew-temp-'))
  const state = tokenStatePath(runnerTemp, FIRST)
  fs.mkdirSync(path.dirname(state), { recursive: true })
  fs.writeFileSync(state, JSON.stringify({ auth_token: FIRST, body: tokenBody() }), { mode: 0o600 })
})
afterEach(() => fs.rmSync(runnerTemp, { recursive: true, force: true }))

function fakeCore(state: Record<string, string> = {}) {
  const lines: string[] = []
  return {
    lines,
    state,
    core: {
      info: (m: string) => void lines.push(m),
      warning: (m: string) => void lines.push(`::warning::${m}`),
      debug: (m: string) => void lines.push(`::debug::${m}`),
      setSecret: () => undefined,
      saveState: (name: string, value: string) => void (state[name] = value),
      getState: (name: string) => state[name] ?? ''
    }
  }
}

async function until<T>(what: string, check: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

const ENV = {
  RUNNER_TRACKING_ID: 'github_test-tracking-id',
  OS_PASSWORD: PASSWORD,
  INPUT_PASSWORD: PASSWORD,
  HOME: '/home/runner',
  https_proxy: '',
  PATH: process.env.PATH
}

linux(
  'renews in a process of its own that has the password in memory only, and ends when the post step asks',
  async () => {
    if (!fs.existsSync(SCRIPT)) throw new Error('run npm run build first')
    const { core, state } = fakeCore()
    await startRenewal({
      core,
      env: ENV,
      source: { input: () => '', env: ENV },
      config: {
        authUrl,
        credentials: { method: 'password', user: { name: 'user2', domain: { name: 'dom2' } }, password: PASSWORD },
        scope: { kind: 'project', project: { name: 'proj2', domain: { name: 'dom2' } } },
        timing: { maxWaitMs: 10_000, outageWaitMs: 5_000, timeoutMs: 5_000 }
      },
      token: { value: FIRST, validForMs: 2_000, receivedAt: new Date() },
      tls: {},
      runnerTemp,
      script: SCRIPT
    })
    const saved = loadRenewer({ getState: name => state[name] ?? '' })
    expect(saved).toBeDefined()
    const pid = saved!.pid

    // What anyone on the machine can read of it: its command line and its environment.
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
    expect(cmdline).toEqual([process.execPath, SCRIPT, saved!.nonce])
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
    expect(environ).toEqual(['RUNNER_TRACKING_ID=github_test-tracking-id'])
    // Its stdout and stderr lead nowhere: the runner does not wait for them.
    for (const fd of [1, 2]) expect(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)).toBe('/dev/null')

    // Two renewals land: the state file named by the first token holds the latest token.
    await until('two renewals', () => (readLedger(ledgerPath(runnerTemp, FIRST))?.renewals ?? 0) >= 2)
    const stateFile = tokenStatePath(runnerTemp, FIRST)
    const current = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { auth_token: string; body: unknown; valid_for: number }
    expect(issued).toContain(current.auth_token)
    expect(current.body).toMatchObject({ token: { catalog: expect.any(Array) } })
    expect(fs.statSync(stateFile).mode & 0o777).toBe(0o600)
    expect(JSON.parse(bodies[0]!)).toMatchObject({ auth: { identity: { methods: ['password'], password: { user: { password: PASSWORD } } } } })
    // No file under RUNNER_TEMP holds the password.
    const files = fs.readdirSync(runnerTemp, { recursive: true, withFileTypes: true }).filter(entry => entry.isFile())
    for (const file of files) expect(fs.readFileSync(path.join(file.parentPath, file.name), 'utf8')).not.toContain(PASSWORD)

    const post = fakeCore(state)
    const renewed = await endRenewal(post.core)
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false)
    // Every token Keystone issued to it, for the post step to revoke.
    expect(new Set(renewed)).toEqual(new Set(issued))
    expect(post.lines.filter(line => line.startsWith('::warning::'))).toEqual([])
  },
  60_000
)

linux(
  'a renewer whose RUNNER_TEMP is removed (a job whose post step never ran) ends within seconds, not at its next renewal, and leaves nothing behind',
  async () => {
    const { core, state } = fakeCore()
    await startRenewal({
      core,
      env: ENV,
      source: { input: () => '', env: ENV },
      config: {
        authUrl,
        credentials: { method: 'application-credential', id: 'ac-id', secret: PASSWORD },
        scope: { kind: 'default' },
        timing: { maxWaitMs: 10_000, outageWaitMs: 5_000, timeoutMs: 5_000 }
      },
      // An hour's token: no renewal is due for 40 minutes.
      token: { value: FIRST, validForMs: 3_600_000, receivedAt: new Date() },
      tls: {},
      runnerTemp,
      script: SCRIPT
    })
    const pid = loadRenewer({ getState: name => state[name] ?? '' })!.pid
    await until('its ledger', () => readLedger(ledgerPath(runnerTemp, FIRST)))
    fs.rmSync(runnerTemp, { recursive: true, force: true })
    await until('the renewer to end', () => !fs.existsSync(`/proc/${pid}`) || /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')), 30_000)
    expect(fs.existsSync(runnerTemp)).toBe(false)
    expect(issued).toEqual([])
  },
  60_000
)

linux(
  'a renewer that lost its token state (the job is over) stops by itself; the post step still gets its tokens',
  async () => {
    const { core, state } = fakeCore()
    await startRenewal({
      core,
      env: ENV,
      source: { input: () => '', env: ENV },
      config: {
        authUrl,
        credentials: { method: 'application-credential', id: 'ac-id', secret: PASSWORD },
        scope: { kind: 'default' },
        timing: { maxWaitMs: 10_000, outageWaitMs: 5_000, timeoutMs: 5_000 }
      },
      token: { value: FIRST, validForMs: 2_000, receivedAt: new Date() },
      tls: {},
      runnerTemp,
      script: SCRIPT
    })
    const pid = loadRenewer({ getState: name => state[name] ?? '' })!.pid
    await until('a renewal', () => (readLedger(ledgerPath(runnerTemp, FIRST))?.renewals ?? 0) >= 1)
    fs.rmSync(tokenStatePath(runnerTemp, FIRST))
    await until('the renewer to end', () => !fs.existsSync(`/proc/${pid}`) || /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')))
    const post = fakeCore(state)
    expect(new Set(await endRenewal(post.core))).toEqual(new Set(issued))
  },
  60_000
)
