import { execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { startKeystone, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import { startFederatedKeystone, type FederatedKeystone, type IdTokenEndpoint } from '../../scripts/oidc/oidc.mjs'
import { inTrixie, trixieRoot } from '../../scripts/trixie/trixie.mjs'
import type { RunStepSpec } from '../../scripts/emulator/runner.mjs'
import { job, leaks, ROOT } from './helpers.js'

/**
 * Terraform/OpenTofu and Packer after the action, through the library they log in with:
 * gophercloud-login (scripts/gophercloud/main.go), built in the Debian 13 root against Debian's
 * gophercloud 1.4.0 and gophercloud-utils, logs in from a later step's environment as the provider
 * (clientconfig, allow_reauth from OS_ALLOW_REAUTH, default true) or Packer (re-authentication
 * always on) does, then reads the token's project. After each kind of login: did it work, and how
 * many POST /v3/auth/tokens Keystone logged for it (between two marker requests, so that nothing
 * of the steps before is counted). The provider itself pins gophercloud v2, whose login code is
 * the same for these paths (docs/terraform-packer.md).
 */

const trixie = trixieRoot()
const suite = 'root' in trixie ? describe : describe.skip
if (!('root' in trixie)) console.log(`gophercloud tests skipped: ${trixie.reason}`)

/** The later steps: each tool's login as a user would configure it. */
const CALLS = {
  'terraform, defaults': { tool: 'terraform', env: {} },
  // allow_reauth = false in the provider block (its env default is OS_ALLOW_REAUTH) and the project
  // variables blanked in the step's env: the token passes through as it is.
  'terraform, pass-through': { tool: 'terraform', env: { OS_ALLOW_REAUTH: 'false', OS_PROJECT_ID: '', OS_PROJECT_NAME: '' } },
  packer: { tool: 'packer', env: {} }
} as const
type CallName = keyof typeof CALLS

interface Outcome {
  status: number | null
  stdout: string
  stderr: string
  /** POST /v3/auth/tokens in Keystone's access log during the call. */
  posts: number
}

interface Cloud {
  authUrl: string
  accessLogPath: string
}

let binary: string
/** `PACKAGE VERSION` lines of the root's Go packages the binary was built with. */
let versions: string
/** One line per call, printed at the end. */
const table: string[] = []

/** The access log's lines; a request to `${authUrl}?e2e-mark=ID` marks a point in it. */
function logLines(cloud: Cloud): string[] {
  return readFileSync(cloud.accessLogPath, 'utf8').split('\n')
}

/**
 * Sends a marker request and waits (bounded) until the access log has its line: every request
 * answered before it is then logged too (one Keystone worker answers them in turn). Returns the
 * line's index.
 */
async function mark(cloud: Cloud): Promise<number> {
  const id = randomUUID()
  await fetch(`${cloud.authUrl}?e2e-mark=${id}`, { signal: AbortSignal.timeout(15_000) })
  for (let i = 0; i < 300; i++) {
    const at = logLines(cloud).findIndex(line => line.includes(id))
    if (at >= 0) return at
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`the marker request ${id} never reached ${cloud.accessLogPath}`)
}

/** Runs gophercloud-login with a step's environment, bounded in time; counts its POSTs. */
async function measure(cloud: Cloud, tool: string, env: Record<string, string>): Promise<Outcome> {
  const from = await mark(cloud)
  const result = await new Promise<Omit<Outcome, 'posts'>>((resolve, reject) => {
    const child = spawn(binary, ['-tool', tool], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', chunk => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', chunk => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', error => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', status => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
  const to = await mark(cloud)
  const posts = logLines(cloud)
    .slice(from + 1, to)
    .filter(line => line.includes('"POST /v3/auth/tokens ')).length
  return { ...result, posts }
}

/** The later steps of a job: every call of CALLS, each with the job's environment and its own step env. */
function laterSteps(cloud: Cloud, outcomes: Partial<Record<CallName, Outcome>>): RunStepSpec[] {
  return Object.entries(CALLS).map(([name, call]) => ({
    name,
    env: call.env,
    fn: async ({ env }) => {
      outcomes[name as CallName] = await measure(cloud, call.tool, env)
    }
  }))
}

type Expected = Record<CallName, 'exchanged' | 'passed through' | RegExp>

/** Runs a job with the action, then every call; checks each call's result and POSTs, and that nothing leaked. */
async function expectCalls(
  label: string,
  cloud: Cloud,
  options: { inputs: Record<string, string>; secrets?: string[]; runnerEnv?: Record<string, string>; project: string },
  expected: Expected
): Promise<void> {
  const outcomes: Partial<Record<CallName, Outcome>> = {}
  const transcript = await job({
    inputs: { 'auth-url': cloud.authUrl, ...options.inputs },
    secrets: options.secrets,
    runnerEnv: options.runnerEnv,
    steps: laterSteps(cloud, outcomes)
  })
  expect(transcript.main?.status).toBe('success')
  expect(transcript.post?.stdout).toContain('Token revoked.')
  for (const name of Object.keys(CALLS) as CallName[]) {
    const outcome = outcomes[name]!
    const want = expected[name]
    const said = outcome.stdout.match(/^login: .*$/m)?.[0] ?? outcome.stderr.match(/"message": ?"([^"]*)"/)?.[1] ?? outcome.stderr.trim()
    table.push(`  ${label.padEnd(42)} ${name.padEnd(24)} exit ${outcome.status}, ${outcome.posts} POST  ${said}`)
    if (want instanceof RegExp) {
      // A refused exchange: the tool stops at its one login request.
      expect({ name, status: outcome.status, posts: outcome.posts }).toEqual({ name, status: 1, posts: 1 })
      expect(outcome.stderr).toMatch(want)
    } else {
      expect({ name, status: outcome.status, stderr: outcome.stderr, posts: outcome.posts }).toEqual({
        name,
        status: 0,
        stderr: '',
        posts: want === 'exchanged' ? 1 : 0
      })
      expect(outcome.stdout).toContain(`project: ${options.project}\n`)
      expect(outcome.stdout).toContain(
        want === 'exchanged'
          ? 'login: exchanged (POST /v3/auth/tokens, a new token)'
          : "login: passed through (GET /v3/auth/tokens, the token as it is), the job's token"
      )
    }
    // gophercloud-login prints no token; neither did the job.
    expect(outcome.stdout + outcome.stderr).not.toContain(transcript.outputs.token!)
  }
  expect(leaks(transcript, [transcript.outputs.token!, ...(options.secrets ?? [])])).toEqual([])
}

const PASSWORD_TOKEN: Expected = { 'terraform, defaults': 'exchanged', 'terraform, pass-through': 'passed through', packer: 'exchanged' }

suite('gophercloud 1.4.0 (Debian 13) after the action', () => {
  beforeAll(() => {
    // Cold: about a minute (Go compiles its standard library); warm: a hash check.
    binary = execFileSync('bash', [join(ROOT, 'scripts/gophercloud/build.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 900_000
    }).trim()
    versions = readFileSync(join(dirname(binary), 'versions.txt'), 'utf8')
  }, 900_000)

  afterAll(() => {
    if (table.length > 0) console.log(['gophercloud-login after each login (exit, POST /v3/auth/tokens):', ...table].join('\n'))
  })

  test("built from Debian 13 packages, the versions README's Tested with table names", () => {
    const version = (pkg: string, pattern: RegExp) => pattern.exec(new RegExp(`^${pkg} (.*)$`, 'm').exec(versions)?.[1] ?? '')?.slice(1) ?? []
    const [gophercloud] = version('golang-github-gophercloud-gophercloud-dev', /^(\d+\.\d+\.\d+)/)
    const [year, month, day] = version('golang-github-gophercloud-utils-dev', /git(\d{4})(\d\d)(\d\d)/)
    const [go] = version('golang-go', /^(?:\d+:)?(\d+\.\d+)/)
    expect(gophercloud).toBe('1.4.0')
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    expect(readme).toContain(`gophercloud ${gophercloud} (Debian 13)`)
    const rows = readme.split('\n').filter(line => /^\| gophercloud/.test(line))
    expect(rows).toEqual([
      expect.stringMatching(new RegExp(`^\\| gophercloud \\(.*\\) \\| ${gophercloud} \\| Debian 13, Go ${go} \\|$`)),
      `| gophercloud-utils | git ${year}-${month}-${day} | Debian 13, Go ${go} |`
    ])
  })

  describe.each([
    ['Keystone 22 (Debian 12)', undefined],
    ['Keystone 27 (Debian 13)', (command: string[], binds: string[]) => inTrixie(command, { binds, keepMounts: true })]
  ] as const)('%s', (stack, within) => {
    let keystone: KeystoneInstance
    let fix: KeystoneInstance['fixtures']
    beforeAll(async () => {
      keystone = await startKeystone(within ? { within } : {})
      fix = keystone.fixtures
    }, 600_000)
    afterAll(async () => {
      await keystone?.stop()
    })

    const password = () => ({ 'user-id': fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD, 'project-id': fix.FIX_PROJ2_ID })

    test('password login, token-use: exchange: the tools exchange the token (1 POST); pass-through makes none', async () => {
      await expectCalls(
        `${stack}, password, exchange`,
        keystone,
        { inputs: password(), secrets: [fix.FIX_USER2_PASSWORD], project: fix.FIX_PROJ2_NAME },
        PASSWORD_TOKEN
      )
    })

    test('password login, token-use: direct: the same (gophercloud reads no OS_AUTH_TYPE)', async () => {
      await expectCalls(
        `${stack}, password, direct`,
        keystone,
        { inputs: { ...password(), 'token-use': 'direct' }, secrets: [fix.FIX_USER2_PASSWORD], project: fix.FIX_PROJ2_NAME },
        PASSWORD_TOKEN
      )
    })

    test("application credential: Keystone refuses the exchange (403), so Terraform's defaults and Packer fail; pass-through works", async () => {
      const refused = /login: .*POST .*\/v3\/auth\/tokens.*403/
      await expectCalls(
        `${stack}, application credential`,
        keystone,
        {
          inputs: { 'application-credential-id': fix.FIX_APPCRED_ID, 'application-credential-secret': fix.FIX_APPCRED_SECRET },
          secrets: [fix.FIX_APPCRED_SECRET],
          project: fix.FIX_PROJ2_NAME
        },
        { 'terraform, defaults': refused, 'terraform, pass-through': 'passed through', packer: refused }
      )
    })
  })

  describe('keyless login (a federated Keystone 22, GitHub-shaped ID tokens)', () => {
    let ks: FederatedKeystone
    let endpoint: IdTokenEndpoint
    beforeAll(async () => {
      ks = await startFederatedKeystone()
      endpoint = await ks.startIdTokenEndpoint()
    }, 600_000)
    afterAll(async () => {
      await endpoint?.close()
      await ks?.stop()
    })

    test('the federated project token: exchanged like a password one, or passed through', async () => {
      await expectCalls(
        'Keystone 22 (Debian 12), keyless',
        ks,
        {
          inputs: { 'identity-provider': ks.identityProvider, audience: ks.audience, 'project-id': ks.fixtures.projectId },
          runnerEnv: endpoint.runnerEnv(),
          project: ks.fixtures.projectName
        },
        PASSWORD_TOKEN
      )
    })
  })
})
