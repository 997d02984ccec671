// Every way a request can go wrong answers with a stable code (extensions.code) and a sentence a person
// can act on, never with a stack trace, SQL or other internals; and a refused or failed write leaves
// nothing half-written behind.
import { getIntrospectionQuery } from 'graphql';
import { randomBytes, randomUUID } from 'node:crypto';
import { type GqlError, type GqlResponse, startApi, type TestApi } from '../support/api';
import { ApiFactory, type ClusterRecord, type GroupRecord, type NamespaceRecord, type SiteRecord, type WorkspaceRecord } from '../support/factories';
import { orgRows } from '../support/org-snapshot';

const LIMITS = { GRAPHQL_MAX_DEPTH: '6', GRAPHQL_MAX_COST: '1000', BODY_LIMIT_BYTES: '32768' };

let api: TestApi;
let admin: string;
let editor: string;
let viewer: string;
let orgId: string;
let make: ApiFactory;
/** Objects of this organization. */
let site: SiteRecord;
let group: GroupRecord;
let cluster: ClusterRecord;
let workspace: WorkspaceRecord;
let namespace: NamespaceRecord;
/** Objects of another organization, one per kind. */
let other: Record<'site' | 'group' | 'cluster' | 'workspace' | 'namespace' | 'token' | 'operation', string>;

beforeAll(async () => {
  api = await startApi(LIMITS);
  ({ token: admin, organizationId: orgId } = await api.bootstrapOrgWithId('errors-org'));
  editor = await api.createToken(admin, 'EDITOR', 'the-editor');
  viewer = await api.createToken(admin, 'VIEWER', 'the-viewer');
  make = new ApiFactory(api, admin);
  site = await make.site().named('site-main').create();
  group = await make.group().named('group-main').create();
  cluster = await make.cluster().named('cluster-main').in(group).at(site).create();
  workspace = await make.workspace().named('workspace-main').create();
  namespace = await make.namespace().named('ns-main').on(cluster).in(workspace).create();

  const otherAdmin = await api.bootstrapOrg('other-org');
  const makeOther = new ApiFactory(api, otherAdmin, 'other');
  const otherCluster = await makeOther
    .cluster()
    .at(await makeOther.site().create())
    .create();
  const otherNamespace = await makeOther.namespace().on(otherCluster).create();
  const otherToken = await api.prisma.apiToken.findFirstOrThrow({ where: { name: 'bootstrap-admin', organization: { name: 'other-org' } } });
  const otherOperation = await api.prisma.clusterOperation.create({
    data: { organizationId: otherToken.organizationId, clusterId: otherCluster.id, kind: 'ATTACH', createdBy: 'test:errors' },
  });
  other = {
    site: otherCluster.site!.id,
    group: otherCluster.group.id,
    cluster: otherCluster.id,
    workspace: otherNamespace.workspace.id,
    namespace: otherNamespace.id,
    token: otherToken.id,
    operation: otherOperation.id,
  };
}, 60_000);

afterAll(async () => {
  await api?.close();
});

// ---- What every error must look like -----------------------------------------------------------------

const INTERNALS = [
  /\n\s+at /,
  /\.[tj]s:\d+/,
  /node_modules/,
  /prisma/i,
  /\b(SELECT|INSERT|UPDATE|DELETE)\b/,
  /constraint/i,
  /violat/i,
  /postgres/i,
  /stack/i,
  /\[object /,
  /undefined/,
  /^Error:/,
];
// path: where inside a structured input (a kubeconfig) the refused field is, e.g. kubeconfig.users[0].user.exec.
const SAFE_EXTENSIONS = ['code', 'field', 'kind', 'id', 'path'];

/** Asserts the response is exactly one error with `code`, a human message and nothing internal. */
function expectError(res: GqlResponse, code: string, opts: { status?: number; field?: string; message?: RegExp } = {}): GqlError {
  expect({ status: res.status, codes: (res.errors ?? []).map((e) => e.extensions?.code) }).toEqual({ status: opts.status ?? 200, codes: [code] });
  const [error] = res.errors!;
  expect(typeof error.message).toBe('string');
  expect(error.message.length).toBeGreaterThan(15);
  for (const pattern of INTERNALS) {
    expect({ message: error.message, matches: pattern.test(error.message) }).toEqual({ message: error.message, matches: false });
  }
  expect(Object.keys(error.extensions ?? {}).filter((k) => !SAFE_EXTENSIONS.includes(k))).toEqual([]);
  expect(JSON.stringify(res.body)).not.toMatch(/stacktrace|exception/i);
  if (opts.field) {
    expect(error.extensions?.field).toBe(opts.field);
  }
  if (opts.message) {
    expect(error.message).toMatch(opts.message);
  }
  // Nothing half-answered: the failing field is null (or, before execution, there is no data at all).
  const data = res.body.data as Record<string, unknown> | null | undefined;
  if (data) {
    for (const value of Object.values(data)) {
      expect(value).toBeNull();
    }
  }
  return error;
}

type Fixture = () => { token?: string; query: string; variables?: Record<string, unknown> };

const createSite =
  (input: Record<string, unknown>): Fixture =>
  () => ({
    query: 'mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }',
    variables: { input: { name: `s-${randomBytes(3).toString('hex')}`, tier: 'FAR_EDGE', region: 'eu', ...input } },
  });
const updateSite =
  (input: Record<string, unknown>): Fixture =>
  () => ({ query: 'mutation($id: ID!, $input: UpdateSiteInput!) { updateSite(id: $id, input: $input) { id } }', variables: { id: site.id, input } });
const clusters =
  (args: string, variables?: Record<string, unknown>): Fixture =>
  () => ({
    query: `query${
      variables
        ? `(${Object.keys(variables)
            .map((k) => `$${k}: ${k === 'labels' ? 'Labels' : 'String'}`)
            .join(', ')})`
        : ''
    } { clusters${args} { totalCount } }`,
    variables,
  });
const run = async (fixture: Fixture) => {
  const { token = admin, query, variables } = fixture();
  return api.gql(token, query, variables);
};

// ---- BAD_USER_INPUT ----------------------------------------------------------------------------------

describe('BAD_USER_INPUT', () => {
  const cases: [string, Fixture, string?][] = [
    // Names are DNS labels.
    ['site name with an underscore', createSite({ name: 'bad_name' }), 'name'],
    ['site name in capitals', createSite({ name: 'Berlin' }), 'name'],
    ['site name starting with a dash', createSite({ name: '-berlin' }), 'name'],
    ['site name of 64 characters', createSite({ name: 'a'.repeat(64) }), 'name'],
    ['empty site name', createSite({ name: '' }), 'name'],
    ['renaming a site to an invalid name', updateSite({ name: 'no spaces' }), 'name'],
    ['group name with a space', () => ({ query: 'mutation { createClusterGroup(input: { name: "pos tills" }) { id } }' }), 'name'],
    ['cluster name with a dot', () => ({ query: 'mutation($g: ID!) { createCluster(input: { name: "edge.01", groupId: $g }) { id } }', variables: { g: group.id } }), 'name'],
    ['workspace name with a slash', () => ({ query: 'mutation { createWorkspace(input: { name: "team/a" }) { id } }' }), 'name'],
    [
      'namespace name in capitals',
      () => ({
        query: 'mutation($c: ID!, $w: ID!) { createNamespace(input: { name: "Payments", clusterId: $c, workspaceId: $w }) { id } }',
        variables: { c: cluster.id, w: workspace.id },
      }),
      'name',
    ],
    ['API token name with a symbol', () => ({ query: 'mutation { createApiToken(input: { name: "ci$bot", role: VIEWER }) { secret } }' }), 'name'],
    [
      'API token expiring in the past',
      () => ({ query: 'mutation($at: DateTime) { createApiToken(input: { name: "ci", role: VIEWER, expiresAt: $at }) { secret } }', variables: { at: '2020-01-01T00:00:00Z' } }),
      'expiresAt',
    ],
    ['blank region', createSite({ region: '   ' }), 'region'],
    [
      'description of 257 characters',
      () => ({ query: 'mutation($d: String) { createClusterGroup(input: { name: "long-description", description: $d }) { id } }', variables: { d: 'x'.repeat(257) } }),
      'description',
    ],
    // Coordinates.
    ['latitude without longitude', createSite({ latitude: 52.5 }), 'latitude'],
    ['latitude above 90', createSite({ latitude: 90.5, longitude: 13.4 }), 'latitude'],
    ['longitude below -180', createSite({ latitude: 52.5, longitude: -180.5 }), 'longitude'],
    ['updating only the latitude of a site without coordinates', updateSite({ latitude: 10 }), 'latitude'],
    // Connectivity intervals.
    ['heartbeat every 4 s', createSite({ connectivity: { mode: 'ALWAYS_ON', heartbeatIntervalSeconds: 4 } }), 'connectivity.heartbeatIntervalSeconds'],
    ['heartbeat every 86401 s', createSite({ connectivity: { mode: 'SCHEDULED', heartbeatIntervalSeconds: 86_401 } }), 'connectivity.heartbeatIntervalSeconds'],
    [
      'grace shorter than two heartbeats',
      createSite({ connectivity: { mode: 'INTERMITTENT', heartbeatIntervalSeconds: 60, disconnectGraceSeconds: 100 } }),
      'connectivity.disconnectGraceSeconds',
    ],
    ['grace longer than 30 days', createSite({ connectivity: { mode: 'SCHEDULED', disconnectGraceSeconds: 30 * 86_400 + 1 } }), 'connectivity.disconnectGraceSeconds'],
    ['bad intervals on update', updateSite({ connectivity: { mode: 'ALWAYS_ON', heartbeatIntervalSeconds: 3 } }), 'connectivity.heartbeatIntervalSeconds'],
    // Label selectors, on every list that takes one.
    ['"in" without parentheses', clusters('(filter: { labelSelector: $s })', { s: 'env in prod' }), 'labelSelector'],
    ['"in" with an empty set', clusters('(filter: { labelSelector: $s })', { s: 'env in ()' }), 'labelSelector'],
    ['unclosed parenthesis', clusters('(filter: { labelSelector: $s })', { s: 'env in (prod,stage' }), 'labelSelector'],
    ['unmatched parenthesis', clusters('(filter: { labelSelector: $s })', { s: 'env)' }), 'labelSelector'],
    ['empty term', clusters('(filter: { labelSelector: $s })', { s: 'tier=edge,,env=prod' }), 'labelSelector'],
    ['double "!"', clusters('(filter: { labelSelector: $s })', { s: '!!canary' }), 'labelSelector'],
    ['selector key with a space', clusters('(filter: { labelSelector: $s })', { s: 'bad key=x' }), 'labelSelector'],
    ['selector value of 64 characters', clusters('(filter: { labelSelector: $s })', { s: `tier=${'v'.repeat(64)}` }), 'labelSelector'],
    ['bad selector on sites', () => ({ query: 'query { sites(filter: { labelSelector: "a=b=c" }) { totalCount } }' }), 'labelSelector'],
    ['bad selector on cluster groups', () => ({ query: 'query { clusterGroups(labelSelector: "x in y") { totalCount } }' }), 'labelSelector'],
    ['bad selector on workspaces', () => ({ query: 'query { workspaces(labelSelector: "(") { totalCount } }' }), 'labelSelector'],
    ['bad selector on namespaces', () => ({ query: 'query { namespaces(labelSelector: "a,,b") { totalCount } }' }), 'labelSelector'],
    // Pagination.
    ['a cursor that is not one', clusters('(after: "bm90LWEtY3Vyc29y")'), 'after'],
    [
      'a cursor of another ordering',
      () => ({
        query: 'query($after: String) { clusters(after: $after, orderBy: { field: NODE_COUNT }) { totalCount } }',
        variables: { after: Buffer.from(JSON.stringify(['NAME', 'x', randomUUID()])).toString('base64url') },
      }),
      'after',
    ],
    [
      'a cursor with a bad id',
      () => ({
        query: 'query($after: String) { sites(after: $after) { totalCount } }',
        variables: { after: Buffer.from(JSON.stringify(['NAME', 'x', 'not-an-id'])).toString('base64url') },
      }),
      'after',
    ],
    ['first: 0', clusters('(first: 0)'), 'first'],
    ['first: 101', clusters('(first: 101)'), 'first'],
    ['first: -1 on events', () => ({ query: 'query { events(first: -1) { totalCount } }' }), 'first'],
    ['first: 101 on namespaces', () => ({ query: 'query { namespaces(first: 101) { totalCount } }' }), 'first'],
    // Id filters must be ids.
    ['malformed siteId filter', clusters('(filter: { siteId: "berlin" })'), 'siteId'],
    ['malformed groupId filter', clusters('(filter: { groupId: "42" })'), 'groupId'],
    ['malformed clusterId filter', () => ({ query: 'query { namespaces(clusterId: "abc") { totalCount } }' }), 'clusterId'],
    ['malformed workspaceId filter', () => ({ query: 'query { namespaces(workspaceId: "abc") { totalCount } }' }), 'workspaceId'],
    ['malformed objectId filter', () => ({ query: 'query { events(objectId: "abc") { totalCount } }' }), 'objectId'],
    // Other inputs.
    ['moving a cluster nowhere', () => ({ query: 'mutation($id: ID!) { moveCluster(id: $id, input: {}) { id } }', variables: { id: cluster.id } }), 'groupId'],
    [
      'a registration link valid for 0 hours',
      () => ({ query: 'mutation($g: ID!) { attachCluster(input: { name: "ttl-zero", groupId: $g, registrationTokenTtlHours: 0 }) { expiresAt } }', variables: { g: group.id } }),
      'registrationTokenTtlHours',
    ],
    [
      'a kubeconfig that is not one',
      () => ({
        query: 'mutation($g: ID!) { attachClusterWithKubeconfig(input: { name: "bad-kubeconfig", groupId: $g, kubeconfig: "hello: [" }) { cluster { id } } }',
        variables: { g: group.id },
      }),
      'kubeconfig',
    ],
  ];

  it.each(cases)('%s', async (_name, fixture, field) => {
    const before = await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] });
    expectError(await run(fixture), 'BAD_USER_INPUT', { field });
    expect(await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] })).toEqual(before);
  });

  // Labels are checked by the Labels scalar while variables are coerced, before any resolver runs.
  const badLabels: [string, unknown][] = [
    ['a key with a space', { 'bad key': 'x' }],
    ['a key with an invalid prefix', { 'Example.COM/tier': 'x' }],
    ['a key of 64 characters', { ['k'.repeat(64)]: 'x' }],
    ['a value with a space', { tier: 'far edge' }],
    ['a value of 64 characters', { tier: 'v'.repeat(64) }],
    ['a number value', { replicas: 3 }],
    ['an array', ['tier=edge']],
    ['65 labels', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']))],
  ];

  it.each(badLabels)('labels with %s (as a variable) are BAD_USER_INPUT with HTTP 400', async (_name, labels) => {
    const res = await api.gql(admin, 'mutation($labels: Labels) { createClusterGroup(input: { name: "labelled", labels: $labels }) { id } }', { labels });
    expectError(res, 'BAD_USER_INPUT', { status: 400, message: /label/i });
    expect(await api.prisma.clusterGroup.count({ where: { organizationId: orgId, name: 'labelled' } })).toBe(0);
  });

  it.each(badLabels.slice(0, 5))('labels with %s are refused the same way when updating', async (_name, labels) => {
    const res = await api.gql(admin, 'mutation($id: ID!, $labels: Labels) { updateCluster(id: $id, input: { labels: $labels }) { id } }', { id: cluster.id, labels });
    expectError(res, 'BAD_USER_INPUT', { status: 400, message: /label/i });
  });

  it('labels written inline in the document are a validation error (GRAPHQL_VALIDATION_FAILED, HTTP 400) with the same explanation', async () => {
    const res = await api.gql(admin, 'mutation { createClusterGroup(input: { name: "inline", labels: { tier: 7 } }) { id } }');
    expectError(res, 'GRAPHQL_VALIDATION_FAILED', { status: 400, message: /Labels must be an object of string keys to string values/ });
  });

  it('a variable of the wrong type is BAD_USER_INPUT with HTTP 400, not a server error', async () => {
    expectError(await api.gql(admin, 'query($n: Int) { clusters(first: $n) { totalCount } }', { n: 'ten' }), 'BAD_USER_INPUT', { status: 400 });
  });

  it('the same inputs, valid, are accepted (so the cases above fail for the reason they name)', async () => {
    const ok = await api.gql(admin, 'mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }', {
      input: {
        name: 'valid-site',
        tier: 'FAR_EDGE',
        region: 'eu',
        latitude: 90,
        longitude: -180,
        connectivity: { mode: 'INTERMITTENT', heartbeatIntervalSeconds: 60, disconnectGraceSeconds: 120 },
        labels: { 'example.com/tier': 'edge', ['k'.repeat(63)]: 'v'.repeat(63), empty: '' },
      },
    });
    expect(ok.errors).toBeUndefined();
    const list = await api.gql(admin, 'query { clusters(first: 100, filter: { labelSelector: "env in (prod),!canary,tier" }) { totalCount } }');
    expect(list.errors).toBeUndefined();
  });
});

// ---- NOT_FOUND ----------------------------------------------------------------------------------------

describe('NOT_FOUND', () => {
  const singular: [string, string, () => string][] = [
    ['site', 'site(id: $id) { id }', () => other.site],
    ['clusterGroup', 'clusterGroup(id: $id) { id }', () => other.group],
    ['cluster', 'cluster(id: $id) { id }', () => other.cluster],
    ['workspace', 'workspace(id: $id) { id }', () => other.workspace],
    ['namespace', 'namespace(id: $id) { id }', () => other.namespace],
    ['clusterOperation', 'clusterOperation(id: $id) { id }', () => other.operation],
  ];
  const mutations: [string, string, () => string][] = [
    ['updateSite', 'updateSite(id: $id, input: { region: "x" }) { id }', () => other.site],
    ['deleteSite', 'deleteSite(id: $id) { id }', () => other.site],
    ['updateClusterGroup', 'updateClusterGroup(id: $id, input: { description: "x" }) { id }', () => other.group],
    ['deleteClusterGroup', 'deleteClusterGroup(id: $id) { id }', () => other.group],
    ['updateCluster', 'updateCluster(id: $id, input: { description: "x" }) { id }', () => other.cluster],
    ['deleteCluster', 'deleteCluster(id: $id) { id }', () => other.cluster],
    ['updateWorkspace', 'updateWorkspace(id: $id, input: { description: "x" }) { id }', () => other.workspace],
    ['deleteWorkspace', 'deleteWorkspace(id: $id) { id }', () => other.workspace],
    ['deleteNamespace', 'deleteNamespace(id: $id) { id }', () => other.namespace],
    ['revokeApiToken', 'revokeApiToken(id: $id) { id }', () => other.token],
    ['detachCluster', 'detachCluster(id: $id) { id }', () => other.cluster],
  ];

  describe.each([...singular.map((c) => ['query', ...c] as const), ...mutations.map((c) => ['mutation', ...c] as const)])('%s %s', (kind, name, selection, otherId) => {
    const ask = (id: string) => api.gql(admin, `${kind}($id: ID!) { ${selection} }`, { id });

    it("with an unknown id, a malformed id and another organization's id answers the same NOT_FOUND", async () => {
      const unknown = randomUUID();
      const notFound = (id: string) => new RegExp(`${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist or you cannot see it`);
      const a = expectError(await ask(unknown), 'NOT_FOUND', { message: notFound(unknown) });
      const b = expectError(await ask('not-a-uuid'), 'NOT_FOUND', { message: notFound('not-a-uuid') });
      const c = expectError(await ask(otherId()), 'NOT_FOUND', { message: notFound(otherId()) });
      // Identical but for the id: another tenant's object is indistinguishable from none.
      expect([b.message.replace('not-a-uuid', '<id>'), c.message.replace(otherId(), '<id>')]).toEqual([a.message.replace(unknown, '<id>'), a.message.replace(unknown, '<id>')]);
    });
  });

  it('references to unknown or foreign objects inside inputs are NOT_FOUND too, naming the kind', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['mutation($v: CreateClusterInput!) { createCluster(input: $v) { id } }', { name: 'ref-1', groupId: other.group }, 'ClusterGroup'],
      ['mutation($v: CreateClusterInput!) { createCluster(input: $v) { id } }', { name: 'ref-2', groupId: group.id, siteId: other.site }, 'Site'],
      ['mutation($v: CreateNamespaceInput!) { createNamespace(input: $v) { id } }', { name: 'ref-3', clusterId: randomUUID(), workspaceId: workspace.id }, 'Cluster'],
      ['mutation($v: CreateNamespaceInput!) { createNamespace(input: $v) { id } }', { name: 'ref-4', clusterId: cluster.id, workspaceId: other.workspace }, 'Workspace'],
      ['mutation($v: AttachClusterInput!) { attachCluster(input: $v) { expiresAt } }', { name: 'ref-5', groupId: 'nope' }, 'ClusterGroup'],
    ];
    for (const [query, v, kind] of cases) {
      const error = expectError(await api.gql(admin, query, { v }), 'NOT_FOUND');
      expect(error.extensions?.kind).toBe(kind);
    }
    expect(await api.prisma.cluster.count({ where: { organizationId: orgId, name: { startsWith: 'ref-' } } })).toBe(0);
    expect(await api.prisma.namespace.count({ where: { organizationId: orgId, name: { startsWith: 'ref-' } } })).toBe(0);
  });
});

// ---- CONFLICT -----------------------------------------------------------------------------------------

describe('CONFLICT', () => {
  const events = (where: Record<string, unknown>) => api.prisma.event.count({ where: { organizationId: orgId, ...where } });

  it.each([
    ['site', 'mutation { createSite(input: { name: "site-main", tier: CORE, region: "eu" }) { id } }', 'site', 'SiteCreated'],
    ['cluster group', 'mutation { createClusterGroup(input: { name: "group-main" }) { id } }', 'clusterGroup', 'ClusterGroupCreated'],
    ['workspace', 'mutation { createWorkspace(input: { name: "workspace-main" }) { id } }', 'workspace', 'WorkspaceCreated'],
  ] as const)('a second %s with the same name is refused, leaving one object and one creation Event', async (_kind, mutation, model, eventType) => {
    const name = mutation.match(/name: "([^"]+)"/)![1];
    const eventsBefore = await events({ type: eventType });
    expectError(await api.gql(editor, mutation), 'CONFLICT', { field: 'name', message: new RegExp(`named ${name} already exists`) });
    expect(await (api.prisma[model] as unknown as { count(a: unknown): Promise<number> }).count({ where: { organizationId: orgId, name } })).toBe(1);
    expect(await events({ type: eventType })).toBe(eventsBefore);
  });

  it('a second cluster with the same name is refused, even in another group, leaving no trace', async () => {
    const otherGroup = await make.group().create();
    const eventsBefore = await events({});
    const before = await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] });
    expectError(await api.gql(editor, 'mutation($g: ID!) { createCluster(input: { name: "cluster-main", groupId: $g }) { id } }', { g: otherGroup.id }), 'CONFLICT', {
      field: 'name',
    });
    expectError(await api.gql(editor, 'mutation($g: ID!) { attachCluster(input: { name: "cluster-main", groupId: $g }) { expiresAt } }', { g: otherGroup.id }), 'CONFLICT', {
      field: 'name',
    });
    expect(await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] })).toEqual(before);
    expect(await events({})).toBe(eventsBefore);
  });

  it('a namespace name is unique per cluster: the same name on the same cluster is refused, on another cluster accepted', async () => {
    const eventsBefore = await events({ type: 'NamespaceCreated' });
    const create = (clusterId: string) =>
      api.gql(editor, 'mutation($c: ID!, $w: ID!) { createNamespace(input: { name: "ns-main", clusterId: $c, workspaceId: $w }) { id } }', { c: clusterId, w: workspace.id });
    expectError(await create(cluster.id), 'CONFLICT', { field: 'name', message: /cluster-main already has a namespace named ns-main/ });
    expect(await events({ type: 'NamespaceCreated' })).toBe(eventsBefore);
    const second = await make.cluster().in(group).create();
    expect((await create(second.id)).errors).toBeUndefined();
    expect(await api.prisma.namespace.count({ where: { organizationId: orgId, name: 'ns-main' } })).toBe(2);
  });

  it.each([
    ['site', 'updateSite', () => make.site().create()],
    ['cluster group', 'updateClusterGroup', () => make.group().create()],
    ['cluster', 'updateCluster', () => make.cluster().in(group).create()],
    ['workspace', 'updateWorkspace', () => make.workspace().create()],
  ] as const)('renaming a %s to a taken name is refused and changes nothing', async (kind, mutation, create) => {
    const taken = { site: 'site-main', 'cluster group': 'group-main', cluster: 'cluster-main', workspace: 'workspace-main' }[kind];
    const object = await create();
    const before = await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] });
    expectError(await api.gql(editor, `mutation($id: ID!) { ${mutation}(id: $id, input: { name: "${taken}" }) { id } }`, { id: object.id }), 'CONFLICT', { field: 'name' });
    expect(await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] })).toEqual(before);
  });

  it.each([
    ['a site that still has clusters', 'deleteSite', () => site.id, /still has 1 cluster/],
    ['a group that still has clusters', 'deleteClusterGroup', () => group.id, /still has \d+ cluster/],
    ['a workspace that still has namespaces', 'deleteWorkspace', () => workspace.id, /still has \d+ namespace/],
  ])('deleting %s is refused and deletes nothing', async (_what, mutation, id, message) => {
    const before = await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] });
    expectError(await api.gql(editor, `mutation($id: ID!) { ${mutation}(id: $id) { id } }`, { id: id() }), 'CONFLICT', { message });
    expect(await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] })).toEqual(before);
  });

  it.each(['ATTACHING', 'ATTACHED', 'READY', 'DETACHING'] as const)('deleting a cluster that is %s (an agent may be running) is refused', async (phase) => {
    const victim = await make.cluster().in(group).create();
    await api.prisma.cluster.update({ where: { id: victim.id }, data: { phase } });
    const before = await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] });
    expectError(await api.gql(editor, 'mutation($id: ID!) { deleteCluster(id: $id) { id } }', { id: victim.id }), 'CONFLICT', { message: new RegExp(`is ${phase}; detach it`) });
    expect(await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] })).toEqual(before);
  });

  it.each(['PENDING', 'DETACHED', 'ERROR'] as const)('deleting a cluster that is %s is allowed (the refusals above are about the phase)', async (phase) => {
    const victim = await make.cluster().in(group).create();
    await api.prisma.cluster.update({ where: { id: victim.id }, data: { phase } });
    expect((await api.gql(editor, 'mutation($id: ID!) { deleteCluster(id: $id) { id } }', { id: victim.id })).errors).toBeUndefined();
  });

  it('a new registration link for a cluster whose agent has registered is refused', async () => {
    const ready = await make.cluster().in(group).create();
    await api.prisma.cluster.update({ where: { id: ready.id }, data: { phase: 'READY' } });
    expectError(await api.gql(editor, 'mutation($id: ID!) { reissueRegistrationLink(clusterId: $id) { expiresAt } }', { id: ready.id }), 'CONFLICT', { message: /is READY/ });
    expect(await api.prisma.registrationToken.count({ where: { clusterId: ready.id } })).toBe(0);
  });
});

// ---- FORBIDDEN, UNAUTHENTICATED -----------------------------------------------------------------------

describe('FORBIDDEN', () => {
  it('a VIEWER changing inventory is refused, naming the role needed', async () => {
    expectError(await api.gql(viewer, 'mutation { createWorkspace(input: { name: "by-viewer" }) { id } }'), 'FORBIDDEN', {
      message: /needs the EDITOR role; your token has VIEWER/,
    });
    expectError(await api.gql(viewer, 'mutation($id: ID!) { deleteNamespace(id: $id) { id } }', { id: namespace.id }), 'FORBIDDEN');
    expect(await api.prisma.workspace.count({ where: { name: 'by-viewer' } })).toBe(0);
    expect(await api.prisma.namespace.count({ where: { id: namespace.id } })).toBe(1);
  });

  it('an EDITOR managing API tokens is refused', async () => {
    const before = await api.prisma.apiToken.findMany({ where: { organizationId: orgId }, orderBy: { id: 'asc' }, select: { id: true, revokedAt: true } });
    expectError(await api.gql(editor, 'query { apiTokens { id } }'), 'FORBIDDEN', { message: /needs the ADMIN role; your token has EDITOR/ });
    expectError(await api.gql(editor, 'mutation { createApiToken(input: { name: "sneaky", role: ADMIN }) { secret } }'), 'FORBIDDEN');
    expectError(await api.gql(editor, 'mutation($id: ID!) { revokeApiToken(id: $id) { id } }', { id: before[0].id }), 'FORBIDDEN');
    expect(await api.prisma.apiToken.findMany({ where: { organizationId: orgId }, orderBy: { id: 'asc' }, select: { id: true, revokedAt: true } })).toEqual(before);
  });
});

describe('UNAUTHENTICATED', () => {
  const viewerQuery = 'query { viewer { role } }';

  it('no Authorization header says how to send a token', async () => {
    expectError(await api.gql(undefined, viewerQuery), 'UNAUTHENTICATED', { message: /Authorization: Bearer/ });
  });

  it('something that is not a Farpoint token, or another scheme, is refused', async () => {
    expectError(await api.gql('eyJhbGciOiJIUzI1NiJ9.e30.x', viewerQuery), 'UNAUTHENTICATED', { message: /not a Farpoint API token/ });
    expectError(await api.gql(undefined, viewerQuery, {}, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), 'UNAUTHENTICATED');
  });

  it('a well-formed token nobody issued is refused', async () => {
    expectError(await api.gql(`fpt_${randomBytes(32).toString('base64url')}`, viewerQuery), 'UNAUTHENTICATED', { message: /not valid/ });
  });

  it('a revoked token is refused as revoked', async () => {
    const secret = await api.createToken(admin, 'VIEWER', 'to-revoke');
    expect((await api.gql(secret, viewerQuery)).errors).toBeUndefined();
    const { id } = await api.prisma.apiToken.findFirstOrThrow({ where: { organizationId: orgId, name: 'to-revoke' } });
    await api.gqlOk(admin, 'mutation($id: ID!) { revokeApiToken(id: $id) { id } }', { id });
    expectError(await api.gql(secret, viewerQuery), 'UNAUTHENTICATED', { message: /revoked/ });
  });

  it('an expired token is refused as expired', async () => {
    const secret = await api.createToken(admin, 'VIEWER', 'to-expire');
    expect((await api.gql(secret, viewerQuery)).errors).toBeUndefined();
    await api.prisma.apiToken.updateMany({ where: { organizationId: orgId, name: 'to-expire' }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expectError(await api.gql(secret, viewerQuery), 'UNAUTHENTICATED', { message: /expired/ });
  });
});

// ---- Limits ---------------------------------------------------------------------------------------------

describe('QUERY_TOO_COMPLEX and the body limit', () => {
  it(`refuses a query deeper than GRAPHQL_MAX_DEPTH (${LIMITS.GRAPHQL_MAX_DEPTH}) before running it, with HTTP 400`, async () => {
    // namespaces(1) edges(2) node(3) cluster(4) site(5) connectivity(6) mode(7)
    expect((await api.gql(admin, 'query { namespaces { edges { node { cluster { site { name } } } } } }')).errors).toBeUndefined(); // depth 6: at the limit
    const error = expectError(await api.gql(admin, 'query { namespaces { edges { node { cluster { site { connectivity { mode } } } } } } }'), 'QUERY_TOO_COMPLEX', {
      status: 400,
      message: /7 levels deep; the limit is 6/,
    });
    expect(error.message).toMatch(/less nesting/);
    // Fragments do not hide depth.
    const viaFragment =
      'query { ...Deep } fragment Deep on Query { namespaces { edges { node { ...Deeper } } } } fragment Deeper on Namespace { cluster { site { connectivity { mode } } } }';
    expectError(await api.gql(admin, viaFragment), 'QUERY_TOO_COMPLEX', { status: 400 });
  });

  it('answers the standard introspection query of GraphiQL, Postman and graphql-codegen whatever the depth and cost limits', async () => {
    // getIntrospectionQuery() is 15 levels deep and would cost thousands; it is bounded by the schema.
    for (const options of [{}, { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }]) {
      const res = await api.gql(admin, getIntrospectionQuery(options));
      expect(res.errors).toBeUndefined();
      expect(res.data.__schema.types.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['Cluster', 'Site', 'Query', 'Mutation']));
    }
    // Introspection cannot smuggle data past the limits: the data part is still measured.
    expectError(
      await api.gql(admin, 'query { __schema { queryType { name } } namespaces { edges { node { cluster { site { connectivity { mode } } } } } } }'),
      'QUERY_TOO_COMPLEX',
      { status: 400, message: /7 levels deep/ },
    );
  });

  it('refuses introspection that nests schema lists in cycles to multiply its answer (fields → type → fields → …)', async () => {
    const cyclic = 'query { __schema { types { fields { type { fields { type { fields { name } } } } } } } }';
    const res = await api.gql(admin, cyclic);
    expect({ status: res.status, codes: res.errors?.map((e) => e.extensions?.code) }).toEqual({ status: 400, codes: ['GRAPHQL_VALIDATION_FAILED'] });
    // Long ofType chains grow the answer linearly and are answered.
    expect((await api.gql(admin, `query { __type(name: "Cluster") { fields { type { ${'ofType { '.repeat(12)}name${' }'.repeat(12)} } } } }`)).errors).toBeUndefined();
  });

  it(`refuses a query costlier than GRAPHQL_MAX_COST (${LIMITS.GRAPHQL_MAX_COST}), counting page sizes, with HTTP 400`, async () => {
    // Each edge costs 12 (edges 1 + node 1 + 10 fields); a page of n costs 1 + 12n.
    const page = (first: number) => `query { clusters(first: ${first}) { edges { node { id name labels distribution phase health nodeCount createdAt updatedAt description } } } }`;
    expect((await api.gql(admin, page(80))).errors).toBeUndefined(); // 961
    expectError(await api.gql(admin, page(90)), 'QUERY_TOO_COMPLEX', { status: 400, message: /would cost 1081; the limit is 1000/ });
    // The same page size through a variable costs the same.
    expectError(
      await api.gql(admin, 'query($n: Int) { clusters(first: $n) { edges { node { id name labels distribution phase health nodeCount createdAt updatedAt description } } } }', {
        n: 90,
      }),
      'QUERY_TOO_COMPLEX',
      { status: 400 },
    );
  });

  it(`answers HTTP 413 to a body larger than BODY_LIMIT_BYTES (${LIMITS.BODY_LIMIT_BYTES}), without internals`, async () => {
    const post = (padding: number) =>
      fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ query: `query { viewer { role } } # ${'x'.repeat(padding)}` }),
      });
    const fits = await post(30_000);
    expect(fits.status).toBe(200);
    expect(await fits.json()).toEqual({ data: { viewer: { role: 'ADMIN' } } });
    const tooLarge = await post(40_000);
    expect(tooLarge.status).toBe(413);
    const text = await tooLarge.text();
    expect(text).not.toMatch(/\n\s+at |node_modules|\.js:\d+/);
  });
});

// ---- Internal errors and atomic writes ---------------------------------------------------------------

describe('INTERNAL_SERVER_ERROR and nothing half-written', () => {
  it('a write whose second statement fails in Postgres is rolled back whole and answered with a generic INTERNAL_SERVER_ERROR', async () => {
    // A real failure of the database, confined to this test's own database and to one site name:
    // Postgres refuses the Event insert that createSite makes after inserting the Site row.
    await api.prisma.$executeRawUnsafe(`ALTER TABLE "Event" ADD CONSTRAINT errors_test_refuse_event CHECK (message NOT LIKE '%doomed-site%')`);
    try {
      const before = await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] });
      const res = await api.gql(editor, 'mutation { createSite(input: { name: "doomed-site", tier: CORE, region: "eu" }) { id name } }');
      const error = expectError(res, 'INTERNAL_SERVER_ERROR', { message: /^Something went wrong on our side\. It has been logged; please try again\.$/ });
      expect(JSON.stringify(res.body)).not.toMatch(/errors_test_refuse_event|Event|check/i);
      expect(error.path).toEqual(['createSite']);
      // No Site without its Event: the transaction took the first insert back too.
      expect(await orgRows(api.prisma, orgId, { ignoreColumns: ['ApiToken.lastUsedAt'] })).toEqual(before);
      expect(await api.prisma.site.count({ where: { name: 'doomed-site' } })).toBe(0);
    } finally {
      await api.prisma.$executeRawUnsafe('ALTER TABLE "Event" DROP CONSTRAINT errors_test_refuse_event');
    }
    // With the database healthy again, the same request works (the failure above was the database's).
    expect((await api.gql(editor, 'mutation { createSite(input: { name: "doomed-site", tier: CORE, region: "eu" }) { id } }')).errors).toBeUndefined();
    expect(await api.prisma.event.count({ where: { organizationId: orgId, type: 'SiteCreated', message: { contains: 'doomed-site' } } })).toBe(1);
  });

  it("moving a cluster into another organization's group or site leaves the cluster exactly as it was, with no Event", async () => {
    const row = () => api.prisma.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    const before = await row();
    const moved = await api.prisma.event.count({ where: { objectId: cluster.id, type: 'ClusterMoved' } });
    expectError(await api.gql(editor, 'mutation($id: ID!, $g: ID) { moveCluster(id: $id, input: { groupId: $g }) { id } }', { id: cluster.id, g: other.group }), 'NOT_FOUND');
    expectError(
      await api.gql(editor, 'mutation($id: ID!, $g: ID, $s: ID) { moveCluster(id: $id, input: { groupId: $g, siteId: $s }) { id } }', {
        id: cluster.id,
        g: group.id,
        s: other.site,
      }),
      'NOT_FOUND',
    );
    expect(await row()).toEqual(before);
    expect(await api.prisma.event.count({ where: { objectId: cluster.id, type: 'ClusterMoved' } })).toBe(moved);
  });
});
