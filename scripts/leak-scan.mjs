// The leak scan over the whole unit and e2e suites: global setup points LEAK_SCAN_DIR at a fresh
// directory; every step of this action run by the tests (the runner emulator, and the unit tests'
// githubStep harness) appends its raw output lines and the values it masked; global teardown
// fails the run when a masked value (a token, a password, a secret) appears in any line but its
// own ::add-mask:: line. Values shorter than 8 characters are left out: test fixtures use short
// stand-ins ('pw') that occur inside ordinary words.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const MIN_SECRET_LENGTH = 8

export function setup() {
  process.env.LEAK_SCAN_DIR = mkdtempSync(join(tmpdir(), 'leak-scan-'))
}

export function teardown() {
  const dir = process.env.LEAK_SCAN_DIR
  if (!dir) return
  const records = []
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) if (line) records.push(JSON.parse(line))
  }
  rmSync(dir, { recursive: true, force: true })
  const secrets = new Set(records.flatMap(record => record.masks).filter(mask => mask.length >= MIN_SECRET_LENGTH))
  const leaks = []
  let lines = 0
  for (const record of records) {
    for (const line of record.lines) {
      lines++
      if (/(^|: )::add-mask::/.test(line)) continue
      for (const secret of secrets) if (line.includes(secret)) leaks.push(line.slice(0, 200))
    }
  }
  console.log(`\nleak scan: ${records.length} steps, ${lines} lines, ${secrets.size} masked values: ${leaks.length} leaks`)
  if (leaks.length > 0) throw new Error(`leak scan: a masked value appears outside its ::add-mask:: line:\n${leaks.slice(0, 20).join('\n')}`)
}
