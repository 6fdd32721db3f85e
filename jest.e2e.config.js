// The e2e suite: the built action (dist/) run through the runner emulator against a real Keystone
// (Debian's python3-keystone on 127.0.0.1) and the real `openstack` CLI. Needs Debian/Ubuntu with
// apt as root the first time (scripts/keystone/install.sh). Run with `npm run e2e`.
import unit from './jest.config.js'

/** @type {import('jest').Config} */
export default {
  ...unit,
  testMatch: ['<rootDir>/__tests__/e2e/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  // Real processes: a Keystone start, a few CLI calls (about 1 s each) per test.
  testTimeout: 180_000,
  globalSetup: '<rootDir>/scripts/e2e-setup.mjs',
  globalTeardown: '<rootDir>/scripts/leak-scan-teardown.mjs',
  maxWorkers: 1
}
