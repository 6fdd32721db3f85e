import * as fs from 'node:fs'
import * as os from 'node:os'
import type { FileReader } from '../credential-files/load.js'
import type { TlsFiles } from '../net/tls.js'

/** The few files the steps read and write, behind one seam so that tests can use a map. */
export type StepFiles = FileReader & TlsFiles

export function nodeFiles(env: Readonly<Record<string, string | undefined>>): StepFiles {
  return {
    read: file => {
      try {
        return fs.readFileSync(file, 'utf8')
      } catch {
        return undefined
      }
    },
    // 0600: a CA is not secret, but a file in a shared temp dir should be ours alone to change.
    write: (file, content) => fs.writeFileSync(file, content, { mode: 0o600 }),
    home: env.HOME || os.homedir(),
    cwd: env.GITHUB_WORKSPACE || process.cwd(),
    // RUNNER_TEMP is emptied at the end of each job and lies outside the workspace.
    tempDir: env.RUNNER_TEMP || os.tmpdir()
  }
}
