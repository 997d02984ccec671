// Four tiers: unit tests beside the code (fakes allowed), service tests (Nest testing modules of the
// subtle services on the real Postgres, no HTTP; test/service/support/service-module.ts), integration
// tests against real Postgres/Redis/kube-apiserver/opa, e2e tests over HTTP against the running application.
//
// NestJS 12, Apollo Server 5, client-node 1.x and zod 4 ship as ES modules. Node 20 loads them from our
// CommonJS build through require(esm), but jest's module runtime cannot, so jest compiles those
// packages to CommonJS with swc as well (cached after the first run).
const esmPackages = ['@nestjs', '@apollo', '@as-integrations', '@kubernetes', 'zod', 'graphql-ws', '@whatwg-node', 'uuid', 'openid-client', 'oauth4webapi', 'jose', 'hpagent'];
const swc = require('./swc.options').swcOptions();
const common = {
  transform: { '^.+\\.(t|j|mj|cj)s$': ['@swc/jest', swc] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
};
const withServices = {
  // Real services on a 2-core CI machine: a budget per test (jest's 5 s default flaked), not a timed assertion.
  testTimeout: 30_000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...common, ...withServices, displayName: 'service', testMatch: ['<rootDir>/test/service/**/*.test.ts'] },
    { ...common, ...withServices, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, ...withServices, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
