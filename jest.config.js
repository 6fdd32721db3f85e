// Unit tests: src/ through ts-jest in ESM mode; HTTP is intercepted by nock.
// The real-Keystone suite lives in __tests__/e2e and has its own config (jest.e2e.config.js).
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // @actions/workflow-parser imports its schema JSON without an import attribute (see the helper).
    '^\\.\\./((?:action|workflow)-v1\\.0\\.min)\\.json$': '<rootDir>/__tests__/helpers/workflow-parser-schema/$1.ts'
  },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }] },
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/e2e/'],
  collectCoverageFrom: ['src/**/*.ts'],
  // Property tests and real sockets: generous on a loaded 2-core machine, still bounded.
  testTimeout: 30_000,
  // The leak scan over every step the suite runs (scripts/leak-scan.mjs), and a TMPDIR of its own.
  globalSetup: '<rootDir>/scripts/unit-setup.mjs',
  globalTeardown: '<rootDir>/scripts/unit-teardown.mjs'
}
