// The API on a small Postgres pool, over HTTP against the real application and database:
//   - five times more concurrent mutations of every kind than the pool has connections all succeed
//     (no transaction needs a second connection, so none waits on another: the deadlock once seen
//     with 15 concurrent attachCluster on a 10-connection pool cannot happen);
//   - a pool held on purpose answers SERVICE_UNAVAILABLE with HTTP 503 and Retry-After, on GraphQL
//     and on the agent protocol, never INTERNAL_SERVER_ERROR, and serves again once connections return.
import { randomBytes } from 'node:crypto';
import type { PoolClient } from 'pg';
import { SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../src/common/errors/farpoint-error';
import { AgentErrorBodySchema, AgentPaths } from '../../src/protocol';
import { DbSeed } from '../support/factories';
import { type GqlResponse, startApi, type TestApi } from '../support/api';

jest.setTimeout(180_000);

const POOL_SIZE = 4;
const CONCURRENT = 5 * POOL_SIZE;
const KUBECONFIG = [
  'apiVersion: v1',
  'kind: Config',
  'current-context: c',
  'clusters: [{ name: c, cluster: { server: "https://203.0.113.9:6443" } }]',
  'users: [{ name: u, user: { token: t } }]',
  'contexts: [{ name: c, context: { cluster: c, user: u } }]',
].join('\n');
const unique = () => randomBytes(4).toString('hex');

describe(`${CONCURRENT} concurrent mutations of each kind on a pool of ${POOL_SIZE} connections`, () => {
  let api: TestApi;
  let admin: string;
  let organizationId: string;
  let seed: DbSeed;

  beforeAll(async () => {
    api = await startApi({ DATABASE_POOL_SIZE: String(POOL_SIZE) });
    ({ token: admin, organizationId } = await api.bootstrapOrgWithId('pool-org'));
    seed = new DbSeed(api.prisma, organizationId, 'seeded');
  }, 60_000);

  afterAll(async () => {
    await api?.close();
  });

  /** Sends `CONCURRENT` operations at once; every one must succeed. Returns their data. */
  async function allAtOnce(operation: (i: number) => { query: string; variables?: Record<string, unknown> }): Promise<any[]> {
    const responses: GqlResponse[] = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => {
        const { query, variables } = operation(i);
        return api.gql(admin, query, variables);
      }),
    );
    const failed = responses.filter((r) => r.status !== 200 || r.errors?.length).map((r) => ({ status: r.status, errors: r.errors }));
    expect({ failed: failed.length, first: failed[0] }).toEqual({ failed: 0, first: undefined });
    return responses.map((r) => r.data);
  }

  const eventsOf = (type: string) => api.prisma.event.count({ where: { organizationId, type } });

  it('createSite, updateSite, deleteSite', async () => {
    await allAtOnce(() => ({
      query: 'mutation($in: CreateSiteInput!) { createSite(input: $in) { id } }',
      variables: { in: { name: `site-${unique()}`, tier: 'FAR_EDGE', region: 'eu', connectivity: { mode: 'INTERMITTENT' } } },
    }));
    const sites = await seed.sites(2 * CONCURRENT);
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { updateSite(id: $id, input: { region: "us-east" }) { id region } }', variables: { id: sites[i].id } }));
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { deleteSite(id: $id) { id } }', variables: { id: sites[CONCURRENT + i].id } }));
    expect({ created: await eventsOf('SiteCreated'), updated: await eventsOf('SiteUpdated'), deleted: await eventsOf('SiteDeleted') }).toEqual({
      created: CONCURRENT,
      updated: CONCURRENT,
      deleted: CONCURRENT,
    });
  });

  it('createClusterGroup, updateClusterGroup, deleteClusterGroup', async () => {
    await allAtOnce(() => ({ query: 'mutation($in: CreateClusterGroupInput!) { createClusterGroup(input: $in) { id } }', variables: { in: { name: `group-${unique()}` } } }));
    const groups = await seed.groups(2 * CONCURRENT);
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { updateClusterGroup(id: $id, input: { description: "retail" }) { id } }', variables: { id: groups[i].id } }));
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { deleteClusterGroup(id: $id) { id } }', variables: { id: groups[CONCURRENT + i].id } }));
    expect({ created: await eventsOf('ClusterGroupCreated'), updated: await eventsOf('ClusterGroupUpdated'), deleted: await eventsOf('ClusterGroupDeleted') }).toEqual({
      created: CONCURRENT,
      updated: CONCURRENT,
      deleted: CONCURRENT,
    });
  });

  it('createWorkspace, updateWorkspace, deleteWorkspace', async () => {
    await allAtOnce(() => ({ query: 'mutation($in: CreateWorkspaceInput!) { createWorkspace(input: $in) { id } }', variables: { in: { name: `ws-${unique()}` } } }));
    const workspaces = await seed.workspaces(2 * CONCURRENT);
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { updateWorkspace(id: $id, input: { description: "payments" }) { id } }', variables: { id: workspaces[i].id } }));
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { deleteWorkspace(id: $id) { id } }', variables: { id: workspaces[CONCURRENT + i].id } }));
    expect({ created: await eventsOf('WorkspaceCreated'), updated: await eventsOf('WorkspaceUpdated'), deleted: await eventsOf('WorkspaceDeleted') }).toEqual({
      created: CONCURRENT,
      updated: CONCURRENT,
      deleted: CONCURRENT,
    });
  });

  it('createCluster, updateCluster, moveCluster, deleteCluster', async () => {
    const [site, otherSite] = await seed.sites(2);
    const [group, otherGroup] = await seed.groups(2);
    const created = await allAtOnce(() => ({
      query: 'mutation($in: CreateClusterInput!) { createCluster(input: $in) { id } }',
      variables: { in: { name: `cluster-${unique()}`, groupId: group.id, siteId: site.id } },
    }));
    const ids: string[] = created.map((d) => d.createCluster.id);
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { updateCluster(id: $id, input: { labels: { tier: "edge" } }) { id } }', variables: { id: ids[i] } }));
    await allAtOnce((i) => ({
      query: 'mutation($id: ID!, $g: ID!, $s: ID) { moveCluster(id: $id, input: { groupId: $g, siteId: $s }) { id } }',
      variables: { id: ids[i], g: otherGroup.id, s: otherSite.id },
    }));
    expect(await api.prisma.cluster.count({ where: { organizationId, groupId: otherGroup.id, siteId: otherSite.id, labels: { equals: { tier: 'edge' } } } })).toBe(CONCURRENT);
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { deleteCluster(id: $id) { id } }', variables: { id: ids[i] } }));
    expect(await api.prisma.cluster.count({ where: { id: { in: ids } } })).toBe(0);
  });

  it('attachCluster, attachClusterWithKubeconfig, reissueRegistrationLink, revokeRegistrationLinks, detachCluster', async () => {
    const [group] = await seed.groups(1);
    const [site] = await seed.sites(1);
    const attached = await allAtOnce(() => ({
      query: 'mutation($in: AttachClusterInput!) { attachCluster(input: $in) { cluster { id phase } } }',
      variables: { in: { name: `attached-${unique()}`, groupId: group.id, siteId: site.id } },
    }));
    const ids: string[] = attached.map((d) => d.attachCluster.cluster.id);
    await allAtOnce(() => ({
      query: 'mutation($in: AttachClusterWithKubeconfigInput!) { attachClusterWithKubeconfig(input: $in) { operation { id } } }',
      variables: { in: { name: `queued-${unique()}`, groupId: group.id, kubeconfig: KUBECONFIG } },
    }));
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { reissueRegistrationLink(clusterId: $id) { registrationToken } }', variables: { id: ids[i] } }));
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { revokeRegistrationLinks(clusterId: $id) { id } }', variables: { id: ids[i] } }));
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { detachCluster(id: $id) { id phase } }', variables: { id: ids[i] } }));
    expect({
      detached: await api.prisma.cluster.count({ where: { id: { in: ids }, phase: 'DETACHED' } }),
      queued: await api.prisma.clusterOperation.count({ where: { organizationId, kind: 'ATTACH', state: 'QUEUED' } }),
      links: await api.prisma.registrationToken.count({ where: { clusterId: { in: ids } } }),
    }).toEqual({ detached: CONCURRENT, queued: CONCURRENT, links: 2 * CONCURRENT });
  });

  it('createNamespace, updateNamespace, deleteNamespace', async () => {
    const [group] = await seed.groups(1);
    const [cluster] = await seed.clusters(1, () => ({ groupId: group.id }));
    const [workspace, otherWorkspace] = await seed.workspaces(2);
    const created = await allAtOnce(() => ({
      query: 'mutation($in: CreateNamespaceInput!) { createNamespace(input: $in) { id } }',
      variables: { in: { name: `ns-${unique()}`, clusterId: cluster.id, workspaceId: workspace.id } },
    }));
    const ids: string[] = created.map((d) => d.createNamespace.id);
    await allAtOnce((i) => ({
      query: 'mutation($id: ID!, $w: ID!) { updateNamespace(id: $id, input: { workspaceId: $w }) { id } }',
      variables: { id: ids[i], w: otherWorkspace.id },
    }));
    expect(await api.prisma.namespace.count({ where: { id: { in: ids }, workspaceId: otherWorkspace.id } })).toBe(CONCURRENT);
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { deleteNamespace(id: $id) { id } }', variables: { id: ids[i] } }));
    expect(await api.prisma.namespace.count({ where: { id: { in: ids } } })).toBe(0);
  });

  it('createApiToken, revokeApiToken', async () => {
    const created = await allAtOnce(() => ({
      query: 'mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { token { id } } }',
      variables: { in: { name: `bot-${unique()}`, role: 'VIEWER' } },
    }));
    const ids: string[] = created.map((d) => d.createApiToken.token.id);
    await allAtOnce((i) => ({ query: 'mutation($id: ID!) { revokeApiToken(id: $id) { id } }', variables: { id: ids[i] } }));
    expect(await api.prisma.apiToken.count({ where: { id: { in: ids }, revokedAt: { not: null } } })).toBe(CONCURRENT);
  });

  it('every kind at once', async () => {
    const [group] = await seed.groups(1);
    const kinds = [
      () => ({ query: 'mutation($in: CreateSiteInput!) { createSite(input: $in) { id } }', variables: { in: { name: `mixed-site-${unique()}`, tier: 'CORE', region: 'eu' } } }),
      () => ({
        query: 'mutation($in: AttachClusterInput!) { attachCluster(input: $in) { cluster { id } } }',
        variables: { in: { name: `mixed-attached-${unique()}`, groupId: group.id } },
      }),
      () => ({ query: 'mutation($in: CreateClusterInput!) { createCluster(input: $in) { id } }', variables: { in: { name: `mixed-cluster-${unique()}`, groupId: group.id } } }),
      () => ({ query: 'mutation($in: CreateWorkspaceInput!) { createWorkspace(input: $in) { id } }', variables: { in: { name: `mixed-ws-${unique()}` } } }),
    ];
    await allAtOnce((i) => kinds[i % kinds.length]());
  });
});

describe('a saturated pool', () => {
  let api: TestApi;
  let admin: string;
  let held: PoolClient[] = [];

  beforeAll(async () => {
    api = await startApi({ DATABASE_POOL_SIZE: '2', DATABASE_TX_MAX_WAIT_MS: '300' });
    admin = await api.bootstrapOrg('saturated-org');
  }, 60_000);

  afterAll(async () => {
    for (const client of held) {
      client.release();
    }
    await api?.close();
  });

  /** Checks out every connection of the API's pool, as long-running work would. */
  async function holdThePool(): Promise<void> {
    held = [await api.prisma.pool.connect(), await api.prisma.pool.connect()];
  }

  function releaseThePool(): void {
    for (const client of held) {
      client.release();
    }
    held = [];
  }

  it('answers GraphQL queries and mutations with 503 SERVICE_UNAVAILABLE and Retry-After, then serves again', async () => {
    await holdThePool();
    const query = await api.gql(admin, 'query { viewer { role } }');
    const mutation = await api.gql(admin, 'mutation { createSite(input: { name: "while-saturated", tier: CORE, region: "eu" }) { id } }');
    releaseThePool();
    for (const res of [query, mutation]) {
      expect({ status: res.status, retryAfter: res.headers.get('retry-after'), codes: res.errors?.map((e) => e.extensions?.code) }).toEqual({
        status: 503,
        retryAfter: String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS),
        codes: ['SERVICE_UNAVAILABLE'],
      });
      expect(res.errors![0].message).not.toMatch(/prisma|timeout exceeded|postgres|P\d{4}/i);
    }
    expect(await api.prisma.site.count({ where: { name: 'while-saturated' } })).toBe(0);
    expect((await api.gqlOk<{ viewer: { role: string } }>(admin, 'query { viewer { role } }')).viewer.role).toBe('ADMIN');
  });

  it('answers the agent protocol with 503 SERVICE_UNAVAILABLE and Retry-After, then serves again', async () => {
    const register = () =>
      fetch(`${api.url}${AgentPaths.register}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ registrationToken: `fpr_${'x'.repeat(43)}`, clusterUid: '4f5e3c1a-2b7d-4e8f-9a6b-1c2d3e4f5a6b', agentVersion: '0.1.0' }),
      });
    const reports = () =>
      fetch(`${api.url}${AgentPaths.reports}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer fpc_${'y'.repeat(43)}` },
        body: JSON.stringify({ clusterId: '4f5e3c1a-2b7d-4e8f-9a6b-1c2d3e4f5a6b', agentVersion: '0.1.0', items: [] }),
      });
    await holdThePool();
    const answers = [await register(), await reports()];
    releaseThePool();
    for (const response of answers) {
      const body = AgentErrorBodySchema.parse(await response.json());
      expect({ status: response.status, retryAfter: response.headers.get('retry-after'), code: body.error.code }).toEqual({
        status: 503,
        retryAfter: String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS),
        code: 'SERVICE_UNAVAILABLE',
      });
    }
    // With connections back the same requests reach their real answers (the token and credential are unknown).
    const after = [await register(), await reports()];
    expect(await Promise.all(after.map(async (r) => ({ status: r.status, code: AgentErrorBodySchema.parse(await r.json()).error.code })))).toEqual([
      { status: 404, code: 'TOKEN_UNKNOWN' },
      { status: 401, code: 'CREDENTIAL_INVALID' },
    ]);
  });
});
