import * as fs from 'node:fs'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { join } from 'node:path'
import { startKeystone, validateToken, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import { issueAdminToken, job, leaks, OPENSTACK, output, ROOT } from './helpers.js'

/**
 * With the defaults, for each way to log in: a job that runs `openstack token issue`, `openstack
 * project show`, an openstacksdk script and an Ansible module, then the post step. Keystone's
 * access log during the job: every token issued (POST /v3/auth/tokens, 201) is revoked (DELETE,
 * 204), one of each, and the token `openstack token issue` printed no longer validates. (Keyless
 * login, the same job on the federated Keystone: __tests__/e2e/oidc.e2e.test.ts.)
 */

let keystone: KeystoneInstance
let fix: KeystoneInstance['fixtures']
let collections: string
const figures: string[] = []

beforeAll(async () => {
  keystone = await startKeystone()
  fix = keystone.fixtures
  // Debian bookworm's openstack.cloud 1.10 refuses openstacksdk 0.101 by a version bound: a copy
  // without it (as in services.e2e.test.ts).
  collections = mkdtempSync(join(tmpdir(), 'ansible-collections-'))
  const copy = join(collections, 'ansible_collections', 'openstack', 'cloud')
  cpSync('/usr/lib/python3/dist-packages/ansible_collections/openstack/cloud', copy, { recursive: true })
  const utils = join(copy, 'plugins', 'module_utils', 'openstack.py')
  writeFileSync(utils, readFileSync(utils, 'utf8').replace(/^MAXIMUM_SDK_VERSION = .*$/m, 'MAXIMUM_SDK_VERSION = None'))
}, 600_000)
afterAll(async () => {
  if (figures.length > 0) console.log(['With the defaults, per job (Keystone access log):', ...figures].join('\n'))
  if (collections) rmSync(collections, { recursive: true, force: true })
  await keystone?.stop()
})

function accessLog(): string[] {
  return readFileSync(keystone.accessLogPath, 'utf8')
    .split('\n')
    .filter(line => line.trim() !== '')
}

/** The access log once no new line has come for 300 ms (bounded: 3 s): gunicorn writes a line after answering. */
async function settledLog(): Promise<string[]> {
  let lines = accessLog()
  for (let quiet = 0, i = 0; quiet < 3 && i < 30; i++) {
    await new Promise(resolve => setTimeout(resolve, 100))
    const again = accessLog()
    quiet = again.length === lines.length ? quiet + 1 : 0
    lines = again
  }
  return lines
}

/** A fixture OpenRC with some `export OS_X=…` lines given new values. */
function openrc(fixture: string, values: Record<string, string>): string {
  let text = fs.readFileSync(path.join(ROOT, '__tests__/fixtures/openrc', fixture), 'utf8')
  for (const [name, value] of Object.entries(values)) text = text.replace(new RegExp(`^export ${name}=.*$`, 'm'), `export ${name}="${value}"`)
  return text
}

type Login = { inputs?: Record<string, string>; jobEnv?: Record<string, string>; secrets: string[] }

const LOGINS: Array<[string, () => Login]> = [
  [
    'password inputs',
    () => ({
      inputs: { 'auth-url': keystone.authUrl, 'user-id': fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD, 'project-id': fix.FIX_PROJ2_ID },
      secrets: [fix.FIX_USER2_PASSWORD]
    })
  ],
  [
    "OVHcloud's OpenRC file (it prompts for the password: the password input answers)",
    () => {
      const text = openrc('ovhcloud-openrc.sh', {
        OS_AUTH_URL: keystone.authUrl,
        OS_TENANT_ID: fix.FIX_PROJ2_ID,
        OS_TENANT_NAME: fix.FIX_PROJ2_NAME,
        OS_USERNAME: fix.FIX_USER2_NAME,
        OS_REGION_NAME: 'RegionOne'
      })
        .replace(/\$\{OS_USER_DOMAIN_NAME:-"Default"\}/, `\${OS_USER_DOMAIN_NAME:-"${fix.FIX_DOM2_NAME}"}`)
        .replace(/\$\{OS_PROJECT_DOMAIN_NAME:-"Default"\}/, `\${OS_PROJECT_DOMAIN_NAME:-"${fix.FIX_DOM2_NAME}"}`)
      return { inputs: { openrc: text, password: fix.FIX_USER2_PASSWORD }, secrets: [text, fix.FIX_USER2_PASSWORD] }
    }
  ],
  [
    'the OpenRC variables in the job env (a bare uses:)',
    () => ({
      jobEnv: {
        OS_AUTH_URL: keystone.authUrl,
        OS_USERNAME: fix.FIX_USER2_NAME,
        OS_PASSWORD: fix.FIX_USER2_PASSWORD,
        OS_USER_DOMAIN_NAME: fix.FIX_DOM2_NAME,
        OS_PROJECT_DOMAIN_NAME: fix.FIX_DOM2_NAME,
        OS_TENANT_ID: fix.FIX_PROJ2_ID
      },
      secrets: [fix.FIX_USER2_PASSWORD]
    })
  ],
  [
    'a clouds.yaml',
    () => {
      const yaml = [
        'clouds:',
        '  lab:',
        '    auth:',
        `      auth_url: ${keystone.authUrl}`,
        `      username: ${fix.FIX_USER2_NAME}`,
        `      password: ${fix.FIX_USER2_PASSWORD}`,
        `      user_domain_name: ${fix.FIX_DOM2_NAME}`,
        `      project_id: ${fix.FIX_PROJ2_ID}`,
        '    identity_api_version: 3'
      ].join('\n')
      return { inputs: { 'clouds-yaml': yaml }, secrets: [yaml, fix.FIX_USER2_PASSWORD] }
    }
  ],
  [
    'an application credential',
    () => ({
      inputs: {
        'auth-url': keystone.authUrl,
        'application-credential-id': fix.FIX_APPCRED_ID,
        'application-credential-secret': fix.FIX_APPCRED_SECRET
      },
      secrets: [fix.FIX_APPCRED_SECRET]
    })
  ]
]

test.each(LOGINS)(
  '%s: CLI, openstacksdk and Ansible with the defaults, then the post step: 1 token issued, 1 revoked, none alive',
  async (label, login) => {
    const { inputs, jobEnv, secrets } = login()
    const before = (await settledLog()).length
    const sdk = `import openstack; print(openstack.connect().identity.get_project(${JSON.stringify(fix.FIX_PROJ2_ID)}).name)`
    const transcript = await job({
      ...(inputs && { inputs }),
      ...(jobEnv && { jobEnv }),
      secrets,
      steps: [
        // What it prints is compared here, not printed: the step log is checked for leaks.
        { name: 'token issue', run: `test "$(${OPENSTACK} token issue -f value -c id)" = "$OS_TOKEN" && echo "the job's token"` },
        { name: 'project show', run: `${OPENSTACK} project show ${fix.FIX_PROJ2_ID} -f value -c name` },
        { name: 'openstacksdk', run: `/usr/bin/python3 -c '${sdk}'` },
        {
          name: 'ansible',
          env: { ANSIBLE_COLLECTIONS_PATH: collections, ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' },
          run: `/usr/bin/ansible localhost -o -m openstack.cloud.auth | grep -o '^localhost | SUCCESS'`
        }
      ]
    })
    expect(transcript.failed).toBe(false)
    const token = transcript.outputs.token!
    expect(output(transcript, 'token issue')).toBe("the job's token")
    expect(output(transcript, 'project show')).toBe(fix.FIX_PROJ2_NAME)
    expect(output(transcript, 'openstacksdk')).toBe(fix.FIX_PROJ2_NAME)
    expect(output(transcript, 'ansible')).toBe('localhost | SUCCESS')
    expect(transcript.env.OS_AUTH_TYPE).toBe('openstack-token')
    expect(transcript.post?.stdout).toContain('Token revoked.')

    const during = (await settledLog()).slice(before)
    const issued = during.filter(line => /"POST \/v3\/auth\/tokens[^"]*" 201 /.test(line)).length
    const revoked = during.filter(line => /"DELETE \/v3\/auth\/tokens[^"]*" 204 /.test(line)).length
    figures.push(`  ${label}: ${issued} issued (201), ${revoked} revoked (204), ${during.length} Keystone requests in all`)
    expect([issued, revoked]).toEqual([1, 1])
    // The token the smoke test printed is the job's one, and it is dead.
    expect(await validateToken(keystone.authUrl, await issueAdminToken(keystone), token)).toBe(404)
    expect(leaks(transcript, [token, ...secrets])).toEqual([])
  }
)
