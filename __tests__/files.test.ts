import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeFiles, UnsafePathError, writeFilesUnder } from '../src/runtime/files.js'
import { UserError } from '../src/errors.js'

/**
 * The file seam writes tokens and Python code that later steps run: nothing planted under the temp
 * folder may redirect those writes, widen their modes or take their place.
 */

let base: string
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'files-'))
})
afterEach(() => rmSync(base, { recursive: true, force: true }))

const mode = (file: string): number => statSync(file).mode & 0o777

test('makes the folders 0700 and each file with its own mode, whatever the umask', () => {
  const previous = process.umask(0o077)
  try {
    writeFilesUnder(base, [
      { path: join(base, 'openstack-token', 'tokens', 'a.json'), content: 'secret', mode: 0o600 },
      { path: join(base, 'openstack-token', 'python', 'm.py'), content: 'code', mode: 0o644 }
    ])
  } finally {
    process.umask(previous)
  }
  expect(readFileSync(join(base, 'openstack-token', 'tokens', 'a.json'), 'utf8')).toBe('secret')
  expect(mode(join(base, 'openstack-token', 'tokens', 'a.json'))).toBe(0o600)
  expect(mode(join(base, 'openstack-token', 'python', 'm.py'))).toBe(0o644)
  expect(mode(join(base, 'openstack-token'))).toBe(0o700)
  expect(mode(join(base, 'openstack-token', 'tokens'))).toBe(0o700)
})

test('replaces an earlier copy whole, with the new mode, and leaves no temporary file behind', () => {
  const file = join(base, 'openstack-token', 'tokens', 'a.json')
  mkdirSync(join(base, 'openstack-token', 'tokens'), { recursive: true, mode: 0o700 })
  writeFileSync(file, 'an old, longer content', { mode: 0o644 })
  writeFilesUnder(base, [{ path: file, content: 'new', mode: 0o600 }])
  expect(readFileSync(file, 'utf8')).toBe('new')
  expect(mode(file)).toBe(0o600)
  expect(readdirSync(join(base, 'openstack-token', 'tokens'))).toEqual(['a.json'])
})

test('a symbolic link planted where a file goes is replaced, and its target is neither written nor chmodded', () => {
  const outside = join(base, 'outside.txt')
  writeFileSync(outside, 'theirs', { mode: 0o600 })
  mkdirSync(join(base, 'openstack-token', 'python'), { recursive: true, mode: 0o700 })
  const link = join(base, 'openstack-token', 'python', 'openstack_token.py')
  symlinkSync(outside, link)
  writeFilesUnder(base, [{ path: link, content: 'ours', mode: 0o644 }])
  expect(readFileSync(outside, 'utf8')).toBe('theirs')
  expect(mode(outside)).toBe(0o600)
  expect(lstatSync(link).isSymbolicLink()).toBe(false)
  expect(readFileSync(link, 'utf8')).toBe('ours')
})

test('a symbolic link planted where a folder goes is refused, and nothing reaches its target', () => {
  const elsewhere = join(base, 'elsewhere')
  mkdirSync(elsewhere, { mode: 0o700 })
  mkdirSync(join(base, 'openstack-token'), { mode: 0o700 })
  symlinkSync(elsewhere, join(base, 'openstack-token', 'tokens'))
  const write = (): void =>
    writeFilesUnder(base, [{ path: join(base, 'openstack-token', 'tokens', 'a.json'), content: 'x', mode: 0o600 }], { where: 'RUNNER_TEMP' })
  expect(write).toThrow(UnsafePathError)
  expect(write).toThrow('RUNNER_TEMP/openstack-token/tokens is a symbolic link')
  expect(readdirSync(elsewhere)).toEqual([])
})

const root = typeof process.getuid === 'function' && process.getuid() === 0
;(root ? test : test.skip)('a folder another user owns is refused before anything is written into it', () => {
  const folder = join(base, 'openstack-token')
  mkdirSync(join(folder, 'python'), { recursive: true, mode: 0o700 })
  chownSync(folder, 65534, 65534)
  const write = (): void => writeFilesUnder(base, [{ path: join(folder, 'python', 'm.py'), content: 'x', mode: 0o644 }], { where: 'RUNNER_TEMP' })
  expect(write).toThrow('RUNNER_TEMP/openstack-token belongs to another user (uid 65534)')
  expect(existsSync(join(folder, 'python', 'm.py'))).toBe(false)
})

test('a folder others may write to is refused: they could swap the code later steps run', () => {
  const folder = join(base, 'openstack-token', 'python')
  mkdirSync(folder, { recursive: true, mode: 0o700 })
  chmodSync(folder, 0o777)
  const write = (): void => writeFilesUnder(base, [{ path: join(folder, 'm.py'), content: 'x', mode: 0o644 }], { where: 'RUNNER_TEMP' })
  expect(write).toThrow('RUNNER_TEMP/openstack-token/python may be written by other users (mode 777)')
  expect(existsSync(join(folder, 'm.py'))).toBe(false)
})

test('a folder in the way of a file is one sentence that names RUNNER_TEMP', () => {
  mkdirSync(join(base, 'openstack-token', 'python', 'm.py'), { recursive: true, mode: 0o700 })
  const write = (): void =>
    writeFilesUnder(base, [{ path: join(base, 'openstack-token', 'python', 'm.py'), content: 'x', mode: 0o644 }], { where: 'RUNNER_TEMP' })
  expect(write).toThrow(UserError)
  expect(write).toThrow('Could not write RUNNER_TEMP/openstack-token/python/m.py (a folder is in the way)')
})

test('a file in the way of a folder is refused', () => {
  writeFileSync(join(base, 'openstack-token'), '')
  expect(() => writeFilesUnder(base, [{ path: join(base, 'openstack-token', 'a'), content: 'x', mode: 0o600 }])).toThrow('is a file, not a folder')
})

test('a path outside the base is a bug of the caller, not written', () => {
  expect(() => writeFilesUnder(base, [{ path: join(base, '..', 'x'), content: 'x', mode: 0o600 }])).toThrow('does not lie below')
})

describe('nodeFiles', () => {
  test('writes under RUNNER_TEMP', () => {
    const files = nodeFiles({ RUNNER_TEMP: base })
    expect(files.tempDir).toBe(base)
    files.write(join(base, 'ca.pem'), 'pem')
    expect(mode(join(base, 'ca.pem'))).toBe(0o600)
  })

  test('without RUNNER_TEMP, a fresh private folder, made only when first needed', () => {
    const before = readdirSync(tmpdir()).filter(name => name.startsWith('openstack-token-'))
    const files = nodeFiles({ RUNNER_TEMP: '' })
    expect(readdirSync(tmpdir()).filter(name => name.startsWith('openstack-token-'))).toEqual(before)
    const dir = files.tempDir
    try {
      expect(dir.startsWith(join(tmpdir(), 'openstack-token-'))).toBe(true)
      expect(mode(dir)).toBe(0o700)
      expect(files.tempDir).toBe(dir)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

test('a base folder that does not exist yet is made, private', () => {
  const missing = join(base, 'not', 'yet')
  writeFilesUnder(missing, [{ path: join(missing, 'openstack-token', 'a'), content: 'x', mode: 0o600 }])
  expect(readFileSync(join(missing, 'openstack-token', 'a'), 'utf8')).toBe('x')
  expect(mode(missing)).toBe(0o700)
})
