import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { countRequests, startKeystone, validateToken, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import { runJob } from '../../scripts/emulator/runner.mjs'
import { cli, errors, job, leaks, OPENSTACK, output, ROOT, issueAdminToken } from './helpers.js'

/**
 * The product as a user meets it: the built action in a job, a real Keystone, the real
 * `openstack` CLI in the steps after it, the post step at the end. The fixtures live in a second
 * domain (dom2), so nothing works by accident through the Default domain.
 */

let keystone: KeystoneInstance
let fix: KeystoneInstance['fixtures']
let adminToken: string

beforeAll(async () => {
  keystone = await startKeystone()
  fix = keystone.fixtures
  adminToken = await issueAdminToken(keystone)
}, 600_000)

afterAll(async () => {
  await keystone?.stop()
})

/** What an OVHcloud OpenRC leaves in a job's env: the password and the user domain stay set. */
function ovhStyleJobEnv(): Record<string, string> {
  return {
    OS_AUTH_URL: keystone.authUrl,
    OS_USERNAME: fix.FIX_USER2_NAME,
    OS_PASSWORD: fix.FIX_USER2_PASSWORD,
    OS_USER_DOMAIN_NAME: fix.FIX_DOM2_NAME,
    OS_PROJECT_DOMAIN_NAME: fix.FIX_DOM2_NAME,
    OS_TENANT_ID: fix.FIX_PROJ2_ID,
    OS_TENANT_NAME: fix.FIX_PROJ2_NAME,
    OS_REGION_NAME: 'RegionOne',
    OS_IDENTITY_API_VERSION: '3'
  }
}

/** The checks every successful job must pass: real revocation, no leak, the token really used. */
async function expectRevokedAndClean(transcript: Awaited<ReturnType<typeof job>>, secrets: string[]): Promise<string> {
  const token = transcript.outputs.token!
  expect(token).toMatch(/^gAAAA/)
  expect(transcript.post?.status).toBe('success')
  expect(transcript.post?.stdout).toContain('Token revoked.')
  // Keystone itself says the token is gone.
  expect(await validateToken(keystone.authUrl, adminToken, token)).toBe(404)
  expect(leaks(transcript, [token, ...secrets])).toEqual([])
  return token
}

describe('password login, then the real CLI with what the action exported', () => {
  test('inputs: user name + domain, project id; the job env still holds an OpenRC', async () => {
    const jobEnv = ovhStyleJobEnv()
    const transcript = await job({
      jobEnv,
      inputs: {
        'auth-url': `${keystone.authUrl}/`,
        username: fix.FIX_USER2_NAME,
        password: fix.FIX_USER2_PASSWORD,
        'user-domain-name': fix.FIX_DOM2_NAME,
        'project-id': fix.FIX_PROJ2_ID,
        region: 'RegionOne'
      },
      secrets: [fix.FIX_USER2_PASSWORD],
      steps: [
        cli('project show', `project show ${fix.FIX_PROJ2_ID} -f value -c name`),
        cli('catalog list', 'catalog list -f value -c Name'),
        cli('token issue', 'token issue -f value -c project_id'),
        { name: 'env', run: 'echo "domain=[$OS_USER_DOMAIN_NAME] password=[${OS_PASSWORD:+set}] type=$OS_AUTH_TYPE"' }
      ]
    })
    expect(transcript.failed).toBe(false)
    expect(output(transcript, 'project show')).toBe(fix.FIX_PROJ2_NAME)
    expect(output(transcript, 'catalog list')).toContain('keystone')
    expect(output(transcript, 'token issue')).toBe(fix.FIX_PROJ2_ID)
    expect(output(transcript, 'env')).toBe('domain=[] password=[] type=openstack-token')
    expect(transcript.main?.stdout.join('\n')).toMatch(/Issued a Keystone token for user user2 \(domain dom2\), scoped to project proj2/)
    const token = await expectRevokedAndClean(transcript, [fix.FIX_USER2_PASSWORD])

    // The environment the later steps had no longer works once the job is over (RUNNER_TEMP, where
    // the auth plugin reads the token, is gone too).
    expect(transcript.env.OS_TOKEN).toBe(token)
    const after = spawnSync(OPENSTACK, ['project', 'show', fix.FIX_PROJ2_ID], {
      env: { ...transcript.env, PATH: '/usr/bin:/bin' },
      encoding: 'utf8',
      timeout: 60_000
    })
    expect(after.status).not.toBe(0)
    expect(after.stderr).toMatch(/HTTP 404|HTTP 401|requires authentication|The plugin openstack-token could not be found/)
  })

  test('inputs: user id, project name + project domain', async () => {
    const transcript = await job({
      inputs: {
        'auth-url': keystone.authUrl,
        'user-id': fix.FIX_USER2_ID,
        password: fix.FIX_USER2_PASSWORD,
        'project-name': fix.FIX_PROJ2_NAME,
        'project-domain-id': fix.FIX_DOM2_ID
      },
      secrets: [fix.FIX_USER2_PASSWORD],
      steps: [cli('project show', `project show ${fix.FIX_PROJ2_NAME} -f value -c id`)]
    })
    expect(transcript.failed).toBe(false)
    expect(output(transcript, 'project show')).toBe(fix.FIX_PROJ2_ID)
    expect(transcript.env).toMatchObject({ OS_PROJECT_ID: fix.FIX_PROJ2_ID, OS_PROJECT_DOMAIN_ID: fix.FIX_DOM2_ID })
    await expectRevokedAndClean(transcript, [fix.FIX_USER2_PASSWORD])
  })

  test('a bare uses: with the OpenRC variables in the job env', async () => {
    const transcript = await job({
      jobEnv: ovhStyleJobEnv(),
      secrets: [fix.FIX_USER2_PASSWORD],
      steps: [cli('project show', `project show ${fix.FIX_PROJ2_ID} -f value -c domain_id`), cli('token issue', 'token issue -f value -c user_id')]
    })
    expect(transcript.failed).toBe(false)
    expect(output(transcript, 'project show')).toBe(fix.FIX_DOM2_ID)
    expect(output(transcript, 'token issue')).toBe(fix.FIX_USER2_ID)
    expect(transcript.env).toMatchObject({
      OS_TENANT_ID: '',
      OS_TENANT_NAME: '',
      OS_PASSWORD: '',
      OS_USER_DOMAIN_NAME: '',
      OS_AUTH_TYPE: 'openstack-token'
    })
    await expectRevokedAndClean(transcript, [fix.FIX_USER2_PASSWORD])
  })

  test('domain scope', async () => {
    const transcript = await job({
      inputs: {
        'auth-url': keystone.authUrl,
        username: fix.FIX_USER2_NAME,
        password: fix.FIX_USER2_PASSWORD,
        'user-domain-id': fix.FIX_DOM2_ID,
        'domain-name': fix.FIX_DOM2_NAME
      },
      secrets: [fix.FIX_USER2_PASSWORD],
      steps: [cli('token issue', 'token issue -f value -c domain_id')]
    })
    expect(transcript.failed).toBe(false)
    expect(transcript.env).toMatchObject({ OS_DOMAIN_ID: fix.FIX_DOM2_ID, OS_DOMAIN_NAME: fix.FIX_DOM2_NAME, OS_PROJECT_ID: '' })
    expect(transcript.outputs['domain-id']).toBe(fix.FIX_DOM2_ID)
    expect(output(transcript, 'token issue')).toBe(fix.FIX_DOM2_ID)
    await expectRevokedAndClean(transcript, [fix.FIX_USER2_PASSWORD])
  })

  test('system scope (the bootstrap admin)', async () => {
    const transcript = await job({
      inputs: { 'auth-url': keystone.authUrl, 'user-id': fix.FIX_ADMIN_USER_ID, password: fix.FIX_ADMIN_PASSWORD, 'system-scope': 'all' },
      secrets: [fix.FIX_ADMIN_PASSWORD],
      steps: [cli('domain list', 'domain list -f value -c Name')]
    })
    expect(transcript.failed).toBe(false)
    expect(transcript.env.OS_SYSTEM_SCOPE).toBe('all')
    expect(output(transcript, 'domain list').split('\n')).toEqual(expect.arrayContaining(['Default', fix.FIX_DOM2_NAME]))
    await expectRevokedAndClean(transcript, [fix.FIX_ADMIN_PASSWORD])
  })
})

describe('application credentials', () => {
  test.each([
    ['by id', () => ({ 'application-credential-id': fix.FIX_APPCRED_ID })],
    [
      'by name + user',
      () => ({ 'application-credential-name': fix.FIX_APPCRED_NAME, username: fix.FIX_USER2_NAME, 'user-domain-name': fix.FIX_DOM2_NAME })
    ]
  ])('%s: the token is issued for the credential project, exported, and revoked', async (_name, credential) => {
    const transcript = await job({
      inputs: { 'auth-url': keystone.authUrl, ...credential(), 'application-credential-secret': fix.FIX_APPCRED_SECRET },
      secrets: [fix.FIX_APPCRED_SECRET],
      steps: [
        // The token as it is works for any tool that sends it (here: Keystone validating itself).
        {
          name: 'curl',
          run: 'curl -s -o /dev/null -w "%{http_code}" -H "X-Auth-Token: $OS_TOKEN" -H "X-Subject-Token: $OS_TOKEN" "$OS_AUTH_URL/auth/tokens"'
        }
      ]
    })
    expect(transcript.failed).toBe(false)
    expect(output(transcript, 'curl')).toBe('200')
    expect(transcript.outputs['project-id']).toBe(fix.FIX_PROJ2_ID)
    expect(transcript.main?.stdout.join('\n')).toMatch(/through application credential ci-appcred/)
    await expectRevokedAndClean(transcript, [fix.FIX_APPCRED_SECRET])
  })
})

describe('failures a user can cause', () => {
  test('a wrong password: one error with Keystone’s words, nothing exported, nothing to revoke', async () => {
    const transcript = await job({
      jobEnv: { ...ovhStyleJobEnv(), OS_PASSWORD: 'not-the-password' },
      secrets: ['not-the-password'],
      steps: [cli('never runs', 'token issue')]
    })
    expect(transcript.failed).toBe(true)
    expect(errors(transcript)).toEqual([
      expect.stringMatching(
        /^::error::Keystone answered HTTP 401 .*"The request you have made requires authentication\." at .*: Keystone refused the credentials themselves, also without a scope; check the user \(username with user-domain-name or user-domain-id\) and the password/
      )
    ])
    expect(transcript.main?.exportedEnv).toEqual({})
    expect(transcript.step('never runs')?.status).toBe('skipped')
    expect(transcript.post?.stdout).toContain('No token to revoke: the main step did not issue one, or already revoked it.')
    expect(leaks(transcript, ['not-the-password'])).toEqual([])
  })

  test('a user with no role on the project: a message that names the scope, and the unscoped probe token revoked at once', async () => {
    const deletes = (): number => (readFileSync(keystone.accessLogPath, 'utf8').match(/"DELETE \/v3\/auth\/tokens HTTP\/[\d.]+" 204 /g) ?? []).length
    const before = { post: countRequests(keystone.accessLogPath), revoked: deletes() }
    const transcript = await job({
      inputs: { 'auth-url': keystone.authUrl, 'user-id': fix.FIX_NOROLE_ID, password: fix.FIX_NOROLE_PASSWORD, 'project-id': fix.FIX_PROJ2_ID },
      secrets: [fix.FIX_NOROLE_PASSWORD]
    })
    expect(transcript.failed).toBe(true)
    expect(errors(transcript)).toEqual([
      expect.stringMatching(
        /HTTP 401 .*: Keystone accepted the credentials but refused a token scoped to project [0-9a-f]{32}; check that the project exists \(project-id\), and that the user has a role on it/
      )
    ])
    // The scoped login, then the unscoped probe; the probe's token revoked by itself (204).
    expect(countRequests(keystone.accessLogPath) - before.post).toBe(2)
    expect(deletes() - before.revoked).toBe(1)
    expect(transcript.main?.stdout).toContain('Keystone accepted the credentials without a scope (diagnose-refusal); that unscoped token is revoked.')
  })

  test('Keystone down: a clear error within max-wait', async () => {
    const started = Date.now()
    const transcript = await job({
      inputs: { 'auth-url': 'http://127.0.0.1:9/v3', 'user-id': 'u', password: 'pw', 'max-wait': '3s' },
      secrets: ['pw']
    })
    expect(transcript.failed).toBe(true)
    expect(errors(transcript)).toEqual([
      expect.stringMatching(
        /^::error::Gave up after \d+ attempts over \d+(\.\d)? s \(max-wait 3 s\)\. Last answer: Could not issue a token at 127\.0\.0\.1:9: /
      )
    ])
    expect(Date.now() - started).toBeLessThan(20_000)
  })
})

describe('the post step', () => {
  test('runs when a later step failed, and revokes', async () => {
    const transcript = await job({
      jobEnv: ovhStyleJobEnv(),
      secrets: [fix.FIX_USER2_PASSWORD],
      steps: [{ name: 'deploy fails', run: 'exit 3' }]
    })
    expect(transcript.failed).toBe(true)
    await expectRevokedAndClean(transcript, [fix.FIX_USER2_PASSWORD])
  })

  test('runs when the job is cancelled, and revokes', async () => {
    const transcript = await job({
      jobEnv: ovhStyleJobEnv(),
      secrets: [fix.FIX_USER2_PASSWORD],
      steps: [{ name: 'long deploy', run: 'sleep 30' }],
      cancelled: { during: 'long deploy', afterMs: 500 }
    })
    expect(transcript.cancelled).toBe(true)
    await expectRevokedAndClean(transcript, [fix.FIX_USER2_PASSWORD])
  })

  test('revoke: false leaves the token valid', async () => {
    const transcript = await job({ jobEnv: ovhStyleJobEnv(), inputs: { revoke: 'false' }, secrets: [fix.FIX_USER2_PASSWORD] })
    expect(transcript.post?.stdout.join('\n')).toMatch(/Token left valid until .* \(revoke: false\)\./)
    expect(await validateToken(keystone.authUrl, adminToken, transcript.outputs.token!)).toBe(200)
  })

  test('one POST in the main step, one DELETE in the post step', async () => {
    const before = { post: countRequests(keystone.accessLogPath), del: countRequests(keystone.accessLogPath, { method: 'DELETE' }) }
    const transcript = await job({ jobEnv: ovhStyleJobEnv(), secrets: [fix.FIX_USER2_PASSWORD] })
    expect(transcript.failed).toBe(false)
    expect(countRequests(keystone.accessLogPath) - before.post).toBe(1)
    expect(countRequests(keystone.accessLogPath, { method: 'DELETE' }) - before.del).toBe(1)
  })
})

describe('a token that expires before the job ends', () => {
  let shortLived: KeystoneInstance
  beforeAll(async () => {
    shortLived = await startKeystone({ tokenExpiration: 6 })
  }, 600_000)
  afterAll(async () => {
    await shortLived?.stop()
  })

  test('without renewal, the CLI then fails; the post step still asks Keystone, which answers that the token is gone (quietly)', async () => {
    const f = shortLived.fixtures
    const transcript = await runJob({
      actionDir: ROOT,
      baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
      // renew: false: with renewal (renewal.e2e.test.ts) the late call gets a fresh token instead.
      inputs: {
        'auth-url': shortLived.authUrl,
        'user-id': f.FIX_USER2_ID,
        password: f.FIX_USER2_PASSWORD,
        'project-id': f.FIX_PROJ2_ID,
        renew: 'false'
      },
      secrets: [f.FIX_USER2_PASSWORD],
      steps: [
        { name: 'outlive the token', run: 'sleep 7' },
        { name: 'late call', run: `${OPENSTACK} project show ${f.FIX_PROJ2_ID}`, if: 'always()' }
      ]
    })
    expect(transcript.step('late call')?.status).toBe('failure')
    expect(transcript.post?.stdout.join('\n')).toMatch(/^Token already revoked or expired: nothing to do\.$/m)
    expect(transcript.post?.annotations).toEqual([])
    expect(transcript.post?.status).toBe('success')
    // The revocation reached Keystone, whatever the runner's clock said.
    expect(countRequests(shortLived.accessLogPath, { method: 'DELETE' })).toBe(1)
  })
})
