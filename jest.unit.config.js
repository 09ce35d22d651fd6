/** Unit tests: *.spec.ts beside the code. */
module.exports = {
  ...require('./jest.shared.js'),
  rootDir: 'src',
  testRegex: '.*\\.spec\\.ts$',
};
