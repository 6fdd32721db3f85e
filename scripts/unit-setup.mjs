// Global setup of the unit suite: the leak scan, and a temp folder of its own (TMPDIR) for what the
// steps write there: a step run without RUNNER_TEMP writes direct use's files under os.tmpdir().
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setup as leakScanSetup } from './leak-scan.mjs'

export default function setup() {
  leakScanSetup()
  process.env.UNIT_TMPDIR = process.env.TMPDIR = mkdtempSync(join(tmpdir(), 'unit-tmp-'))
}
