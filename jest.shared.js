/**
 * NestJS 12 ships as ES modules. Node >= 20.19 loads them from our CommonJS build natively, but Jest's
 * module runtime cannot (before Node 24.9), so Jest compiles those packages to CommonJS with SWC too.
 */
const swc = ['@swc/jest', require('./swc.jest.json')];
const esmPackages = [
  '@nestjs',
  'file-type',
  'strtok3',
  'token-types',
  'peek-readable',
  '@tokenizer',
  'uint8array-extras',
  'oidc-provider',
  'openid-client',
  'oauth4webapi',
  'jose',
  'koa',
  '@koa',
];

module.exports = {
  transform: { '^.+\\.(ts|js|mjs)$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  testEnvironment: 'node',
};
