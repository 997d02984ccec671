// Farpoint's architecture as import rules, checked on the real import graph of src/ (type-only imports
// included) by `npm run lint:boundaries`; scripts/test.sh runs it before jest, so a violation fails CI.
//
//   src/protocol, src/policy-engine   wire types, validation, policy evaluation: plain TypeScript shared by API and agent
//   src/agent                         the in-cluster agent, its own image: protocol, policy engine, install names, 3 packages
//   src/agent-install                 the install manifests; names.ts and rbac.ts are plain data the agent shares
//   src/common                        errors, pagination, labels, crypto: used by every layer, imports no module or infra
//   src/infra                         Prisma, BullMQ, Redis, client-node, opa, config, logging, metrics: never a module
//   src/modules/<capability>          the API's features; the Prisma client only in *.repository.ts and *.gateway.ts
//   src/graphql                       per-request context and DataLoaders
//   src/dev                           kube harness, demo seed, local agent: for tests, the demo and benches only
//
// "Test code" means *.spec.ts and testing/ folders (test/ and bench/ are outside src/ and not cruised).
// Paths are relative to the working directory; packages resolve to node_modules/<name>/…, matched with
// (^|/) so that a cruise from another directory (the spec of these rules) sees them too.

const TEST_CODE = '(\\.spec\\.ts$|/testing/)';

// Packages of the API process: neither the agent nor the shared libraries may load them.
const API_STACK =
  '(^|/)node_modules/(@nestjs|@prisma|prisma|@apollo|@as-integrations|fastify|@fastify|bullmq|ioredis|pg|pino|prom-client|graphql|graphql-[^/]+|dataloader|reflect-metadata|rxjs)/';

// What the agent image ships (src/agent/image/runtime-deps.ts copies exactly these packages' closure).
const AGENT_PACKAGES = '(^|/)node_modules/(@kubernetes/client-node|zod|@open-policy-agent/opa-wasm)/';
const AGENT_SOURCES = '^src/(agent|protocol|policy-engine)/|^src/agent-install/(names|rbac)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'No import cycles: they make load order matter (a class undefined at import time, Nest forwardRef puzzles). A cycle made only of type-only imports is erased by the compiler and allowed.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-unresolvable',
      severity: 'error',
      comment: 'Every import resolves to a file or an installed package (otherwise a typo, or a dependency missing from package.json).',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'shared-libs-only-shared-code',
      severity: 'error',
      comment:
        'src/protocol and src/policy-engine are shared by the API and the agent: of our code they import only each other, never the API (modules, infra, graphql, common, generated Prisma), the agent or src/dev.',
      from: { path: '^src/(protocol|policy-engine)/' },
      to: { path: '^src/', pathNot: '^src/(protocol|policy-engine)/' },
    },
    {
      name: 'shared-libs-no-api-packages',
      severity: 'error',
      comment: 'src/protocol and src/policy-engine never load NestJS, Prisma, BullMQ, Redis, Fastify, GraphQL or other packages of the API process.',
      from: { path: '^src/(protocol|policy-engine)/' },
      to: { path: API_STACK },
    },
    {
      name: 'agent-only-its-own-dependencies',
      severity: 'error',
      comment:
        'The agent has its own small image: it imports only its own files, src/protocol, src/policy-engine, src/agent-install/names.ts and rbac.ts, node built-ins, and @kubernetes/client-node, zod, @open-policy-agent/opa-wasm. Never NestJS, Prisma or BullMQ.',
      from: { path: '^src/agent/', pathNot: TEST_CODE },
      to: { pathNot: [AGENT_SOURCES, AGENT_PACKAGES], dependencyTypesNot: ['core'] },
    },
    {
      name: 'agent-loops-side-by-side',
      severity: 'error',
      comment:
        "The agent's loops (src/agent/<loop>/) share the top-level files (session, loop helper, gateways, config, logger) and the credential (identity/credential-holder.ts, credential-store.ts), never each other's files, so a new loop slots in beside them; agent.ts wires them.",
      from: { path: '^src/agent/([^/]+)/', pathNot: TEST_CODE },
      to: { path: '^src/agent/[^/]+/', pathNot: ['^src/agent/$1/', '^src/agent/identity/credential-(holder|store)\\.ts$'] },
    },
    {
      name: 'agent-tests-not-the-api',
      severity: 'error',
      comment: "The agent's tests may also use src/dev (cluster profiles) and the install manifests, but not the API: no modules, infra, graphql, common or its packages.",
      from: { path: '^src/agent/.*' + TEST_CODE },
      to: { path: ['^src/(modules|infra|graphql|common|generated)/', API_STACK] },
    },
    {
      name: 'common-not-modules-or-infra',
      severity: 'error',
      comment: 'src/common is used by every layer, so it imports no feature module (src/modules) and no infrastructure (src/infra). Its tests may, to check how the layers meet.',
      from: { path: '^src/common/', pathNot: [TEST_CODE] },
      to: { path: '^src/(modules|infra)/' },
    },
    {
      name: 'infra-not-modules',
      severity: 'error',
      comment: 'src/infra (Prisma, queues, Redis, Kubernetes, opa, config) serves the feature modules and never imports one. Its tests may, to check how the layers meet.',
      from: { path: '^src/infra/', pathNot: TEST_CODE },
      to: { path: '^src/modules/' },
    },
    {
      name: 'dev-not-from-production',
      severity: 'error',
      comment: 'src/dev (kube harness, demo seed, local agent) is for tests, the demo and benches: production code never imports it.',
      from: { path: '^src/', pathNot: ['^src/dev/', TEST_CODE] },
      to: { path: '^src/dev/' },
    },
    {
      name: 'test-code-not-from-production',
      severity: 'error',
      comment: 'Fakes and factories (testing/ folders, *.spec.ts) never end up in the import graph of production code.',
      from: { path: '^src/', pathNot: ['^src/dev/', TEST_CODE] },
      to: { path: TEST_CODE },
    },
    {
      name: 'prisma-client-only-in-repositories',
      severity: 'error',
      comment:
        'Queries go through repositories and gateways: only *.repository.ts, *.gateway.ts and src/infra/database load the Prisma client at run time. Row types (imports the compiler erases) may be used anywhere, and so may the generated enums (src/generated/prisma/enums.ts: plain constants, no client).',
      from: {
        path: '^src/',
        pathNot: ['\\.repository\\.ts$', '\\.gateway\\.ts$', '^src/infra/database/', '^src/generated/', TEST_CODE],
      },
      to: { path: ['^src/generated/prisma/client\\.ts$', '(^|/)node_modules/@prisma/'], preCompilationOnly: false },
    },
  ],
  options: {
    doNotFollow: { path: ['(^|/)node_modules/', '^src/generated/'] },
    // Record type-only imports too, and mark the ones the compiler erases (preCompilationOnly), which the Prisma rule reads.
    tsPreCompilationDeps: 'specify',
    tsConfig: { fileName: 'tsconfig.json' },
    skipAnalysisNotInRules: true,
  },
};
