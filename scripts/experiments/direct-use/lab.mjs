// Experiment lab (bounded): a real Keystone + the service recorder registered in its catalog.
// Usage: node lab.mjs RECORDER_JS OUT_DIR [SECONDS] [TOKEN_EXPIRATION]   (RECORDER_JS: service-recorder.ts compiled by tsc)
// Writes OUT_DIR/lab.env (sourceable) and appends every recorded request to OUT_DIR/recorder.log.
import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { issueToken, startKeystone } from '../../keystone/keystone.mjs'

const [recorderJs, outDir, seconds = '900', tokenExpiration] = process.argv.slice(2)
const { startServiceRecorder } = await import(recorderJs)
const keystone = await startKeystone(tokenExpiration ? { tokenExpiration: Number(tokenExpiration) } : {})
const recorder = await startServiceRecorder()
const fix = keystone.fixtures
const admin = await issueToken(keystone.authUrl, {
  auth: {
    identity: { methods: ['password'], password: { user: { id: fix.FIX_ADMIN_USER_ID, password: fix.FIX_ADMIN_PASSWORD } } },
    scope: { project: { id: fix.FIX_ADMIN_PROJECT_ID } }
  }
})
async function api(method, path, body) {
  const r = await fetch(keystone.authUrl + path, {
    method,
    headers: { 'X-Auth-Token': admin.token, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10000)
  })
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`)
  return r.json()
}
for (const [type, url] of Object.entries(recorder.endpoints())) {
  const { service } = await api('POST', '/services', { service: { type, name: `rec-${type}` } })
  for (const iface of ['public', 'internal'])
    await api('POST', '/endpoints', { endpoint: { service_id: service.id, interface: iface, region_id: 'RegionOne', url } })
}
const q = v => `'${String(v).replace(/'/g, `'\\''`)}'`
writeFileSync(
  join(outDir, 'lab.env'),
  [
    `AUTH_URL=${q(keystone.authUrl)}`,
    `ACCESS_LOG=${q(keystone.accessLogPath)}`,
    `RECORDER=${q(recorder.url)}`,
    `ADMIN_TOKEN=${q(admin.token)}`,
    ...Object.entries(fix).map(([k, v]) => `${k}=${q(v)}`)
  ].join('\n') + '\n'
)
let seen = 0
const timer = setInterval(() => {
  for (const r of recorder.requests.slice(seen))
    appendFileSync(join(outDir, 'recorder.log'), `${r.method} ${r.path} token=${(r.token ?? '-').slice(0, 16)}\n`)
  seen = recorder.requests.length
}, 200)
const stop = async () => {
  clearInterval(timer)
  await recorder.close()
  await keystone.stop()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
setTimeout(stop, Number(seconds) * 1000)
console.log('ready')
