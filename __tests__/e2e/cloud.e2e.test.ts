import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCloud } from '../../scripts/cloud.mjs'

/**
 * The harness itself: a cloud whose parts start at once (scripts/cloud.mjs) must stop every part
 * that did start when another fails, or its servers outlive the test run (a fresh machine's first
 * run once left two behind this way).
 */

/** PIDs of processes whose command line matches. */
function processes(match: (cmdline: string, ppid: number) => boolean): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1])
      if (match(readFileSync(`/proc/${entry}/cmdline`, 'utf8'), ppid)) found.push(Number(entry))
    } catch {
      /* gone meanwhile */
    }
  }
  return found
}

/** Until no start.sh this process spawned still runs (bounded): what a part would leave is running by then. */
async function startScriptsDone(): Promise<void> {
  for (let i = 0; i < 1200 && processes((cmdline, ppid) => ppid === process.pid && cmdline.includes('start.sh')).length > 0; i++) {
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

test('a part that fails to start (its port is taken): startCloud rejects, and the parts that did start are stopped', async () => {
  // State dirs of this test only, so that other test runs on the machine do not count.
  const dir = mkdtempSync(join(tmpdir(), 'cloud-failure-'))
  const taken: Server = createServer()
  await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
  const port = (taken.address() as { port: number }).port
  const savedTmpdir = process.env.TMPDIR
  process.env.TMPDIR = dir
  try {
    await expect(startCloud({ tlsFront: true, proxy: { port } })).rejects.toThrow(/front\/start\.sh/)
    await startScriptsDone()
    expect(processes(cmdline => cmdline.includes(dir))).toEqual([])
  } finally {
    if (savedTmpdir === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = savedTmpdir
    taken.close()
    rmSync(dir, { recursive: true, force: true })
  }
}, 300_000)
