/** E2E tests over HTTP against the whole app; ARBOR_TEST_DB picks sqlite or mariadb. */
module.exports = {
  rootDir: 'test',
  testRegex: '.*\\.e2e-spec\\.ts$',
  transform: { '^.+\\.ts$': ['@swc/jest', require('./swc.jest.json')] },
  testEnvironment: 'node',
  globalSetup: '<rootDir>/harness/global-setup.ts',
  globalTeardown: '<rootDir>/harness/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
