import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The auth plugin of token-use: direct is Python (src/python/openstack_token.py) with Python's own
 * tests beside it (test_openstack_token.py, against the real keystoneauth1). They run here with the
 * system's python3 when it has keystoneauth1 (Debian: python3-keystoneauth1, which the e2e suite
 * installs), and by hand in any other root: python3 -m unittest discover -s src/python.
 */
const ROOT = join(import.meta.dirname, '..')
const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find(
  candidate => existsSync(candidate) && spawnSync(candidate, ['-c', 'import keystoneauth1, stevedore'], { timeout: 30_000 }).status === 0
)
const withKeystoneauth = PYTHON ? test : test.skip

withKeystoneauth("the plugin passes Python's own tests (python3 -m unittest discover -s src/python)", () => {
  const result = spawnSync(PYTHON!, ['-m', 'unittest', 'discover', '-v', '-s', join(ROOT, 'src', 'python')], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PYTHONDONTWRITEBYTECODE: '1', LANG: 'C.UTF-8' }
  })
  expect({ status: result.status, tail: result.stderr.trim().split('\n').slice(-3) }).toEqual({ status: 0, tail: expect.arrayContaining(['OK']) })
  // unittest says OK for a module that skipped itself: the tests must really have run.
  const ran = Number(/^Ran (\d+) tests?/m.exec(result.stderr)?.[1])
  expect(ran).toBeGreaterThanOrEqual(20)
  expect(result.stderr).not.toMatch(/skipped/)
})
