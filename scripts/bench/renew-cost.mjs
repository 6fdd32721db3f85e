#!/usr/bin/env node
// `npm run bench:renew [-- --runs N]`: what starting the token renewer costs the main step, and
// stopping it the post step. Against the project's local Keystone, N alternating rounds (default 20,
// after one warm-up round) of:
//   main, renew         dist/main/index.js by the runner emulator's runStep, token-use: direct (the
//                       renewer is started: spawn, the hand-over on its stdin, its pid in the state)
//   main, renew: false  the same with renew: false (the token state is written, nothing started)
//   post, renewer       dist/post/index.js with the state of "main, renew": ends the renewer (SIGTERM,
//                       wait), reads its ledger, revokes the token
//   post, none          dist/post/index.js with the state of "main, renew: false"
// Timing is StepResult.durationMs (spawn to the child's 'close'), as in bench.mjs. Loopback only.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { loadAction, runStep } from '../emulator/runner.mjs'
import { startKeystone } from '../keystone/keystone.mjs'
import { ROOT, actionInputs, fakeAction, fixtureLogin, ms, parseArgs, roundRobin, snapshotDist, stats } from './lib.mjs'

const args = parseArgs(process.argv.slice(2), 20)
const snapDir = mkdtempSync(join(tmpdir(), 'openstack-token-bench-renew-'))
snapshotDist(snapDir)
const action = fakeAction(snapDir, 'dist/main/index.js', 'dist/post/index.js', loadAction(ROOT).inputs)
const keystone = await startKeystone()
const jobs = []
try {
  const login = fixtureLogin(keystone)
  const inputs = { ...actionInputs(login), 'token-use': 'direct' }
  const saved = { renew: undefined, none: undefined }
  const main = (name, extra, key) => ({
    name,
    run: async () => {
      const step = await runStep({ action, stage: 'main', inputs: { ...inputs, ...extra }, secrets: [login.password], keepTemp: true })
      // Kept until the post step has run: the renewer's token state and ledger are there.
      if (step.env.RUNNER_TEMP) jobs.push(dirname(step.env.RUNNER_TEMP))
      saved[key] = step.status === 'success' ? step.state : undefined
      if (!step.state.token) throw new Error([...step.stdout, ...step.stderr].slice(-3).join(' | '))
      if (key === 'renew' && !step.state.renewer) throw new Error('no renewer was started')
      return step.durationMs
    }
  })
  const post = (name, key) => ({
    name,
    run: async () => {
      const step = await runStep({ action, stage: 'post', inputs, state: saved[key] ?? {} })
      if (step.status !== 'success' || step.stdout.some(line => line.startsWith('::warning::')))
        throw new Error([...step.stdout, ...step.stderr].slice(-3).join(' | '))
      return step.durationMs
    }
  })
  const { samples, failures } = await roundRobin(
    [
      [main('main, renew', {}, 'renew'), main('main, renew: false', { renew: 'false' }, 'none')],
      [post('post, renewer', 'renew'), post('post, none', 'none')]
    ],
    { rounds: args.runs }
  )
  console.log(`| step (${args.runs} rounds) | median | p10–p90 | failed |`)
  console.log('|---|---|---|---|')
  for (const [name, values] of Object.entries(samples)) {
    const s = stats(values)
    console.log(`| ${name} | ${ms(s.median)} ms | ${ms(s.p10)}–${ms(s.p90)} ms | ${failures[name]} |`)
  }
} finally {
  await keystone.stop()
  for (const dir of jobs) rmSync(dir, { recursive: true, force: true })
  rmSync(snapDir, { recursive: true, force: true })
}
