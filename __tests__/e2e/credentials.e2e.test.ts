import * as fs from 'node:fs'
import * as path from 'node:path'
import { startKeystone, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'
import { cli, errors, job, leaks, output, ROOT } from './helpers.js'

/**
 * Credentials as users already have them: OpenRC files from Horizon and OVHcloud (kept as
 * secrets), a clouds.yaml, and the catalog check of the region, against the real Keystone and CLI.
 * The OpenRC texts are the fixtures of the unit tests with this Keystone's values put in.
 */

let keystone: KeystoneInstance
let fix: KeystoneInstance['fixtures']

beforeAll(async () => {
  keystone = await startKeystone()
  fix = keystone.fixtures
}, 600_000)
afterAll(async () => {
  await keystone?.stop()
})

/** A fixture OpenRC with some `export OS_X=…` lines given new values. */
function openrc(fixture: string, values: Record<string, string>): string {
  let text = fs.readFileSync(path.join(ROOT, '__tests__/fixtures/openrc', fixture), 'utf8')
  for (const [name, value] of Object.entries(values)) {
    const line = new RegExp(`^export ${name}=.*$`, 'm')
    expect(text).toMatch(line)
    text = text.replace(line, `export ${name}="${value}"`)
  }
  return text
}

test("Horizon's OpenRC, password from the password input", async () => {
  const text = openrc('horizon-v3-openrc.sh', {
    OS_AUTH_URL: keystone.authUrl,
    OS_PROJECT_ID: fix.FIX_PROJ2_ID,
    OS_PROJECT_NAME: fix.FIX_PROJ2_NAME,
    OS_USER_DOMAIN_NAME: fix.FIX_DOM2_NAME,
    OS_PROJECT_DOMAIN_ID: fix.FIX_DOM2_ID,
    OS_USERNAME: fix.FIX_USER2_NAME
  })
  const transcript = await job({
    inputs: { openrc: text, password: fix.FIX_USER2_PASSWORD },
    secrets: [text, fix.FIX_USER2_PASSWORD],
    steps: [cli('project show', `project show ${fix.FIX_PROJ2_ID} -f value -c name`)]
  })
  expect(transcript.failed).toBe(false)
  expect(output(transcript, 'project show')).toBe(fix.FIX_PROJ2_NAME)
  // RegionOne is in the catalog: checked, then exported
  expect(transcript.outputs['catalog-regions']).toBe('["RegionOne"]')
  expect(JSON.parse(transcript.outputs.endpoints!)).toEqual({ identity: keystone.authUrl })
  expect(leaks(transcript, [fix.FIX_USER2_PASSWORD, transcript.outputs.token!])).toEqual([])
})

test("OVHcloud's OpenRC (legacy OS_TENANT_*), password from the job's OS_PASSWORD", async () => {
  const text = openrc('ovhcloud-openrc.sh', {
    OS_AUTH_URL: keystone.authUrl,
    OS_TENANT_ID: fix.FIX_PROJ2_ID,
    OS_TENANT_NAME: fix.FIX_PROJ2_NAME,
    OS_USERNAME: fix.FIX_USER2_NAME,
    OS_REGION_NAME: 'RegionOne'
  })
    // the user lives in dom2 here, not in OVHcloud's Default
    .replace(/\$\{OS_USER_DOMAIN_NAME:-"Default"\}/, `\${OS_USER_DOMAIN_NAME:-"${fix.FIX_DOM2_NAME}"}`)
    .replace(/\$\{OS_PROJECT_DOMAIN_NAME:-"Default"\}/, `\${OS_PROJECT_DOMAIN_NAME:-"${fix.FIX_DOM2_NAME}"}`)
  const transcript = await job({
    inputs: { openrc: text },
    jobEnv: { OS_PASSWORD: fix.FIX_USER2_PASSWORD },
    secrets: [text, fix.FIX_USER2_PASSWORD],
    steps: [cli('token issue', 'token issue -f value -c project_id')]
  })
  expect(transcript.failed).toBe(false)
  expect(output(transcript, 'token issue')).toBe(fix.FIX_PROJ2_ID)
  expect(transcript.env).toMatchObject({ OS_TENANT_ID: '', OS_TENANT_NAME: '', OS_PASSWORD: '', OS_PROJECT_ID: fix.FIX_PROJ2_ID })
})

test('an application-credential OpenRC', async () => {
  const text = openrc('horizon-app-cred-openrc.sh', {
    OS_AUTH_URL: keystone.authUrl,
    OS_APPLICATION_CREDENTIAL_ID: fix.FIX_APPCRED_ID,
    OS_APPLICATION_CREDENTIAL_SECRET: fix.FIX_APPCRED_SECRET
  })
  const transcript = await job({ inputs: { openrc: text }, secrets: [text] })
  expect(transcript.failed).toBe(false)
  expect(transcript.outputs['project-id']).toBe(fix.FIX_PROJ2_ID)
  expect(transcript.main?.stdout).toContain(`::add-mask::${fix.FIX_APPCRED_SECRET}`)
  expect(leaks(transcript, [fix.FIX_APPCRED_SECRET])).toEqual([])
})

test('a clouds.yaml with OS_CLOUD in the job env, and OS_CLOUD blanked for later steps', async () => {
  const yaml = [
    'clouds:',
    '  lab:',
    '    auth:',
    `      auth_url: ${keystone.authUrl}`,
    `      username: ${fix.FIX_USER2_NAME}`,
    `      password: ${fix.FIX_USER2_PASSWORD}`,
    `      user_domain_name: ${fix.FIX_DOM2_NAME}`,
    `      project_name: ${fix.FIX_PROJ2_NAME}`,
    `      project_domain_name: ${fix.FIX_DOM2_NAME}`,
    '    region_name: RegionOne',
    '    identity_api_version: 3'
  ].join('\n')
  const transcript = await job({
    inputs: { 'clouds-yaml': yaml },
    jobEnv: { OS_CLOUD: 'lab' },
    secrets: [yaml],
    steps: [cli('project show', `project show ${fix.FIX_PROJ2_NAME} -f value -c id`)]
  })
  expect(transcript.failed).toBe(false)
  expect(transcript.env.OS_CLOUD).toBe('')
  expect(output(transcript, 'project show')).toBe(fix.FIX_PROJ2_ID)
  expect(leaks(transcript, [fix.FIX_USER2_PASSWORD])).toEqual([])
})

test('a wrong region: the error lists the real ones, nothing is exported, the token is revoked', async () => {
  const transcript = await job({
    inputs: {
      'auth-url': keystone.authUrl,
      'user-id': fix.FIX_USER2_ID,
      password: fix.FIX_USER2_PASSWORD,
      'project-id': fix.FIX_PROJ2_ID,
      region: 'GRA11'
    },
    secrets: [fix.FIX_USER2_PASSWORD],
    steps: [cli('never runs', 'token issue')]
  })
  expect(transcript.failed).toBe(true)
  expect(errors(transcript)).toEqual(['::error::input `region` is "GRA11", which is not in this cloud\'s catalog: the regions it has are RegionOne.'])
  expect(transcript.main?.exportedEnv).toEqual({})
  expect(transcript.main?.stdout).toContain('Revoked the token Keystone issued before the failure.')
  expect(transcript.post?.stdout).toContain('No token to revoke: the main step did not issue one, or already revoked it.')
})
