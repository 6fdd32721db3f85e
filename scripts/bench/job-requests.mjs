// What a job with the action's defaults costs Keystone, counted in Keystone's own access log: a job
// logs in, makes N `openstack` calls, and ends with the post step; per login method (password
// inputs, an OpenRC file, a clouds.yaml, an application credential, keyless). Goal: 1 login, 0
// Keystone requests per call, 1 revocation, plus one renewal (1 login + 1 revocation) per two thirds
// of the token's life.
//
// The N calls are `openstack catalog list` run N times by openstackclient's own entry point
// (`openstackclient.shell.main`) in ONE Python process: each call builds a new shell, a new
// openstacksdk cloud configuration and a new auth plugin from the environment, as a separate
// `openstack` process does, without paying Python's start N times (about 0.7 s each here). Pass
// --processes to run N real `openstack` processes instead.
//
//   node scripts/bench/job-requests.mjs [--calls 100] [--processes] [--hold SECONDS] [--token-life SECONDS] [--with INPUT=VALUE]…
//
// --with adds an input to every job (e.g. --with token-use=direct, --with renew=false).
// --token-life sets Keystone's [token] expiration (default 3600); --hold keeps the job running that
// long after the calls, so that renewals land (e.g. --token-life 300 --hold 150: one renewal).
// Loopback only; every step is bounded.

import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runJob } from '../emulator/runner.mjs'
import { countRequests, startKeystone } from '../keystone/keystone.mjs'
import { startFederatedKeystone } from '../oidc/oidc.mjs'
import { ROOT } from './lib.mjs'

const argv = process.argv.slice(2)
const value = (name, fallback) => {
  const i = argv.indexOf(name)
  if (i < 0) return fallback
  const n = Number(argv[i + 1])
  if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new Error(`${name} needs a whole number, got ${argv[i + 1]}`)
  return n
}
const CALLS = value('--calls', 100)
const HOLD_S = value('--hold', 0)
const LIFE_S = value('--token-life', 3600)
const PROCESSES = argv.includes('--processes')
/** --with INPUT=VALUE, repeatable: on top of each job's own inputs. */
const EXTRA = Object.fromEntries(
  argv.flatMap((arg, i) =>
    arg === '--with' && /^[a-z-]+=/.test(argv[i + 1] ?? '') ? [[argv[i + 1].split('=')[0], argv[i + 1].slice(argv[i + 1].indexOf('=') + 1)]] : []
  )
)

const OPENSTACK = '/usr/bin/openstack'
const callsScript = PROCESSES
  ? `for i in $(seq ${CALLS}); do ${OPENSTACK} catalog list -f value -c Name >/dev/null; done`
  : `/usr/bin/python3 -c 'import sys; from openstackclient import shell
for i in range(${CALLS}):
    if shell.main(["catalog", "list", "-f", "value", "-c", "Name"]) != 0: sys.exit(1)' >/dev/null`

/** Requests in an access log, by kind, between two snapshots. */
function counter(count) {
  const kinds = {
    logins: { method: 'POST', path: '/v3/', status: 201 },
    revocations: { method: 'DELETE', path: '/v3/auth/tokens', status: 204 },
    all: undefined
  }
  const snapshot = () => {
    const result = {}
    for (const [name, filter] of Object.entries(kinds)) {
      result[name] = filter
        ? count(filter)
        : ['GET', 'POST', 'DELETE', 'HEAD', 'PUT', 'PATCH'].reduce((sum, method) => sum + count({ method, path: '/' }), 0)
    }
    return result
  }
  return snapshot
}

function openrc(fixture, values) {
  let text = readFileSync(join(ROOT, '__tests__/fixtures/openrc', fixture), 'utf8')
  for (const [name, v] of Object.entries(values)) text = text.replace(new RegExp(`^export ${name}=.*$`, 'm'), `export ${name}="${v}"`)
  return text
}

async function measure(name, snapshot, options) {
  const trackingId = `github_${randomUUID()}`
  // Keystone's count at four moments: before the job, once the main step has ended, once the calls
  // have, and after the post step. The servers write a request's line once they have answered it.
  const settle = () => new Promise(resolve => setTimeout(resolve, 1000))
  const marks = { start: snapshot() }
  const transcript = await runJob({
    actionDir: ROOT,
    baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', RUNNER_TRACKING_ID: trackingId },
    timeoutMs: Math.max(600_000, (HOLD_S + 60) * 1000),
    ...options,
    inputs: { ...options.inputs, ...EXTRA },
    steps: [
      {
        name: 'after main',
        fn: async () => {
          await settle()
          marks.main = snapshot()
        }
      },
      { name: 'calls', run: callsScript },
      {
        name: 'after calls',
        fn: async () => {
          await settle()
          marks.calls = snapshot()
        }
      },
      ...(HOLD_S > 0 ? [{ name: 'hold', run: `sleep ${HOLD_S}` }] : [])
    ]
  })
  await settle()
  marks.end = snapshot()
  const delta = (from, to) => Object.fromEntries(Object.keys(to).map(kind => [kind, to[kind] - from[kind]]))
  const calls = transcript.step('calls')
  const post = transcript.post?.stdout ?? []
  const ok = !transcript.failed && calls?.status === 'success' && marks.main !== undefined && marks.calls !== undefined
  return {
    name,
    ok,
    tokenUse: transcript.env.OS_AUTH_TYPE ?? '',
    main: ok ? delta(marks.start, marks.main) : undefined,
    calls: ok ? delta(marks.main, marks.calls) : undefined,
    after: ok ? delta(marks.calls, marks.end) : undefined,
    renewals: post.filter(line => line === 'Renewed token revoked.').length,
    callsMs: calls?.durationMs ?? NaN,
    error: transcript.failed
      ? [...(calls?.stderr ?? []), ...(transcript.main?.stdout ?? [])]
          .filter(l => /error|Error/.test(l))
          .slice(-2)
          .join(' / ')
      : ''
  }
}

const [keystone, federated] = await Promise.all([startKeystone({ tokenExpiration: LIFE_S }), startFederatedKeystone({ tokenExpiration: LIFE_S })])
const endpoint = await federated.startIdTokenEndpoint()
try {
  const fix = keystone.fixtures
  const local = counter(filter => countRequests(keystone.accessLogPath, filter))
  const fed = counter(filter => federated.countRequests(filter))
  const clouds = [
    'clouds:',
    '  lab:',
    '    auth:',
    `      auth_url: ${keystone.authUrl}`,
    `      username: ${fix.FIX_USER2_NAME}`,
    `      password: ${fix.FIX_USER2_PASSWORD}`,
    `      user_domain_name: ${fix.FIX_DOM2_NAME}`,
    `      project_name: ${fix.FIX_PROJ2_NAME}`,
    `      project_domain_name: ${fix.FIX_DOM2_NAME}`,
    '    identity_api_version: 3'
  ].join('\n')
  const rows = []
  // One at a time: the counts come from one access log per Keystone.
  rows.push(
    await measure('password (inputs)', local, {
      inputs: { 'auth-url': keystone.authUrl, 'user-id': fix.FIX_USER2_ID, password: fix.FIX_USER2_PASSWORD, 'project-id': fix.FIX_PROJ2_ID }
    })
  )
  rows.push(
    await measure('password (OpenRC file)', local, {
      inputs: {
        openrc: openrc('horizon-v3-openrc.sh', {
          OS_AUTH_URL: keystone.authUrl,
          OS_PROJECT_ID: fix.FIX_PROJ2_ID,
          OS_PROJECT_NAME: fix.FIX_PROJ2_NAME,
          OS_USER_DOMAIN_NAME: fix.FIX_DOM2_NAME,
          OS_PROJECT_DOMAIN_ID: fix.FIX_DOM2_ID,
          OS_USERNAME: fix.FIX_USER2_NAME
        }),
        password: fix.FIX_USER2_PASSWORD
      }
    })
  )
  rows.push(await measure('password (clouds.yaml)', local, { inputs: { 'clouds-yaml': clouds, cloud: 'lab' } }))
  rows.push(
    await measure('application credential', local, {
      inputs: {
        'auth-url': keystone.authUrl,
        'application-credential-id': fix.FIX_APPCRED_ID,
        'application-credential-secret': fix.FIX_APPCRED_SECRET
      }
    })
  )
  rows.push(
    await measure('keyless (OIDC)', fed, {
      inputs: {
        'auth-url': federated.authUrl,
        'identity-provider': federated.identityProvider,
        audience: federated.audience,
        'project-id': federated.fixtures.projectId
      },
      runnerEnv: endpoint.runnerEnv()
    })
  )
  console.log(
    `# ${CALLS} openstack catalog list ${PROCESSES ? 'processes' : 'calls in one Python process'}; token life ${LIFE_S} s; hold ${HOLD_S} s; inputs added: ${JSON.stringify(EXTRA)}`
  )
  console.log(
    '| login | OS_AUTH_TYPE | main step: logins (201) / all | per call: logins / all | hold and post step: logins / revocations (204) / all | renewals | calls took |'
  )
  console.log('|---|---|---|---|---|---|---|')
  for (const r of rows) {
    if (!r.ok) {
      console.log(`| ${r.name} | failed: ${r.error} |`)
      continue
    }
    const per = value => (value / CALLS).toFixed(2)
    console.log(
      `| ${r.name} | ${r.tokenUse} | ${r.main.logins} / ${r.main.all} | ${per(r.calls.logins)} / ${per(r.calls.all)} | ${r.after.logins} / ${r.after.revocations} / ${r.after.all} | ${r.renewals} | ${(r.callsMs / 1000).toFixed(1)} s |`
    )
  }
} finally {
  await endpoint.close()
  await Promise.all([keystone.stop(), federated.stop()])
}
