/** Unit tests: *.spec.ts beside the code. */
module.exports = {
  rootDir: 'src',
  testRegex: '.*\\.spec\\.ts$',
  transform: { '^.+\\.ts$': ['@swc/jest', require('./swc.jest.json')] },
  testEnvironment: 'node',
};
