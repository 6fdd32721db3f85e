import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { UserError } from '../errors.js'

/** A file to write with its mode (a token's state is 0600); its folders below the temp dir are made 0700. */
export interface FileWithMode {
  path: string
  content: string
  mode: number
}

/** The few files the steps read and write, behind one seam so that tests can use a map. */
export interface StepFiles {
  /** The file's text, or undefined when there is no such file. */
  read(file: string): string | undefined
  /** Writes one file below tempDir, 0600 (a CA given as text). */
  write(file: string, content: string): void
  /** Writes each file with its mode, also over an earlier copy (direct use's state and module). */
  writeWithMode(files: readonly FileWithMode[]): void
  /** Where openstacksdk looks for clouds.yaml besides its variable. */
  home: string
  cwd: string
  /** The job's private temp folder (RUNNER_TEMP), where later steps find what the action wrote. */
  tempDir: string
}

/** What reading credential files needs of the seam. */
export type FileReader = Pick<StepFiles, 'read' | 'home' | 'cwd'>

/** What preparing a private CA needs of the seam. */
export type TlsFiles = Pick<StepFiles, 'read' | 'write' | 'tempDir'>

/**
 * A folder or file under the temp dir that the action will not write a token into: a symbolic
 * link, or a folder another user owns or may write to. Whoever planted it could read or swap what
 * the action writes there (a token, or Python code that later steps run).
 */
export class UnsafePathError extends UserError {
  override name = 'UnsafePathError'
}

export function nodeFiles(env: Readonly<Record<string, string | undefined>>): StepFiles {
  const platform = process.platform === 'win32' ? 'win32' : 'posix'
  let tempDir: string | undefined
  // RUNNER_TEMP is emptied at the end of each job, lies outside the workspace and is the runner
  // user's. Without it, a shared folder such as /tmp is no place for a token: a fresh private
  // folder is made there, once, and only when a step has something to write.
  const temp = (): string => (tempDir ??= env.RUNNER_TEMP || fs.mkdtempSync(path.join(os.tmpdir(), 'openstack-token-')))
  const where = env.RUNNER_TEMP ? 'RUNNER_TEMP' : 'the temp folder'
  return {
    read: file => {
      try {
        return fs.readFileSync(file, 'utf8')
      } catch {
        return undefined
      }
    },
    // 0600: a CA is not secret, but a file in a shared temp dir should be ours alone to change.
    write: (file, content) => writeFilesUnder(temp(), [{ path: file, content, mode: 0o600 }], { platform, where }),
    writeWithMode: files => writeFilesUnder(temp(), files, { platform, where }),
    home: env.HOME || os.homedir(),
    cwd: env.GITHUB_WORKSPACE || process.cwd(),
    get tempDir() {
      return temp()
    }
  }
}

export interface WriteOptions {
  /** Path syntax and permission model: Windows has no POSIX owner or mode bits to check. */
  platform?: 'posix' | 'win32'
  /** How the log names the base folder: `RUNNER_TEMP`. */
  where?: string
}

/**
 * Writes files that lie below `base` so that nothing planted there can redirect or widen them:
 * each folder between `base` and a file is made 0700 if missing, and must be a real folder (not a
 * symbolic link) that this user owns and nobody else may write to; each file is written to a fresh
 * temporary name (O_CREAT | O_EXCL | O_NOFOLLOW, its mode set on the open descriptor), then renamed
 * over the old one, which replaces a planted link instead of following it, and which a reader
 * (a later step, the plugin reading a renewed token) sees whole or not at all.
 */
export function writeFilesUnder(base: string, files: readonly FileWithMode[], options: WriteOptions = {}): void {
  const platform = options.platform ?? (process.platform === 'win32' ? 'win32' : 'posix')
  const where = options.where ?? base
  const paths = platform === 'win32' ? path.win32 : path.posix
  const checked = new Set<string>()
  // The runner makes RUNNER_TEMP; anything else that stands in for it may not exist yet.
  try {
    fs.mkdirSync(base, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw cannotWrite(where, error)
  }
  for (const file of files) {
    const folder = paths.dirname(file.path)
    const below = paths.relative(base, folder)
    if (below.startsWith('..') || paths.isAbsolute(below)) throw new Error(`${file.path} does not lie below ${base}`)
    let current = base
    for (const part of below === '' ? [] : below.split(paths.sep)) {
      current = paths.join(current, part)
      if (checked.has(current)) continue
      ensurePrivateFolder(current, platform, () => `${where}/${paths.relative(base, current).split(paths.sep).join('/')}`)
      checked.add(current)
    }
    replaceFile(file, paths, () => `${where}/${paths.relative(base, file.path).split(paths.sep).join('/')}`)
  }
}

function ensurePrivateFolder(folder: string, platform: 'posix' | 'win32', shown: () => string): void {
  try {
    fs.mkdirSync(folder, { mode: 0o700 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotWrite(shown(), error)
  }
  const stat = fs.lstatSync(folder)
  if (stat.isSymbolicLink())
    throw new UnsafePathError(`${shown()} is a symbolic link: the action writes its token files only into folders of its own; remove the link.`)
  if (!stat.isDirectory()) throw new UnsafePathError(`${shown()} is a file, not a folder: the action needs that name for its token files; remove it.`)
  // Wine and Windows report no POSIX owner or mode: NTFS access lists are the runner's business.
  if (platform === 'win32' || typeof process.getuid !== 'function') return
  const uid = process.getuid()
  if (stat.uid !== uid) {
    throw new UnsafePathError(
      `${shown()} belongs to another user (uid ${stat.uid}): whoever made it could read or swap the token files written there; remove it, or set RUNNER_TEMP to a folder of this job's user.`
    )
  }
  if ((stat.mode & 0o022) !== 0) {
    throw new UnsafePathError(
      `${shown()} may be written by other users (mode ${(stat.mode & 0o777).toString(8)}): whoever can write there could swap the files later steps run or read; remove it.`
    )
  }
}

/** O_NOFOLLOW does not exist on Windows; O_EXCL alone keeps a planted name from being opened there. */
const NO_FOLLOW = fs.constants.O_NOFOLLOW ?? 0

function replaceFile(file: FileWithMode, paths: typeof path.posix, shown: () => string): void {
  const temporary = paths.join(paths.dirname(file.path), `.${paths.basename(file.path)}.${randomBytes(6).toString('hex')}.tmp`)
  let fd: number | undefined
  try {
    fd = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | NO_FOLLOW, file.mode)
    // The umask may have taken bits the file needs (a 0644 module); the descriptor gets exactly its mode.
    fs.fchmodSync(fd, file.mode)
    fs.writeSync(fd, file.content)
    fs.closeSync(fd)
    fd = undefined
    fs.renameSync(temporary, file.path)
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd)
    fs.rmSync(temporary, { force: true })
    throw cannotWrite(shown(), error)
  }
}

function cannotWrite(shown: string, error: unknown): UserError {
  if (error instanceof UserError) return error
  const code = (error as NodeJS.ErrnoException).code
  const why =
    code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST'
      ? 'a folder is in the way'
      : code === 'EROFS' || code === 'EACCES' || code === 'EPERM'
        ? 'that folder is not writable'
        : code === 'ENOSPC'
          ? 'the disk is full'
          : code === 'ENOENT' || code === 'ENOTDIR'
            ? 'a folder on its way is missing or is a file'
            : `${code ?? 'error'}`
  return new UserError(
    `Could not write ${shown} (${why}): later steps need that file; give the job a writable RUNNER_TEMP without anything of that name in it.`
  )
}
