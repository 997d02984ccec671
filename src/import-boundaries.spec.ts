import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

// The rules in .dependency-cruiser.cjs, through the CLI that scripts/test.sh runs (dependency-cruiser is
// ES modules only, which jest's module runtime cannot load).
const repoRoot = join(__dirname, '..');
const rules = join(repoRoot, '.dependency-cruiser.cjs');
const cli = join(repoRoot, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  rule: string;
  from: string;
  to: string;
}

/** Runs the check as scripts/test.sh does and reads its report: "error <rule>: <from> → <to>" (a cycle continues on the next lines). */
async function cruise(cwd: string): Promise<{ exitCode: number; violations: Violation[] }> {
  const run = promisify(execFile)(process.execPath, [cli, 'src', '--config', rules], { cwd, maxBuffer: 64 * 1024 * 1024 });
  // depcruise exits with the number of errors it found.
  const { stdout, exitCode } = await run.then(
    (r) => ({ stdout: r.stdout, exitCode: 0 }),
    (e: { stdout: string; code: number }) => ({ stdout: e.stdout, exitCode: e.code }),
  );
  const violations = [...stdout.matchAll(/^\s*error (\S+): (\S+) →\s+(\S+)/gm)].map(([, rule, from, to]) => ({ rule, from, to: to.replace(/^.*node_modules\//, 'node_modules/') }));
  return { exitCode, violations };
}

// A tiny src/ tree: every rule broken once, next to imports the rules must allow.
const fixture: Record<string, string> = {
  'src/agent/main.ts': [
    "import { Injectable } from '@nestjs/common';", // NestJS in the agent
    "import { renderAgentManifests } from '../agent-install/manifests';", // the manifests (js-yaml), not the names
    "import { AgentObjectNames } from '../agent-install/names';",
    "import { ClusterIdSchema } from '../protocol/common';",
    "import { z } from 'zod';",
    "import { readFileSync } from 'node:fs';",
    "import { own } from './own';",
    'export const used = [Injectable, renderAgentManifests, AgentObjectNames, ClusterIdSchema, z, readFileSync, own];',
  ].join('\n'),
  'src/agent/own.ts': 'export const own = 1;',
  'src/agent/rotation/rotation-loop.ts': [
    "import { InventoryLoop } from '../inventory/inventory-loop';", // one loop reaching into another
    "import { CredentialHolder } from '../identity/credential-holder';", // the shared credential
    "import { own } from '../own';",
    'export const used = [InventoryLoop, CredentialHolder, own];',
  ].join('\n'),
  'src/agent/inventory/inventory-loop.ts': 'export class InventoryLoop {}',
  'src/agent/identity/credential-holder.ts': 'export class CredentialHolder {}',
  'src/agent/main.spec.ts': [
    "import { profile } from '../dev/harness';", // allowed in the agent's tests
    "import { ClusterService } from '../modules/clusters/cluster.service';", // the API in the agent's tests
    'export const used = [profile, ClusterService];',
  ].join('\n'),
  'src/agent-install/manifests.ts': "import { AgentObjectNames } from './names';\nexport const renderAgentManifests = () => AgentObjectNames;",
  'src/agent-install/names.ts': "export const AgentObjectNames = { namespace: 'farpoint-system' };",
  'src/protocol/common.ts': "import { FarpointError } from '../common/errors';\nexport const ClusterIdSchema = FarpointError;",
  'src/protocol/parse.ts': "import type { Job } from 'bullmq';\nexport type Parsed = Job;",
  'src/protocol/testing/factories.ts': "export const TEST_CLUSTER_ID = 'c';",
  'src/common/errors.ts': "import { queue } from '../infra/queue';\nexport class FarpointError extends Error {}\nexport const used = queue;",
  'src/infra/queue.ts': "import { ClusterService } from '../modules/clusters/cluster.service';\nexport const queue = ClusterService;",
  'src/infra/queue.spec.ts': "import { ClusterService } from '../modules/clusters/cluster.service';\nexport const used = ClusterService;", // tests may cross layers
  'src/infra/database/prisma.service.ts': "import { PrismaClient } from '../../generated/prisma/client';\nexport const client = new PrismaClient();",
  'src/dev/harness.ts': "export const profile = 'tkg';",
  'src/generated/prisma/client.ts': 'export class PrismaClient {}\nexport type Cluster = { id: string };',
  'src/generated/prisma/enums.ts': "export const ClusterPhase = { READY: 'READY' } as const;",
  'src/modules/clusters/cluster.service.ts': [
    "import { PrismaClient } from '../../generated/prisma/client';", // the client outside a repository
    "import { Cluster } from '../../generated/prisma/client';", // erased: a type only
    "import { ClusterPhase } from '../../generated/prisma/enums';",
    "import { profile } from '../../dev/harness';",
    "import { TEST_CLUSTER_ID } from '../../protocol/testing/factories';",
    "import { missing } from './missing';",
    'export class ClusterService { run(c: Cluster) { return [PrismaClient, ClusterPhase, profile, TEST_CLUSTER_ID, missing, c]; } }',
  ].join('\n'),
  'src/modules/clusters/cluster.repository.ts': "import { PrismaClient } from '../../generated/prisma/client';\nexport const repository = PrismaClient;",
  'src/modules/clusters/cluster.resolver.ts': "import type { Cluster } from '../../generated/prisma/client';\nexport const name = (c: Cluster) => c.id;",
  'src/modules/cycle/a.ts': "import { b } from './b';\nexport const a = () => b;",
  'src/modules/cycle/b.ts': "import { a } from './a';\nexport const b = () => a;",
  'src/modules/cycle/types-a.ts': "import type { B } from './types-b';\nexport interface A { b?: B }",
  'src/modules/cycle/types-b.ts': "import type { A } from './types-a';\nexport interface B { a?: A }",
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node', target: 'ES2022', strict: true, esModuleInterop: true } }),
};

describe('import boundaries (.dependency-cruiser.cjs)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'farpoint-boundaries-'));
    for (const [path, text] of Object.entries(fixture)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text + '\n');
    }
    // Real packages, so that @nestjs/common, bullmq and zod resolve as they do in the repository.
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names every broken rule in a fixture tree, allows the permitted imports, and fails the command', async () => {
    const { exitCode, violations } = await cruise(dir);
    const sortKey = (v: Violation) => `${v.rule} ${v.from} ${v.to}`;
    const expected: Violation[] = [
      { rule: 'agent-only-its-own-dependencies', from: 'src/agent/main.ts', to: 'node_modules/@nestjs/common/index.js' },
      { rule: 'agent-only-its-own-dependencies', from: 'src/agent/main.ts', to: 'src/agent-install/manifests.ts' },
      { rule: 'agent-loops-side-by-side', from: 'src/agent/rotation/rotation-loop.ts', to: 'src/agent/inventory/inventory-loop.ts' },
      { rule: 'agent-tests-not-the-api', from: 'src/agent/main.spec.ts', to: 'src/modules/clusters/cluster.service.ts' },
      { rule: 'common-not-modules-or-infra', from: 'src/common/errors.ts', to: 'src/infra/queue.ts' },
      { rule: 'dev-not-from-production', from: 'src/modules/clusters/cluster.service.ts', to: 'src/dev/harness.ts' },
      { rule: 'infra-not-modules', from: 'src/infra/queue.ts', to: 'src/modules/clusters/cluster.service.ts' },
      { rule: 'no-circular', from: 'src/modules/cycle/a.ts', to: 'src/modules/cycle/b.ts' }, // a cycle is reported once
      { rule: 'not-unresolvable', from: 'src/modules/clusters/cluster.service.ts', to: './missing' },
      { rule: 'prisma-client-only-in-repositories', from: 'src/modules/clusters/cluster.service.ts', to: 'src/generated/prisma/client.ts' },
      { rule: 'shared-libs-no-api-packages', from: 'src/protocol/parse.ts', to: 'node_modules/bullmq/dist/cjs/index.js' },
      { rule: 'shared-libs-only-shared-code', from: 'src/protocol/common.ts', to: 'src/common/errors.ts' },
      { rule: 'test-code-not-from-production', from: 'src/modules/clusters/cluster.service.ts', to: 'src/protocol/testing/factories.ts' },
    ];
    const sorted = (list: Violation[]) => [...list].sort((x, y) => sortKey(x).localeCompare(sortKey(y)));
    expect(sorted(violations)).toEqual(sorted(expected));
    expect(exitCode).toBe(expected.length);
  }, 60_000);

  it('finds no violation in the real src/ tree', async () => {
    const { exitCode, violations } = await cruise(repoRoot);
    expect(violations).toEqual([]);
    expect(exitCode).toBe(0);
  }, 120_000);
});
