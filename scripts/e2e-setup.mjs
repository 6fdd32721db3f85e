// The e2e suite's global setup: first every package the suite needs, installed once and serially
// (scripts/install-test-packages.sh, which says what it installs), so that no two test servers
// starting at once race for apt's locks; then the leak scan's setup.
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setup as leakScanSetup } from './leak-scan.mjs'

const INSTALL = join(dirname(fileURLToPath(import.meta.url)), 'install-test-packages.sh')

export default function setup() {
  // Bounded: a cold install on a bare machine takes minutes, a hung mirror must not hang the run.
  execFileSync('bash', [INSTALL], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 1_800_000 })
  leakScanSetup()
}
