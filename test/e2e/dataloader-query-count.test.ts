// Proves the cluster list is free of N+1 queries: the SQL statements one request sends do not grow
// with the page size. Counted by PrismaService.sqlStatementCount (every statement sent on any pooled
// connection of the API process), read before and after the HTTP request.
import { DbSeed } from '../support/factories';
import { startApi, type TestApi } from '../support/api';

/**
 * What the request may cost, whatever the page size: authenticate (token lookup, its organization,
 * last-use touch: 3), the page and its total (2), then one batch per loader: site, group, cluster count
 * by site, health by site, cluster count by group, namespace count by cluster (6). That is 11 today;
 * 12 leaves room for one more fixed statement, never for one per row.
 */
const MAX_STATEMENTS = 12;

const QUERY = `query($first: Int!) {
  clusters(first: $first) {
    totalCount
    edges { node {
      name
      site { name clusterCount clusterHealth { total } }
      group { name clusterCount }
      namespaceCount
    } }
  }
}`;

interface Page {
  clusters: {
    totalCount: number;
    edges: {
      node: {
        name: string;
        site: { name: string; clusterCount: number; clusterHealth: { total: number } } | null;
        group: { name: string; clusterCount: number };
        namespaceCount: number;
      };
    }[];
  };
}

let api: TestApi;
let token: string;
let expected: Map<string, { site: string | null; group: string; namespaces: number }>;
let siteClusters: Map<string, number>;
let groupClusters: Map<string, number>;

beforeAll(async () => {
  api = await startApi();
  const { token: admin, organizationId } = await api.bootstrapOrgWithId('fleet');
  token = admin;
  const seed = new DbSeed(api.prisma, organizationId);
  const sites = await seed.sites(4);
  const groups = await seed.groups(3);
  const [workspace] = await seed.workspaces(1);
  // Every 10th cluster has no site (site resolves to null without a load).
  const clusters = await seed.clusters(100, (i) => ({
    groupId: groups[i % 3].id,
    siteId: i % 10 === 9 ? null : sites[i % 4].id,
    health: (['HEALTHY', 'WARNING', 'UNHEALTHY', 'DISCONNECTED', 'UNKNOWN'] as const)[i % 5],
  }));
  // 0-3 namespaces per cluster.
  const nsRows = clusters.flatMap((c, i) => Array.from({ length: i % 4 }, () => c.id));
  await seed.namespaces(nsRows.length, (i) => ({ clusterId: nsRows[i], workspaceId: workspace.id }));

  const siteName = new Map(sites.map((s) => [s.id, s.name]));
  const groupName = new Map(groups.map((g) => [g.id, g.name]));
  expected = new Map(clusters.map((c, i) => [c.name, { site: c.siteId ? siteName.get(c.siteId)! : null, group: groupName.get(c.groupId)!, namespaces: i % 4 }]));
  siteClusters = new Map(sites.map((s) => [s.name, clusters.filter((c) => c.siteId === s.id).length]));
  groupClusters = new Map(groups.map((g) => [g.name, clusters.filter((c) => c.groupId === g.id).length]));
}, 60_000);

afterAll(async () => {
  await api?.close();
});

async function countedPage(first: number): Promise<{ statements: number; page: Page }> {
  const before = api.prisma.sqlStatementCount;
  const page = await api.gqlOk<Page>(token, QUERY, { first });
  return { statements: api.prisma.sqlStatementCount - before, page };
}

describe('clusters list with site, group and namespace counts', () => {
  it('answers a page of 100 clusters with every nested field right', async () => {
    const { page } = await countedPage(100);
    expect(page.clusters.totalCount).toBe(100);
    expect(page.clusters.edges).toHaveLength(100);
    for (const { node } of page.clusters.edges) {
      const want = expected.get(node.name)!;
      expect(node.group).toEqual({ name: want.group, clusterCount: groupClusters.get(want.group) });
      expect(node.namespaceCount).toBe(want.namespaces);
      if (want.site === null) {
        expect(node.site).toBeNull();
      } else {
        expect(node.site).toEqual({ name: want.site, clusterCount: siteClusters.get(want.site), clusterHealth: { total: siteClusters.get(want.site) } });
      }
    }
  });

  it(`sends at most ${MAX_STATEMENTS} SQL statements for 100 clusters, and exactly as many as for 10`, async () => {
    // Warm up once so lazily opened pool connections do not skew either measurement.
    await countedPage(10);
    const ten = await countedPage(10);
    const hundred = await countedPage(100);
    expect(ten.page.clusters.edges).toHaveLength(10);
    expect(hundred.page.clusters.edges).toHaveLength(100);
    expect(hundred.statements).toBeLessThanOrEqual(MAX_STATEMENTS);
    // Constant, not merely small: ten times the rows costs not one statement more.
    expect(hundred.statements).toBe(ten.statements);
  });

  it('counts statements at all (the measurement is live)', async () => {
    // Guards the test above against a counter that never moves: a request must send some SQL.
    const { statements } = await countedPage(1);
    expect(statements).toBeGreaterThanOrEqual(4);
  });
});
