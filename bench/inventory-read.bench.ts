import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApiApp } from '../src/api.app';
import { loadConfig } from '../src/infra/config/app-config';
import { PrismaService } from '../src/infra/database/prisma.service';
import { findProjectRoot } from '../src/infra/database/migrator';
import { createBenchDatabase, percentile } from './support';
import { createRootLogger } from '../src/infra/logging/logger';
import { OrganizationService } from '../src/modules/organizations/organization.service';

/**
 * Inventory read path: a page of 100 clusters with site, group and counts, served through the API's
 * DataLoaders, against a baseline that resolves the same relations one row at a time (the N+1 a naive
 * resolver would do), in the same run on the same data. Also a label-selector query over the fleet.
 */
const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 2000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 40);

async function time(iterations: number, run: () => Promise<unknown>): Promise<{ p50: number; p95: number; mean: number }> {
  for (let i = 0; i < 3; i++) {
    await run();
  } // warm-up
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

// The benchmark sends thousands of requests a minute with one token from one address: lift the
// rate limits so they are not what is measured, and serve no metrics port.
const BENCH_LIMITS = { GRAPHQL_RATE_LIMIT_PER_MINUTE: '10000000', ADDRESS_RATE_LIMIT_PER_MINUTE: '10000000', METRICS_PORT: '0' };

async function main(): Promise<void> {
  const db = await createBenchDatabase('inventory');

  const config = loadConfig({ ...process.env, DATABASE_URL: db.url, PORT: '0', LOG_LEVEL: 'silent', QUEUE_PREFIX: `bench-${Date.now()}`, ...BENCH_LIMITS });
  const app = await createApiApp(config, createRootLogger('silent', 'bench'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = await app.getUrl();
  const prisma = app.get(PrismaService);
  try {
    const { organization, adminToken } = await app.get(OrganizationService).bootstrap(`bench-${Date.now()}`, 'Bench', 'system:bench');
    const orgId = organization.id;
    const sites = Array.from({ length: 20 }, (_, i) => ({ id: randomUUID(), organizationId: orgId, name: `site-${i}`, tier: 'FAR_EDGE' as const, region: `r${i % 4}` }));
    const groups = Array.from({ length: 10 }, (_, i) => ({ id: randomUUID(), organizationId: orgId, name: `group-${i}` }));
    await prisma.site.createMany({ data: sites });
    await prisma.clusterGroup.createMany({ data: groups });
    const envs = ['prod', 'stage', 'dev'];
    const clusters = Array.from({ length: CLUSTERS }, (_, i) => ({
      id: randomUUID(),
      organizationId: orgId,
      name: `cluster-${String(i).padStart(5, '0')}`,
      siteId: sites[i % sites.length].id,
      groupId: groups[i % groups.length].id,
      labels: { tier: i % 5 === 0 ? 'core' : 'edge', env: envs[i % 3], ...(i % 7 === 0 ? { canary: 'true' } : {}) },
      nodeCount: 1 + (i % 5),
    }));
    for (let i = 0; i < clusters.length; i += 500) {
      await prisma.cluster.createMany({ data: clusters.slice(i, i + 500) });
    }
    const workspace = await prisma.workspace.create({ data: { organizationId: orgId, name: 'ws' } });
    await prisma.namespace.createMany({ data: clusters.map((c) => ({ organizationId: orgId, clusterId: c.id, workspaceId: workspace.id, name: 'apps' })) });

    const gql = async (query: string) => {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ query }),
      });
      const body = (await response.json()) as { errors?: unknown };
      if (body.errors) {
        throw new Error(JSON.stringify(body.errors));
      }
      return body;
    };
    const pageQuery = '{ clusters(first: 100) { edges { node { name site { name clusterCount } group { name clusterCount } namespaceCount } } } }';
    const selectorQuery = '{ clusters(first: 100, filter: { labelSelector: "tier=edge,env in (prod,stage),!canary" }) { totalCount edges { node { name } } } }';

    const statements = async (run: () => Promise<unknown>) => {
      const before = prisma.sqlStatementCount;
      await run();
      return prisma.sqlStatementCount - before;
    };

    // Baseline: the same page and relations, resolved row by row as a resolver without loaders would.
    const naivePage = async () => {
      const page = await prisma.cluster.findMany({ where: { organizationId: orgId }, orderBy: { name: 'asc' }, take: 100 });
      for (const c of page) {
        await prisma.site.findUnique({ where: { id: c.siteId! } });
        await prisma.cluster.count({ where: { siteId: c.siteId } });
        await prisma.clusterGroup.findUnique({ where: { id: c.groupId } });
        await prisma.cluster.count({ where: { groupId: c.groupId } });
        await prisma.namespace.count({ where: { clusterId: c.id } });
      }
    };

    const rows = [
      {
        case: 'page of 100 clusters + relations via GraphQL (DataLoaders)',
        ...(await time(ITERATIONS, () => gql(pageQuery))),
        sqlStatements: await statements(() => gql(pageQuery)),
      },
      { case: 'baseline: same page, relations row by row (N+1, direct Prisma)', ...(await time(ITERATIONS, naivePage)), sqlStatements: await statements(naivePage) },
      {
        case: `label selector over ${CLUSTERS} clusters via GraphQL`,
        ...(await time(ITERATIONS, () => gql(selectorQuery))),
        sqlStatements: await statements(() => gql(selectorQuery)),
      },
    ];
    const ratio = rows[1].p50 / rows[0].p50;
    console.log(`\nInventory read benchmark — ${CLUSTERS} clusters, ${ITERATIONS} iterations each (ms)\n`);
    console.table(rows.map((r) => ({ case: r.case, p50: r.p50.toFixed(1), p95: r.p95.toFixed(1), mean: r.mean.toFixed(1), sql: r.sqlStatements })));
    console.log(`DataLoader page vs N+1 baseline: ${ratio.toFixed(1)}x faster at p50`);
    const out = join(findProjectRoot(), 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, 'inventory-read.json'),
      JSON.stringify({ at: new Date().toISOString(), clusters: CLUSTERS, iterations: ITERATIONS, rows, dataLoaderSpeedupP50: ratio }, null, 2) + '\n',
    );
  } finally {
    await app.close();
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
