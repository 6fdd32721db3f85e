import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { setup, teardown } from '../scripts/leak-scan.mjs'

/** The suite-wide leak scan must be able to fail: a masked value printed anywhere is caught. */
describe('leak scan', () => {
  const outer = process.env.LEAK_SCAN_DIR
  afterEach(() => {
    process.env.LEAK_SCAN_DIR = outer
  })

  function scan(records: object[]): () => void {
    setup()
    const dir = process.env.LEAK_SCAN_DIR!
    fs.writeFileSync(path.join(dir, 'records.jsonl'), records.map(r => JSON.stringify(r)).join('\n'))
    return () => teardown()
  }

  test('a masked value in another line, even of another step, fails the run', () => {
    const run = scan([
      { masks: ['gAAAAsecret-token'], lines: ['main: ::add-mask::gAAAAsecret-token', 'main: Issued a token'] },
      { masks: [], lines: ['deploy: curl -H X-Auth-Token: gAAAAsecret-token'] }
    ])
    expect(run).toThrow(/leak scan: a masked value appears outside its ::add-mask:: line:\ndeploy: curl -H X-Auth-Token: gAAAAsecret-token/)
  })

  test('only ::add-mask:: lines may hold it; short stand-ins are left out', () => {
    const run = scan([
      { masks: ['gAAAAsecret-token', 'pw'], lines: ['main: ::add-mask::gAAAAsecret-token', 'main: ::add-mask::pw', 'post: passwords are fine'] }
    ])
    expect(run).not.toThrow()
    expect(fs.existsSync(os.tmpdir())).toBe(true)
  })
})
