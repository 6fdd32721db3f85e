import { rmSync } from 'node:fs'
import { teardown as leakScanTeardown } from './leak-scan.mjs'

export default function teardown() {
  if (process.env.UNIT_TMPDIR) rmSync(process.env.UNIT_TMPDIR, { recursive: true, force: true })
  leakScanTeardown()
}
