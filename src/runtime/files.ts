import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { FileReader } from '../credential-files/load.js'
import type { TlsFiles } from '../net/tls.js'

/** A file to write with its mode (a token's state is 0600); its parent directories are made 0700. */
export interface FileWithMode {
  path: string
  content: string
  mode: number
}

/** The few files the steps read and write, behind one seam so that tests can use a map. */
export type StepFiles = FileReader &
  TlsFiles & {
    /** Writes each file with its mode, also over an earlier copy (direct use's state and shim). */
    writeWithMode(files: readonly FileWithMode[]): void
  }

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
    writeWithMode: files => writeSetupFiles(files, fs, process.platform === 'win32' ? 'win32' : 'posix'),
    home: env.HOME || os.homedir(),
    cwd: env.GITHUB_WORKSPACE || process.cwd(),
    // RUNNER_TEMP is emptied at the end of each job and lies outside the workspace.
    tempDir: env.RUNNER_TEMP || os.tmpdir()
  }
}

/** What writeSetupFiles needs of node:fs (injected, so that tests can watch the order of the calls). */
export interface SetupFs {
  mkdirSync(path: string, options: { recursive: true; mode: number }): unknown
  writeFileSync(path: string, data: string, options: { mode: number }): void
  chmodSync(path: string, mode: number): void
}

/** Writes the files of a setup: parent directories 0700, each file with its mode (also when it existed). */
export function writeSetupFiles(files: readonly FileWithMode[], fs: SetupFs, platform: 'posix' | 'win32' = 'posix'): void {
  const paths = platform === 'win32' ? path.win32 : path.posix
  for (const file of files) {
    fs.mkdirSync(paths.dirname(file.path), { recursive: true, mode: 0o700 })
    // writeFileSync applies the mode only to a new file: a leftover of an earlier run keeps its own,
    // so restrict it before the token goes in.
    try {
      fs.chmodSync(file.path, file.mode)
    } catch {
      // no such file yet: writeFileSync creates it with the mode
    }
    fs.writeFileSync(file.path, file.content, { mode: file.mode })
  }
}
