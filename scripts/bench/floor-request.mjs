// The floor of the action's steps, run by scripts/bench/bench.mjs through the runner emulator exactly
// like the action (same runStep, same env, same file commands): a Node process that sends ONE request
// with node:http and nothing else the action does (no input parsing, no masking, no retries, no
// deadline, no outputs or env exports).
//   main stage (no STATE_token): POST $BENCH_URL/auth/tokens?nocatalog with $BENCH_BODY, then saves
//     the X-Subject-Token with one appendFileSync to GITHUB_STATE (the only way to hand it over to
//     the post stage; the action does the same, among its other writes);
//   post stage (STATE_token set): DELETE $BENCH_URL/auth/tokens with the token as both headers.
// Exits 1 on any unexpected status so the bench can count the run as failed.
import { request } from 'node:http'
import { appendFileSync } from 'node:fs'

const token = process.env.STATE_token
const base = process.env.BENCH_URL
const req = token
  ? request(`${base}/auth/tokens`, { method: 'DELETE', headers: { 'X-Auth-Token': token, 'X-Subject-Token': token } })
  : request(`${base}/auth/tokens?nocatalog`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' } })
req.on('response', res => {
  res.resume()
  res.on('end', () => {
    if (token) {
      if (res.statusCode !== 204) process.exitCode = 1
    } else if (res.statusCode === 201 && res.headers['x-subject-token']) {
      appendFileSync(process.env.GITHUB_STATE, `token=${res.headers['x-subject-token']}\n`)
    } else {
      process.exitCode = 1
    }
  })
})
req.on('error', () => {
  process.exitCode = 1
})
req.end(token ? undefined : process.env.BENCH_BODY)
