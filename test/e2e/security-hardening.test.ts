// Hardening found by trying the API as an outside client would: query cost that ignores leaving `first`
// out, forged cursors, unbounded label selectors and API tokens that live forever.
import { randomUUID } from 'node:crypto';
import { type GqlResponse, startApi, type TestApi } from '../support/api';
import { InventoryLoaderFactory } from '../../src/graphql/inventory.loaders';
import { AgentPaths, AgentProtocolLimits } from '../../src/protocol';
import { makeInventory } from '../../src/protocol/testing/factories';
import { ApiFactory, DbSeed } from '../support/factories';

let api: TestApi;
let admin: string;
let orgId: string;

beforeAll(async () => {
  api = await startApi({ GRAPHQL_MAX_COST: '1000' });
  ({ token: admin, organizationId: orgId } = await api.bootstrapOrgWithId('hardening'));
  const make = new ApiFactory(api, admin);
  const group = await make.group().create();
  await new DbSeed(api.prisma, orgId).clusters(3, () => ({ groupId: group.id }));
}, 60_000);
afterAll(() => api?.close());

function codeOf(res: GqlResponse): { status: number; code: unknown; field?: unknown } {
  const error = res.errors?.[0];
  return { status: res.status, code: error?.extensions?.code ?? 'NONE', ...(error?.extensions?.field ? { field: error.extensions.field } : {}) };
}

describe('query cost', () => {
  // Each cluster costs 1 (node) + 1 (edges) + 38 fields = 40; 25 of them (the default page) cost 1001.
  const fields = Array.from({ length: 38 }, () => 'name')
    .map((f, i) => `f${i}: ${f}`)
    .join(' ');

  it('counts the default page size (25) for a list asked for without `first`', async () => {
    const res = await api.gql(admin, `{ clusters { edges { node { ${fields} } } } }`);
    expect(codeOf(res)).toEqual({ status: 400, code: 'QUERY_TOO_COMPLEX' });
    expect(res.errors![0].message).toMatch(/would cost 1001/);
    // The same shape with a small page goes through: the default is what was counted.
    expect((await api.gql(admin, `{ clusters(first: 5) { edges { node { ${fields} } } } }`)).errors).toBeUndefined();
  });

  it("gives a cluster's inventory lists their typical size: workloads of a page of clusters is refused, of one cluster allowed", async () => {
    const res = await api.gql(admin, '{ clusters(first: 20) { edges { node { workloads { kind namespace name } } } } }');
    expect(codeOf(res)).toEqual({ status: 400, code: 'QUERY_TOO_COMPLEX' });
    const one = await api.gql(admin, '{ clusters(first: 1) { edges { node { nodes { name } discoveredNamespaces { name } workloads { name } } } } }');
    expect(one.errors).toBeUndefined();
  });
});

describe('forged cursors', () => {
  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it.each([
    ['not base64 JSON', 'not-a-cursor!!'],
    ['a position on another ordering', cursor(['createdAt', 'x', randomUUID()])],
    ['an id that is no uuid', cursor(['name', 'a', '------------------------------------'])],
    ['a name with a NUL byte', cursor(['name', 'a\u0000b', randomUUID()])],
    ['an object as position', cursor(['name', { $gt: '' }, randomUUID()])],
  ])('refuses %s on clusters(orderBy NAME) with BAD_USER_INPUT on "after"', async (_what, after) => {
    expect(codeOf(await api.gql(admin, 'query($after: String) { clusters(first: 2, after: $after) { totalCount } }', { after }))).toEqual({
      status: 200,
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
  });

  it.each([
    ['a date that is no date', 'CREATED_AT', cursor(['createdAt', 'yesterday', randomUUID()])],
    ['a node count that is a string', 'NODE_COUNT', cursor(['nodeCount', '1; DROP TABLE', randomUUID()])],
    ['a node count beyond int32', 'NODE_COUNT', cursor(['nodeCount', 2 ** 40, randomUUID()])],
  ])('refuses %s for its typed column', async (_what, field, after) => {
    const res = await api.gql(admin, 'query($after: String, $field: ClusterSortField!) { clusters(first: 2, after: $after, orderBy: { field: $field }) { totalCount } }', {
      after,
      field,
    });
    expect(codeOf(res)).toEqual({ status: 200, code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('refuses an event cursor whose position is no timestamp', async () => {
    const res = await api.gql(admin, 'query($after: String) { events(first: 2, after: $after) { totalCount } }', { after: cursor(['occurredAt', 'soon', randomUUID()]) });
    expect(codeOf(res)).toEqual({ status: 200, code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('still follows a real cursor to the next page', async () => {
    const first = await api.gqlOk(admin, '{ clusters(first: 2, orderBy: { field: CREATED_AT }) { pageInfo { endCursor } edges { node { id } } } }');
    const next = await api.gqlOk(admin, 'query($after: String) { clusters(first: 2, after: $after, orderBy: { field: CREATED_AT }) { edges { node { id } } } }', {
      after: first.clusters.pageInfo.endCursor,
    });
    expect(next.clusters.edges).toHaveLength(1);
  });
});

describe('label selectors', () => {
  const query = 'query($s: String!) { clusters(first: 1, filter: { labelSelector: $s }) { totalCount } }';

  it('accepts up to 32 terms and refuses more, and sets of more than 64 values, with BAD_USER_INPUT', async () => {
    const terms = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`).join(',');
    expect((await api.gql(admin, query, { s: terms(32) })).errors).toBeUndefined();
    expect(codeOf(await api.gql(admin, query, { s: terms(33) }))).toEqual({ status: 200, code: 'BAD_USER_INPUT', field: 'labelSelector' });
    const values = (n: number) => `env in (${Array.from({ length: n }, (_, i) => `v${i}`).join(',')})`;
    expect((await api.gql(admin, query, { s: values(64) })).errors).toBeUndefined();
    expect(codeOf(await api.gql(admin, query, { s: values(65) }))).toEqual({ status: 200, code: 'BAD_USER_INPUT', field: 'labelSelector' });
    expect(codeOf(await api.gql(admin, query, { s: 'a'.repeat(5000) }))).toEqual({ status: 200, code: 'BAD_USER_INPUT', field: 'labelSelector' });
  });
});

describe('maximum API token lifetime per organization', () => {
  const create = (token: string, expiresAt?: string) =>
    api.gql(token, 'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token { expiresAt } secret } }', {
      input: { name: `t-${randomUUID().slice(0, 8)}`, role: 'VIEWER', ...(expiresAt ? { expiresAt } : {}) },
    });
  const settings = (token: string, days: number | null) =>
    api.gql(token, 'mutation($days: Int) { updateOrganizationSettings(input: { apiTokenMaxLifetimeDays: $days }) { apiTokenMaxLifetimeDays } }', { days });

  it('caps new tokens: none asked gets the maximum, beyond it is refused and nothing is created', async () => {
    const { token: owner } = await api.bootstrapOrgWithId('lifetime');
    expect((await create(owner)).data.createApiToken.token.expiresAt).toBeNull();
    expect((await settings(owner, 30)).data).toEqual({ updateOrganizationSettings: { apiTokenMaxLifetimeDays: 30 } });

    const capped = new Date((await create(owner)).data.createApiToken.token.expiresAt).getTime();
    expect(Math.abs(capped - (Date.now() + 30 * 86_400_000))).toBeLessThan(60_000);
    expect((await create(owner, new Date(Date.now() + 10 * 86_400_000).toISOString())).errors).toBeUndefined();

    const before = (await api.gqlOk(owner, '{ apiTokens { id } }')).apiTokens.length;
    expect(codeOf(await create(owner, new Date(Date.now() + 31 * 86_400_000).toISOString()))).toEqual({ status: 200, code: 'BAD_USER_INPUT', field: 'expiresAt' });
    expect((await api.gqlOk(owner, '{ apiTokens { id } }')).apiTokens).toHaveLength(before);

    expect((await settings(owner, null)).data).toEqual({ updateOrganizationSettings: { apiTokenMaxLifetimeDays: null } });
    expect((await create(owner)).data.createApiToken.token.expiresAt).toBeNull();
  });

  it('refuses an out-of-range maximum and lets only ADMINs change it', async () => {
    const { token: owner } = await api.bootstrapOrgWithId('lifetime-limits');
    for (const days of [0, -1, 3651]) {
      expect(codeOf(await settings(owner, days))).toEqual({ status: 200, code: 'BAD_USER_INPUT', field: 'apiTokenMaxLifetimeDays' });
    }
    const editor = await api.createToken(owner, 'EDITOR');
    expect(codeOf(await settings(editor, 7))).toEqual({ status: 200, code: 'FORBIDDEN' });
    expect((await api.gqlOk(owner, '{ viewer { organization { apiTokenMaxLifetimeDays } } }')).viewer.organization.apiTokenMaxLifetimeDays).toBeNull();
  });
});

describe('agent protocol body limits per route', () => {
  const post = (path: string, bytes: number) =>
    fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ padding: 'x'.repeat(bytes) }) });

  it('refuses an anonymous register body beyond the small limit with PAYLOAD_TOO_LARGE naming that limit', async () => {
    const res = await post(AgentPaths.register, AgentProtocolLimits.maxSmallBodyBytes + 1);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining(String(AgentProtocolLimits.maxSmallBodyBytes)) }),
    });
    // A body within the limit is read and judged on its content.
    expect((await post(AgentPaths.register, 1024)).status).toBe(400);
  });

  it('still reads a large reports body (an inventory snapshot) up to its own limit', async () => {
    const res = await post(AgentPaths.reports, 1024 * 1024);
    expect(res.status).not.toBe(413);
  });
});

describe('DataLoaders', () => {
  it("scope cluster inventory to the caller's organization like every other loader", async () => {
    const { organizationId: otherOrg } = await api.bootstrapOrgWithId('loader-other');
    const [cluster] = await api.prisma.cluster.findMany({ where: { organizationId: orgId }, take: 1 });
    await api.prisma.clusterInventory.create({ data: { clusterId: cluster.id, snapshot: makeInventory() as never, reportedAt: new Date() } });
    const factory = api.app.get(InventoryLoaderFactory);
    expect(await factory.create(() => orgId).inventoryByCluster.load(cluster.id)).toEqual(
      expect.objectContaining({ snapshot: expect.objectContaining({ nodes: expect.any(Array) }) }),
    );
    expect(await factory.create(() => otherOrg).inventoryByCluster.load(cluster.id)).toBeNull();
  });
});
