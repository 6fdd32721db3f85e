// Child processes for the test servers' scripts (keystone, oidc, front) and the benchmarks:
// bounded in time, their whole process group killed on timeout, so no test leaves a server behind.

import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

/** @param {string} text */
export function tail(text, lines = 40) {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

/**
 * Runs a command to completion with a deadline; on timeout kills its whole process group.
 *
 * @param {string} command
 * @param {string[]} args
 * @param {Record<string, string>} env
 * @param {number} timeoutMs
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string, timedOut: boolean }>}
 */
export function run(command, args, env, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', chunk => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', chunk => {
      stderr += chunk
    })
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-(/** @type {number} */ (child.pid)), 'SIGKILL')
      } catch {
        /* already gone */
      }
    }, timeoutMs)
    child.on('error', error => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', code => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, timedOut })
    })
  })
}

/**
 * The test servers this process started and has not stopped yet. When the process exits (a test
 * run that forgot one, or was interrupted), each is killed, but only if its PID still runs this
 * instance's server (isOurs, given /proc/PID/cmdline: the PID-reuse guard of stop.sh), and its
 * state dir removed, but only a dir start.sh created (it leaves `marker` there, as stop.sh
 * --purge checks), unless the `keepStateVariable` is 1.
 *
 * @param {{ isOurs: (cmdline: string, instance: { pid: number, stateDir: string }) => boolean, signal: NodeJS.Signals, marker: string, keepStateVariable: string }} options
 */
export function serverRegistry({ isOurs, signal, marker, keepStateVariable }) {
  /** @type {Set<{ pid: number, stateDir: string }>} */
  const live = new Set()
  let exitHookInstalled = false
  const atExit = () => {
    for (const instance of live) {
      try {
        if (isOurs(readFileSync(`/proc/${instance.pid}/cmdline`, 'utf8'), instance)) process.kill(-instance.pid, signal)
      } catch {
        /* gone already */
      }
      if (process.env[keepStateVariable] !== '1' && existsSync(join(instance.stateDir, marker))) {
        rmSync(instance.stateDir, { recursive: true, force: true })
      }
    }
  }
  return {
    /** @param {{ pid: number, stateDir: string }} instance */
    add(instance) {
      live.add(instance)
      if (!exitHookInstalled) {
        exitHookInstalled = true
        process.once('exit', atExit)
      }
    },
    /** Forgets an instance that is being stopped; false when it already was. @param {{ pid: number, stateDir: string }} instance */
    remove(instance) {
      return live.delete(instance)
    }
  }
}
