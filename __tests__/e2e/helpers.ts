import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runJob, type JobTranscript, type RunJobOptions, type RunStepSpec } from '../../scripts/emulator/runner.mjs'
import { issueToken, type KeystoneInstance } from '../../scripts/keystone/keystone.mjs'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Debian's CLI, by full path: `python3` on PATH may be a build that cannot import it. */
export const OPENSTACK = '/usr/bin/openstack'

/** A job that runs this repository's action (its committed dist/) as the runner would. */
export function job(options: RunJobOptions): Promise<JobTranscript> {
  return runJob({
    actionDir: ROOT,
    baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' },
    timeoutMs: 90_000,
    ...options
  })
}

/** A later `run:` step that calls the CLI with only what the job env and the action left. */
export function cli(name: string, command: string): RunStepSpec {
  return { name, run: `${OPENSTACK} ${command}` }
}

/** Every line of every step, raw: secrets may appear only in the ::add-mask:: lines. */
export function leaks(transcript: JobTranscript, secrets: string[]): string[] {
  const found: string[] = []
  for (const step of transcript.steps) {
    for (const line of [...step.stdout, ...step.stderr]) {
      if (line.startsWith('::add-mask::')) continue
      for (const secret of secrets) if (secret && line.includes(secret)) found.push(`${step.name}: ${line}`)
    }
  }
  return found
}

export function errors(transcript: JobTranscript, stage = 'main'): string[] {
  return (transcript.step(stage)?.stdout ?? []).filter(line => line.startsWith('::error::'))
}

export function output(transcript: JobTranscript, name: string): string {
  return (transcript.step(name)?.stdout ?? []).join('\n').trim()
}

/** A token of the test Keystone's admin (fixtures.sh), for checking what the action did: validate, list. */
export async function issueAdminToken(instance: KeystoneInstance): Promise<string> {
  const fix = instance.fixtures
  const issued = await issueToken(instance.authUrl, {
    auth: {
      identity: { methods: ['password'], password: { user: { id: fix.FIX_ADMIN_USER_ID, password: fix.FIX_ADMIN_PASSWORD } } },
      scope: { project: { id: fix.FIX_ADMIN_PROJECT_ID } }
    }
  })
  return issued.token
}
