/** E2E tests over HTTP against the whole app; ARBOR_TEST_DB picks sqlite or mariadb. */
module.exports = {
  ...require('./jest.shared.js'),
  rootDir: 'test',
  testRegex: '.*\\.e2e-spec\\.ts$',
  globalSetup: '<rootDir>/harness/global-setup.ts',
  globalTeardown: '<rootDir>/harness/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
