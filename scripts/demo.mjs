#!/usr/bin/env node
// `npm run demo`: the action's main job, end to end, on this machine. Starts a throw-away Keystone
// on 127.0.0.1 (installing Debian's packages the first time), runs the action's main step, an
// `openstack` command with only what the action exported, and the post step, through the runner
// emulator, and prints each step as the Actions log would show it (secrets masked).
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderStep, runJob } from './emulator/runner.mjs'
import { startKeystone, validateToken, issueToken } from './keystone/keystone.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

console.log('Starting a local Keystone on 127.0.0.1 (the first run installs python3-keystone with apt)…')
const keystone = await startKeystone()
try {
  const fix = keystone.fixtures
  console.log(`Keystone ready at ${keystone.authUrl}; user ${fix.FIX_USER2_NAME} in domain ${fix.FIX_DOM2_NAME}, project ${fix.FIX_PROJ2_NAME}.\n`)

  // The job's env holds an OpenRC, as many workflows do; the action needs no `with:` then.
  const transcript = await runJob({
    actionDir: ROOT,
    baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
    jobEnv: {
      OS_AUTH_URL: keystone.authUrl,
      OS_USERNAME: fix.FIX_USER2_NAME,
      OS_PASSWORD: fix.FIX_USER2_PASSWORD,
      OS_USER_DOMAIN_NAME: fix.FIX_DOM2_NAME,
      OS_PROJECT_DOMAIN_NAME: fix.FIX_DOM2_NAME,
      OS_PROJECT_NAME: fix.FIX_PROJ2_NAME,
      OS_REGION_NAME: 'RegionOne'
    },
    secrets: [fix.FIX_USER2_PASSWORD],
    steps: [
      { name: 'Run openstack project show', run: `/usr/bin/openstack project show ${fix.FIX_PROJ2_NAME} -c id -c name -c domain_id` },
      { name: 'Run openstack token issue', run: '/usr/bin/openstack token issue -c expires -c project_id -c user_id' }
    ]
  })
  for (const step of transcript.steps) console.log(`${renderStep(step).join('\n')}\n`)

  const admin = await issueToken(keystone.authUrl, {
    auth: {
      identity: { methods: ['password'], password: { user: { id: fix.FIX_ADMIN_USER_ID, password: fix.FIX_ADMIN_PASSWORD } } },
      scope: { project: { id: fix.FIX_ADMIN_PROJECT_ID } }
    }
  })
  const status = transcript.outputs.token ? await validateToken(keystone.authUrl, admin.token, transcript.outputs.token) : 0
  console.log(`After the job, Keystone validates the action's token with HTTP ${status}${status === 404 ? ' (revoked)' : ''}.`)
  process.exitCode = transcript.failed || status !== 404 ? 1 : 0
} finally {
  await keystone.stop()
}
