// Child processes for the test servers' scripts (keystone, oidc, front) and the benchmarks:
// bounded in time, their whole process group killed on timeout, so no test leaves a server behind.

import { spawn } from 'node:child_process'

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
