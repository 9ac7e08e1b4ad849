/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  roots: ['<rootDir>/packages', '<rootDir>/src', '<rootDir>/test'],
  // The packages' sources, not their builds: tests run against the code as it is now.
  moduleNameMapper: {
    '^@agent-pipeline/(protocol|client|nestjs|llm)$': '<rootDir>/packages/$1/src',
    '^@agent-pipeline/(nestjs|llm)/testing$': '<rootDir>/packages/$1/src/testing',
  },
  modulePathIgnorePatterns: ['<rootDir>/packages/[^/]+/dist/'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  testEnvironment: 'node',
  // Lets better-sqlite3 register its error class in every test file's context (see the file).
  setupFiles: ['<rootDir>/test/support/native-addons.setup.ts'],
  // Builds dist/ once per run for the specs that start `node dist/main.js` (SKIP_BUILD=1 skips it).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // Drops the PostgreSQL schemas of the run once every file is done.
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
  // e2e specs start real servers on port 0; two workers keep a 2-core box responsive.
  maxWorkers: 2,
};
