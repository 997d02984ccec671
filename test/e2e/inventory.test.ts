// The inventory's happy paths over HTTP: create, read, update, move and delete of every object, with the
// Event each mutation records (actor token:<name>); list filters and Kubernetes label selectors with
// exact result sets; Relay pagination that walks every page of every ordering without duplicates or
// gaps; and the operational endpoints (/healthz, /readyz, /metrics, x-request-id).
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { JobName } from '../../src/infra/queue/jobs';
import { QueueGateway } from '../../src/infra/queue/queue.gateway';
import type { Job } from 'bullmq';
import { PolicyCompileJob } from '../../src/modules/policy-templates/policy-compile.job';
import { freePort } from '../../src/dev/free-port';
import { startApi, type TestApi } from '../support/api';
import { ApiFactory, DbSeed } from '../support/factories';

let api: TestApi;
let admin: string;
/** The token every inventory mutation below is made with: its Events must say token:ci-bot. */
let bot: string;
let orgId: string;
let make: ApiFactory;

beforeAll(async () => {
  api = await startApi({ METRICS_PORT: String(await freePort()) });
  ({ token: admin, organizationId: orgId } = await api.bootstrapOrgWithId('inventory-org'));
  bot = await api.createToken(admin, 'EDITOR', 'ci-bot');
  make = new ApiFactory(api, bot);
}, 60_000);

afterAll(async () => {
  await api?.close();
});

// ---- Events ---------------------------------------------------------------------------------------------

/** Mutations whose Events a test below has checked; the last test compares it with the schema. */
const eventsChecked = new Set<string>();

interface EventRow {
  type: string;
  actor: string;
  objectKind: string;
  objectId: string;
  message: string;
  data: unknown;
}

/**
 * Asserts the Events of one object, newest first, through the events query: their types, and that
 * each names `actor` and the object. `mutations` are the mutations these Events prove.
 */
async function expectEvents(objectId: string, objectKind: string, types: string[], mutations: string[], actor = 'token:ci-bot'): Promise<EventRow[]> {
  const res = await api.gqlOk<{ events: { edges: { node: EventRow }[] } }>(
    admin,
    'query($id: ID) { events(objectId: $id, first: 100) { edges { node { type actor objectKind objectId message data } } } }',
    { id: objectId },
  );
  const events = res.events.edges.map((e) => e.node);
  expect(events.map((e) => e.type)).toEqual(types);
  for (const e of events) {
    expect({ actor: e.actor, objectKind: e.objectKind, objectId: e.objectId }).toEqual({ actor, objectKind, objectId });
  }
  for (const m of mutations) {
    eventsChecked.add(m);
  }
  return events;
}

// ---- CRUD and move ------------------------------------------------------------------------------------

const SITE =
  'id name tier region address latitude longitude hardwareModel labels connectivity { mode heartbeatIntervalSeconds disconnectGraceSeconds } clusterCount clusterHealth { total healthy warning unhealthy disconnected unknown }';

describe('sites', () => {
  it('are created, read, updated and deleted, each step recorded', async () => {
    const created = await api.gqlOk(bot, `mutation($input: CreateSiteInput!) { createSite(input: $input) { ${SITE} } }`, {
      input: {
        name: 'munich-01',
        tier: 'FAR_EDGE',
        region: 'eu-central',
        address: 'Marienplatz 1',
        latitude: 48.137,
        longitude: 11.575,
        hardwareModel: 'Dell PowerEdge XR11',
        labels: { country: 'de', 'example.com/shop': '0042' },
      },
    });
    const site = created.createSite;
    expect(site).toEqual({
      id: expect.any(String),
      name: 'munich-01',
      tier: 'FAR_EDGE',
      region: 'eu-central',
      address: 'Marienplatz 1',
      latitude: 48.137,
      longitude: 11.575,
      hardwareModel: 'Dell PowerEdge XR11',
      labels: { country: 'de', 'example.com/shop': '0042' },
      connectivity: { mode: 'ALWAYS_ON', heartbeatIntervalSeconds: 20, disconnectGraceSeconds: 60 },
      clusterCount: 0,
      clusterHealth: { total: 0, healthy: 0, warning: 0, unhealthy: 0, disconnected: 0, unknown: 0 },
    });
    expect((await api.gqlOk(bot, `query($id: ID!) { site(id: $id) { ${SITE} } }`, { id: site.id })).site).toEqual(site);

    // Labels are replaced, not merged; null clears an optional field; connectivity gets its mode's defaults.
    const updated = await api.gqlOk(bot, `mutation($id: ID!, $input: UpdateSiteInput!) { updateSite(id: $id, input: $input) { ${SITE} } }`, {
      id: site.id,
      input: { name: 'munich-02', address: null, labels: { country: 'at' }, connectivity: { mode: 'INTERMITTENT' } },
    });
    expect(updated.updateSite).toEqual({
      ...site,
      name: 'munich-02',
      address: null,
      labels: { country: 'at' },
      connectivity: { mode: 'INTERMITTENT', heartbeatIntervalSeconds: 300, disconnectGraceSeconds: 6 * 3600 },
    });

    const deleted = await api.gqlOk(bot, 'mutation($id: ID!) { deleteSite(id: $id) { id name } }', { id: site.id });
    expect(deleted.deleteSite).toEqual({ id: site.id, name: 'munich-02' });
    expect((await api.gql(bot, 'query($id: ID!) { site(id: $id) { id } }', { id: site.id })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const events = await expectEvents(site.id, 'Site', ['SiteDeleted', 'SiteUpdated', 'SiteCreated'], ['createSite', 'updateSite', 'deleteSite']);
    expect((events[1].data as { changed: string[] }).changed.sort()).toEqual(['address', 'connectivity', 'labels', 'name']);
  });

  it.each([
    ['ALWAYS_ON', {}, 20, 60],
    ['INTERMITTENT', {}, 300, 6 * 3600],
    ['SCHEDULED', {}, 900, 24 * 3600],
    ['ALWAYS_ON', { heartbeatIntervalSeconds: 30 }, 30, 90],
    ['INTERMITTENT', { heartbeatIntervalSeconds: 10, disconnectGraceSeconds: 20 }, 10, 20],
  ] as const)('connectivity %s %j means heartbeats every %i s and DISCONNECTED after %i s', async (mode, given, heartbeat, grace) => {
    const site = await make
      .site()
      .with({ connectivity: { mode, ...given } })
      .create();
    expect(site.connectivity).toEqual({ mode, heartbeatIntervalSeconds: heartbeat, disconnectGraceSeconds: grace });
  });
});

describe('cluster groups', () => {
  it('are created, read, updated and deleted, each step recorded', async () => {
    const group = (
      await api.gqlOk(
        bot,
        'mutation { createClusterGroup(input: { name: "pos-tills", description: "Point of sale", labels: { app: "pos" } }) { id name description labels clusterCount } }',
      )
    ).createClusterGroup;
    expect(group).toEqual({ id: expect.any(String), name: 'pos-tills', description: 'Point of sale', labels: { app: 'pos' }, clusterCount: 0 });
    const cluster = await make.cluster().in(group).create();
    expect((await api.gqlOk(bot, 'query($id: ID!) { clusterGroup(id: $id) { clusterCount } }', { id: group.id })).clusterGroup.clusterCount).toBe(1);
    const updated = (
      await api.gqlOk(bot, 'mutation($id: ID!) { updateClusterGroup(id: $id, input: { name: "pos", description: null, labels: {} }) { id name description labels } }', {
        id: group.id,
      })
    ).updateClusterGroup;
    expect(updated).toEqual({ id: group.id, name: 'pos', description: null, labels: {} });
    await api.gqlOk(bot, 'mutation($id: ID!) { deleteCluster(id: $id) { id } }', { id: cluster.id });
    expect((await api.gqlOk(bot, 'mutation($id: ID!) { deleteClusterGroup(id: $id) { id name } }', { id: group.id })).deleteClusterGroup).toEqual({ id: group.id, name: 'pos' });
    expect(await api.prisma.clusterGroup.count({ where: { id: group.id } })).toBe(0);
    await expectEvents(
      group.id,
      'ClusterGroup',
      ['ClusterGroupDeleted', 'ClusterGroupUpdated', 'ClusterGroupCreated'],
      ['createClusterGroup', 'updateClusterGroup', 'deleteClusterGroup'],
    );
  });
});

describe('clusters', () => {
  const CLUSTER = 'id name description labels distribution phase health nodeCount site { id name } group { id name } namespaceCount';

  it('are created, read, updated, moved between groups and sites and deleted, each step recorded', async () => {
    const [groupA, groupB] = [await make.group().create(), await make.group().create()];
    const [siteA, siteB] = [await make.site().create(), await make.site().create()];
    const created = (
      await api.gqlOk(bot, `mutation($input: CreateClusterInput!) { createCluster(input: $input) { ${CLUSTER} } }`, {
        input: { name: 'till-01', groupId: groupA.id, siteId: siteA.id, description: 'Till 1', distribution: 'K3S', labels: { tier: 'edge' } },
      })
    ).createCluster;
    expect(created).toEqual({
      id: expect.any(String),
      name: 'till-01',
      description: 'Till 1',
      labels: { tier: 'edge' },
      distribution: 'K3S',
      phase: 'PENDING',
      health: 'UNKNOWN',
      nodeCount: 0,
      site: { id: siteA.id, name: siteA.name },
      group: { id: groupA.id, name: groupA.name },
      namespaceCount: 0,
    });
    const id = created.id;
    expect((await api.gqlOk(bot, `query($id: ID!) { cluster(id: $id) { ${CLUSTER} } }`, { id })).cluster).toEqual(created);

    const updated = (
      await api.gqlOk(bot, `mutation($id: ID!) { updateCluster(id: $id, input: { name: "till-1", description: null, labels: { tier: "edge", env: "prod" } }) { ${CLUSTER} } }`, {
        id,
      })
    ).updateCluster;
    expect(updated).toEqual({ ...created, name: 'till-1', description: null, labels: { tier: 'edge', env: 'prod' } });

    const move = async (input: Record<string, unknown>) =>
      (await api.gqlOk(bot, 'mutation($id: ID!, $input: MoveClusterInput!) { moveCluster(id: $id, input: $input) { site { id } group { id } } }', { id, input })).moveCluster;
    expect(await move({ groupId: groupB.id })).toEqual({ site: { id: siteA.id }, group: { id: groupB.id } });
    expect(await move({ siteId: siteB.id })).toEqual({ site: { id: siteB.id }, group: { id: groupB.id } });
    expect(await move({ siteId: null })).toEqual({ site: null, group: { id: groupB.id } });
    expect(await move({ groupId: groupA.id, siteId: siteA.id })).toEqual({ site: { id: siteA.id }, group: { id: groupA.id } });
    const counts = await api.gqlOk(
      bot,
      'query($a: ID!, $b: ID!, $ga: ID!, $gb: ID!) { a: site(id: $a) { clusterCount } b: site(id: $b) { clusterCount } ga: clusterGroup(id: $ga) { clusterCount } gb: clusterGroup(id: $gb) { clusterCount } }',
      { a: siteA.id, b: siteB.id, ga: groupA.id, gb: groupB.id },
    );
    expect(counts).toEqual({ a: { clusterCount: 1 }, b: { clusterCount: 0 }, ga: { clusterCount: 1 }, gb: { clusterCount: 0 } });

    expect((await api.gqlOk(bot, 'mutation($id: ID!) { deleteCluster(id: $id) { id name } }', { id })).deleteCluster).toEqual({ id, name: 'till-1' });
    expect(await api.prisma.cluster.count({ where: { id } })).toBe(0);
    const events = await expectEvents(
      id,
      'Cluster',
      ['ClusterDeleted', 'ClusterMoved', 'ClusterMoved', 'ClusterMoved', 'ClusterMoved', 'ClusterUpdated', 'ClusterCreated'],
      ['createCluster', 'updateCluster', 'moveCluster', 'deleteCluster'],
    );
    // Each move records where from and where to.
    expect(events[1].data).toEqual({ from: { groupId: groupB.id, siteId: null }, to: { groupId: groupA.id, siteId: siteA.id } });
    expect(events[4].data).toEqual({ from: { groupId: groupA.id, siteId: siteA.id }, to: { groupId: groupB.id, siteId: siteA.id } });
  });

  it('are attached by link and with a kubeconfig, get new links, lose them and are detached, each step recorded', async () => {
    const group = await make.group().create();
    const link = (
      await api.gqlOk(
        bot,
        'mutation($g: ID!) { attachCluster(input: { name: "linked-01", groupId: $g, registrationTokenTtlHours: 2 }) { cluster { id phase attachMode } registrationToken manifestUrl installCommand expiresAt } }',
        { g: group.id },
      )
    ).attachCluster;
    expect(link.cluster).toEqual({ id: expect.any(String), phase: 'PENDING', attachMode: 'LINK' });
    expect(link.installCommand).toBe(`kubectl apply -f ${link.manifestUrl}`);
    expect(link.manifestUrl.startsWith(api.config.publicUrl)).toBe(true);
    const reissued = (await api.gqlOk(bot, 'mutation($id: ID!) { reissueRegistrationLink(clusterId: $id) { registrationToken } }', { id: link.cluster.id }))
      .reissueRegistrationLink;
    expect(reissued.registrationToken).not.toBe(link.registrationToken);
    await api.gqlOk(bot, 'mutation($id: ID!) { revokeRegistrationLinks(clusterId: $id) { id } }', { id: link.cluster.id });
    expect(await api.prisma.registrationToken.count({ where: { clusterId: link.cluster.id, revokedAt: null } })).toBe(0);
    expect((await api.gqlOk(bot, 'mutation($id: ID!) { detachCluster(id: $id) { phase } }', { id: link.cluster.id })).detachCluster).toEqual({ phase: 'DETACHED' });
    await expectEvents(
      link.cluster.id,
      'Cluster',
      ['ClusterPhaseChanged', 'RegistrationTokenRevoked', 'RegistrationTokenIssued', 'RegistrationTokenIssued', 'ClusterCreated'],
      ['attachCluster', 'reissueRegistrationLink', 'revokeRegistrationLinks', 'detachCluster'],
    );

    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'current-context: c',
      'clusters: [{ name: c, cluster: { server: "https://203.0.113.9:6443" } }]',
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: c, context: { cluster: c, user: u } }]',
    ].join('\n');
    const queued = (
      await api.gqlOk(
        bot,
        'mutation($g: ID!, $k: String!) { attachClusterWithKubeconfig(input: { name: "queued-01", groupId: $g, kubeconfig: $k }) { cluster { id phase attachMode } operation { id kind state } } }',
        { g: group.id, k: kubeconfig },
      )
    ).attachClusterWithKubeconfig;
    expect(queued).toEqual({
      cluster: { id: expect.any(String), phase: 'ATTACHING', attachMode: 'QUEUE' },
      operation: { id: expect.any(String), kind: 'ATTACH', state: 'QUEUED' },
    });
    expect((await api.gqlOk(bot, 'query($id: ID!) { clusterOperation(id: $id) { id kind } }', { id: queued.operation.id })).clusterOperation).toEqual({
      id: queued.operation.id,
      kind: 'ATTACH',
    });
    await expectEvents(queued.cluster.id, 'Cluster', ['RegistrationTokenIssued', 'ClusterCreated'], ['attachClusterWithKubeconfig']);
  });
});

describe('workspaces and namespaces', () => {
  it('are created, read, updated, moved and deleted, each step recorded', async () => {
    const cluster = await make.cluster().create();
    const [wsA, wsB] = [await make.workspace().named('payments').with({ description: 'Payments team' }).create(), await make.workspace().named('search').create()];
    expect(wsA).toEqual({ id: expect.any(String), name: 'payments', description: 'Payments team', labels: {} });

    const ns = (
      await api.gqlOk(
        bot,
        'mutation($c: ID!, $w: ID!) { createNamespace(input: { name: "payments-api", clusterId: $c, workspaceId: $w, labels: { team: "payments" } }) { id name labels cluster { id namespaceCount } workspace { id namespaceCount } } }',
        { c: cluster.id, w: wsA.id },
      )
    ).createNamespace;
    expect(ns).toEqual({
      id: expect.any(String),
      name: 'payments-api',
      labels: { team: 'payments' },
      cluster: { id: cluster.id, namespaceCount: 1 },
      workspace: { id: wsA.id, namespaceCount: 1 },
    });
    expect((await api.gqlOk(bot, 'query($id: ID!) { namespace(id: $id) { id name } }', { id: ns.id })).namespace).toEqual({ id: ns.id, name: 'payments-api' });

    const relabelled = (await api.gqlOk(bot, 'mutation($id: ID!) { updateNamespace(id: $id, input: { labels: { team: "pay" } }) { labels workspace { id } } }', { id: ns.id }))
      .updateNamespace;
    expect(relabelled).toEqual({ labels: { team: 'pay' }, workspace: { id: wsA.id } });
    const moved = (
      await api.gqlOk(bot, 'mutation($id: ID!, $w: ID) { updateNamespace(id: $id, input: { workspaceId: $w }) { labels workspace { id namespaceCount } } }', {
        id: ns.id,
        w: wsB.id,
      })
    ).updateNamespace;
    expect(moved).toEqual({ labels: { team: 'pay' }, workspace: { id: wsB.id, namespaceCount: 1 } });

    const wsUpdated = (
      await api.gqlOk(
        bot,
        'mutation($id: ID!) { updateWorkspace(id: $id, input: { name: "payments-eu", description: null, labels: { cost: "eu" } }) { name description labels namespaceCount } }',
        { id: wsA.id },
      )
    ).updateWorkspace;
    expect(wsUpdated).toEqual({ name: 'payments-eu', description: null, labels: { cost: 'eu' }, namespaceCount: 0 });
    await api.gqlOk(bot, 'mutation($id: ID!) { deleteWorkspace(id: $id) { id } }', { id: wsA.id });
    await api.gqlOk(bot, 'mutation($id: ID!) { deleteNamespace(id: $id) { id } }', { id: ns.id });
    expect(await api.prisma.namespace.count({ where: { id: ns.id } })).toBe(0);
    expect(await api.prisma.workspace.count({ where: { id: wsA.id } })).toBe(0);

    const events = await expectEvents(
      ns.id,
      'Namespace',
      ['NamespaceDeleted', 'NamespaceMoved', 'NamespaceUpdated', 'NamespaceCreated'],
      ['createNamespace', 'updateNamespace', 'deleteNamespace'],
    );
    expect(events[1].data).toEqual({ from: wsA.id, to: wsB.id });
    await expectEvents(wsA.id, 'Workspace', ['WorkspaceDeleted', 'WorkspaceUpdated', 'WorkspaceCreated'], ['createWorkspace', 'updateWorkspace', 'deleteWorkspace']);
  });

  it('deleting a cluster takes its namespaces with it', async () => {
    const ns = await make.namespace().create();
    await api.gqlOk(bot, 'mutation($id: ID!) { deleteCluster(id: $id) { id } }', { id: ns.cluster.id });
    expect(await api.prisma.namespace.count({ where: { id: ns.id } })).toBe(0);
  });
});

describe('API tokens', () => {
  it('are created (secret shown once), listed without secrets, and revoked, by an ADMIN, each step recorded', async () => {
    const created = (await api.gqlOk(admin, 'mutation { createApiToken(input: { name: "deployer", role: EDITOR }) { secret token { id name role prefix revokedAt createdBy } } }'))
      .createApiToken;
    expect(created.token).toEqual({
      id: expect.any(String),
      name: 'deployer',
      role: 'EDITOR',
      prefix: created.secret.slice(0, 10),
      revokedAt: null,
      createdBy: 'token:bootstrap-admin',
    });
    expect((await api.gqlOk(created.secret, 'query { viewer { tokenName role organization { id name } } }')).viewer).toEqual({
      tokenName: 'deployer',
      role: 'EDITOR',
      organization: { id: orgId, name: 'inventory-org' },
    });
    const listed = (await api.gql(admin, 'query { apiTokens { id name prefix } }')).body;
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    expect(listed.data!.apiTokens).toContainEqual({ id: created.token.id, name: 'deployer', prefix: created.token.prefix });
    const revoked = (await api.gqlOk(admin, 'mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }', { id: created.token.id })).revokeApiToken;
    expect(revoked.revokedAt).toEqual(expect.any(String));
    // Revoking twice is harmless and records nothing more.
    expect((await api.gqlOk(admin, 'mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }', { id: created.token.id })).revokeApiToken).toEqual(revoked);
    expect((await api.gql(created.secret, 'query { viewer { role } }')).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    await expectEvents(created.token.id, 'ApiToken', ['ApiTokenRevoked', 'ApiTokenCreated'], ['createApiToken', 'revokeApiToken'], 'token:bootstrap-admin');
  });
});

describe('organization settings', () => {
  it('are changed by an ADMIN and recorded', async () => {
    const changed = await api.gqlOk(admin, 'mutation { updateOrganizationSettings(input: { apiTokenMaxLifetimeDays: 90 }) { id apiTokenMaxLifetimeDays } }');
    expect(changed.updateOrganizationSettings).toEqual({ id: orgId, apiTokenMaxLifetimeDays: 90 });
    await api.gqlOk(admin, 'mutation { updateOrganizationSettings(input: { apiTokenMaxLifetimeDays: null }) { id } }');
    const res = await api.gqlOk<{ events: { edges: { node: EventRow }[] } }>(
      admin,
      'query($id: ID) { events(objectId: $id, type: "OrganizationSettingsChanged", first: 10) { edges { node { type actor objectKind objectId message data } } } }',
      { id: orgId },
    );
    expect(res.events.edges.map((e) => [e.node.actor, e.node.objectKind, e.node.data])).toEqual([
      ['token:bootstrap-admin', 'Organization', { apiTokenMaxLifetimeDays: null }],
      ['token:bootstrap-admin', 'Organization', { apiTokenMaxLifetimeDays: 90 }],
    ]);
    eventsChecked.add('updateOrganizationSettings');
  });
});

describe('policy templates and constraints', () => {
  it('record an Event for every change, naming the token (the compile, the system compiler)', async () => {
    const template = (await api.gqlOk(bot, 'mutation { createPolicyTemplate(input: { kind: "K8sEventsDemo" }) { id } }')).createPolicyTemplate;
    const rego = 'package k8seventsdemo\n\nviolation[{"msg": "secret"}] { input.review.object.kind == "Secret" }\n';
    const version = (
      await api.gqlOk(bot, 'mutation($id: ID!, $in: CreatePolicyTemplateVersionInput!) { createPolicyTemplateVersion(templateId: $id, input: $in) { id } }', {
        id: template.id,
        in: { title: 'Events demo', rego },
      })
    ).createPolicyTemplateVersion;
    // The worker's job, run here with the real opa (no worker process in this file).
    await api.app.get(PolicyCompileJob).run({ versionId: version.id }, { attemptsStarted: 1, attemptsMade: 0, opts: { attempts: 1 } } as unknown as Job);
    await api.gqlOk(bot, 'mutation($id: ID!) { publishPolicyTemplateVersion(id: $id) { id } }', { id: version.id });
    const constraint = (
      await api.gqlOk(bot, 'mutation($in: CreateConstraintInput!) { createConstraint(input: $in) { id name } }', { in: { name: 'no-secrets', templateVersionId: version.id } })
    ).createConstraint;
    await api.gqlOk(bot, 'mutation($id: ID!) { updateConstraint(id: $id, input: { enforcementAction: WARN }) { id } }', { id: constraint.id });
    const yaml = 'apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sEventsDemo\nmetadata: {name: no-secrets}\nspec: {enforcementAction: dryrun}\n';
    await api.gqlOk(bot, 'mutation($y: String!) { importConstraint(yaml: $y) { created } }', { y: yaml });
    await api.gqlOk(bot, 'mutation($id: ID!) { deleteConstraint(id: $id) { id } }', { id: constraint.id });
    await api.gqlOk(bot, 'mutation($id: ID!) { deprecatePolicyTemplateVersion(id: $id) { id } }', { id: version.id });
    const imported = (
      await api.gqlOk(bot, 'mutation($y: String!) { importConstraintTemplate(yaml: $y) { template { id } version { id } } }', {
        y: `apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata: {name: k8simporteddemo}\nspec:\n  crd: {spec: {names: {kind: K8sImportedDemo}}}\n  targets: [{target: admission.k8s.gatekeeper.sh, rego: "package k8simporteddemo\\nviolation[{\\"msg\\": \\"x\\"}] { false }\\n"}]\n`,
      })
    ).importConstraintTemplate;

    await expectEvents(template.id, 'PolicyTemplate', ['PolicyTemplateCreated'], ['createPolicyTemplate']);
    await expectEvents(imported.template.id, 'PolicyTemplate', ['PolicyTemplateCreated'], ['importConstraintTemplate']);
    await expectEvents(imported.version.id, 'PolicyTemplateVersion', ['PolicyTemplateVersionCreated'], []);
    await expectEvents(
      constraint.id,
      'Constraint',
      ['ConstraintDeleted', 'ConstraintUpdated', 'ConstraintUpdated', 'ConstraintCreated'],
      ['createConstraint', 'updateConstraint', 'importConstraint', 'deleteConstraint'],
    );
    const res = await api.gqlOk<{ events: { edges: { node: EventRow }[] } }>(
      admin,
      'query($id: ID) { events(objectId: $id, first: 10) { edges { node { type actor objectKind objectId message data } } } }',
      { id: version.id },
    );
    expect(res.events.edges.map((e) => [e.node.type, e.node.actor, e.node.objectKind])).toEqual([
      ['PolicyTemplateVersionDeprecated', 'token:ci-bot', 'PolicyTemplateVersion'],
      ['PolicyTemplateVersionPublished', 'token:ci-bot', 'PolicyTemplateVersion'],
      ['PolicyTemplateVersionCompiled', 'system:policy-compiler', 'PolicyTemplateVersion'],
      ['PolicyTemplateVersionCreated', 'token:ci-bot', 'PolicyTemplateVersion'],
    ]);
    for (const m of ['createPolicyTemplateVersion', 'publishPolicyTemplateVersion', 'deprecatePolicyTemplateVersion']) {
      eventsChecked.add(m);
    }
  }, 60_000);
});

describe('policy assignments', () => {
  it('are assigned, changed and unassigned through GraphQL, each step recorded, bumping the generation of the clusters they reach', async () => {
    const template = (await api.gqlOk(bot, 'mutation { createPolicyTemplate(input: { kind: "K8sAssignDemo" }) { id } }')).createPolicyTemplate;
    const version = (
      await api.gqlOk(bot, 'mutation($id: ID!, $in: CreatePolicyTemplateVersionInput!) { createPolicyTemplateVersion(templateId: $id, input: $in) { id } }', {
        id: template.id,
        in: { title: 'Assign demo', rego: 'package k8sassigndemo\n\nviolation[{"msg": "x"}] { false }\n' },
      })
    ).createPolicyTemplateVersion;
    const constraint = (
      await api.gqlOk(bot, 'mutation($in: CreateConstraintInput!) { createConstraint(input: $in) { id } }', { in: { name: 'assign-demo', templateVersionId: version.id } })
    ).createConstraint;
    const [groupA, groupB] = [await make.group().create(), await make.group().create()];
    const inA = await make.cluster().in(groupA).create();
    const inB = await make.cluster().in(groupB).create();
    const generation = async (id: string) =>
      (await api.gqlOk<{ cluster: { desiredStateGeneration: number } }>(bot, 'query($id: ID!) { cluster(id: $id) { desiredStateGeneration } }', { id })).cluster
        .desiredStateGeneration;
    const [a0, b0] = [await generation(inA.id), await generation(inB.id)];

    const assigned = (
      await api.gqlOk(bot, 'mutation($in: AssignPolicyInput!) { assignPolicy(input: $in) { id scope scopeId excludedNamespaces enforcementAction constraint { id } } }', {
        in: { constraintId: constraint.id, scope: 'CLUSTER_GROUP', scopeId: groupA.id },
      })
    ).assignPolicy;
    expect(assigned).toEqual({
      id: expect.any(String),
      scope: 'CLUSTER_GROUP',
      scopeId: groupA.id,
      excludedNamespaces: ['farpoint-system', 'kube-system'],
      enforcementAction: null,
      constraint: { id: constraint.id },
    });
    expect([await generation(inA.id), await generation(inB.id)]).toEqual([a0 + 1, b0]);
    const effective = await api.gqlOk(
      bot,
      'query($id: ID!) { effectivePolicies(clusterId: $id) { enforcementAction scope scopeId scopeName assignment { id } constraint { id } } }',
      {
        id: inA.id,
      },
    );
    expect(effective.effectivePolicies).toEqual([
      { enforcementAction: 'DENY', scope: 'CLUSTER_GROUP', scopeId: groupA.id, scopeName: groupA.name, assignment: { id: assigned.id }, constraint: { id: constraint.id } },
    ]);
    const weakened = await api.gql(bot, 'mutation($in: AssignPolicyInput!) { assignPolicy(input: $in) { id } }', {
      in: { constraintId: constraint.id, scope: 'CLUSTER', scopeId: inA.id, enforcementAction: 'WARN' },
    });
    expect([weakened.errors?.[0].extensions?.code, weakened.errors?.[0].extensions?.assignmentId]).toEqual(['POLICY_ASSIGNMENT_WEAKENS', assigned.id]);
    const viewer = await api.createToken(admin, 'VIEWER', 'assign-viewer');
    expect((await api.gql(viewer, 'mutation($id: ID!) { unassignPolicy(id: $id) { id } }', { id: assigned.id })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await api.gqlOk(viewer, '{ policyAssignments(first: 10) { totalCount } }')).policyAssignments.totalCount).toBe(1);

    await api.gqlOk(bot, 'mutation($id: ID!) { updatePolicyAssignment(id: $id, input: { enforcementAction: DRYRUN }) { id } }', { id: assigned.id });
    await api.gqlOk(bot, 'mutation($id: ID!) { unassignPolicy(id: $id) { id } }', { id: assigned.id });
    expect([await generation(inA.id), await generation(inB.id)]).toEqual([a0 + 3, b0]);
    await expectEvents(
      assigned.id,
      'PolicyAssignment',
      ['PolicyUnassigned', 'PolicyAssignmentUpdated', 'PolicyAssigned'],
      ['assignPolicy', 'updatePolicyAssignment', 'unassignPolicy'],
    );

    // A staged rollout: started with the assignment, paused, resumed and aborted, each step an Event on it.
    const staged = (
      await api.gqlOk(bot, 'mutation($in: AssignPolicyInput!) { assignPolicy(input: $in) { id activeRollout { id state } } }', {
        in: { constraintId: constraint.id, scope: 'CLUSTER_GROUP', scopeId: groupA.id, rollout: { waves: [{ name: 'canary', clusterSelector: 'canary=true' }] } },
      })
    ).assignPolicy;
    const rolloutId = staged.activeRollout.id;
    expect(staged.activeRollout.state).toBe('RUNNING');
    for (const step of ['pauseStagedRollout', 'resumeStagedRollout', 'abortStagedRollout']) {
      await api.gqlOk(bot, `mutation($id: ID!) { ${step}(id: $id) { id } }`, { id: rolloutId });
      eventsChecked.add(step);
    }
    // Start and first wave commit together (same timestamp): compare as a set, the people's steps in order.
    const rolloutEvents = (
      await api.gqlOk<{ events: { edges: { node: EventRow }[] } }>(
        admin,
        'query($id: ID) { events(objectId: $id, first: 100) { edges { node { type actor objectKind objectId message data } } } }',
        {
          id: rolloutId,
        },
      )
    ).events.edges.map((e) => e.node);
    expect(rolloutEvents.slice(0, 3).map((e) => e.type)).toEqual(['StagedRolloutAborted', 'StagedRolloutResumed', 'StagedRolloutPaused']);
    expect(rolloutEvents.map((e) => e.type).sort()).toEqual([
      'StagedRolloutAborted',
      'StagedRolloutPaused',
      'StagedRolloutResumed',
      'StagedRolloutStarted',
      'StagedRolloutWaveReleased',
    ]);
    expect(rolloutEvents.every((e) => e.actor === 'token:ci-bot' && e.objectKind === 'StagedRollout' && e.objectId === rolloutId)).toBe(true);
    expect(await api.prisma.policyAssignment.findUnique({ where: { id: staged.id } })).toBeNull();
  }, 60_000);
});

// ---- Filters and label selectors ----------------------------------------------------------------------

/** The label sets every kind of object gets in the selector tests, by name. */
const LABELLED: Record<string, Record<string, string>> = {
  a: { tier: 'edge', env: 'prod' },
  b: { tier: 'edge', env: 'stage' },
  c: { tier: 'edge', env: 'dev' },
  d: { tier: 'edge', env: 'prod', canary: 'true' },
  e: { tier: 'core', env: 'prod' },
  f: { tier: 'edge' },
  g: {},
  h: { tier: 'edge', env: 'stage', canary: '' },
};

/** Selector -> the objects it selects, worked out by hand from LABELLED (Kubernetes semantics). */
const SELECTIONS: [string, string[]][] = [
  ['tier=edge,env in (prod,stage),!canary', ['a', 'b']], // d and h have canary (h's is empty, but present)
  ['env notin (prod,stage)', ['c', 'f', 'g']], // notin matches objects without the key
  ['env!=prod', ['b', 'c', 'f', 'g', 'h']], // so does !=
  ['tier!=edge', ['e', 'g']],
  ['env=prod', ['a', 'd', 'e']],
  ['env==prod', ['a', 'd', 'e']],
  ['env in (prod)', ['a', 'd', 'e']], // "in" needs the key
  ['canary', ['d', 'h']],
  ['!env', ['f', 'g']],
  ['canary=', ['h']],
  ['tier in (edge),env notin (prod)', ['b', 'c', 'f', 'h']],
  ['tier=edge,tier=core', []],
  ['', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']],
];

describe('label selectors', () => {
  let labelOrg: string;
  let token: string;
  beforeAll(async () => {
    ({ token, organizationId: labelOrg } = await api.bootstrapOrgWithId('labels-org'));
    const seed = new DbSeed(api.prisma, labelOrg);
    const names = Object.keys(LABELLED);
    const labels = (i: number) => LABELLED[names[i]];
    await seed.sites(names.length, (i) => ({ name: names[i], labels: labels(i) }));
    const groups = await seed.groups(names.length, (i) => ({ name: names[i], labels: labels(i) }));
    await seed.workspaces(names.length, (i) => ({ name: names[i], labels: labels(i) }));
    const [workspace] = await seed.workspaces(1, () => ({ name: 'holder' }));
    const clusters = await seed.clusters(names.length, (i) => ({ name: names[i], labels: labels(i), groupId: groups[0].id }));
    await seed.namespaces(names.length, (i) => ({ name: names[i], labels: labels(i), clusterId: clusters[0].id, workspaceId: workspace.id }));
  });

  const lists: [string, (selector: string) => string][] = [
    ['clusters', (s) => `clusters(first: 100, filter: { labelSelector: ${JSON.stringify(s)} })`],
    ['sites', (s) => `sites(first: 100, filter: { labelSelector: ${JSON.stringify(s)} })`],
    ['clusterGroups', (s) => `clusterGroups(first: 100, labelSelector: ${JSON.stringify(s)})`],
    ['workspaces', (s) => `workspaces(first: 100, labelSelector: ${JSON.stringify(s)})`],
    ['namespaces', (s) => `namespaces(first: 100, labelSelector: ${JSON.stringify(s)})`],
  ];

  describe.each(lists)('%s', (list, field) => {
    it.each(SELECTIONS)('"%s" selects exactly %j', async (selector, expected) => {
      const data = await api.gqlOk(token, `query { list: ${field(selector)} { totalCount edges { node { name } } } }`);
      // The workspace "holder" carries no labels of the fixture; it belongs to every unlabelled answer.
      const names = data.list.edges.map((e: { node: { name: string } }) => e.node.name).filter((n: string) => n !== 'holder');
      expect(names).toEqual(expected);
      expect({ list, totalCount: data.list.totalCount }).toEqual({ list, totalCount: data.list.edges.length });
    });
  });
});

describe('cluster filters', () => {
  let token: string;
  const byName = (data: { clusters: { edges: { node: { name: string } }[]; totalCount: number } }) => {
    expect(data.clusters.totalCount).toBe(data.clusters.edges.length);
    return data.clusters.edges.map((e) => e.node.name);
  };
  let ids: Record<string, string>;

  beforeAll(async () => {
    const org = await api.bootstrapOrgWithId('filters-org');
    token = org.token;
    const seed = new DbSeed(api.prisma, org.organizationId);
    const [berlin, paris] = await seed.sites(2, (i) => ({ name: ['berlin', 'paris'][i] }));
    const [tills, cams] = await seed.groups(2, (i) => ({ name: ['tills', 'cams'][i] }));
    // name, site, group, phase, health, distribution
    const rows = [
      ['c1', berlin, tills, 'READY', 'HEALTHY', 'K3S'],
      ['c2', berlin, cams, 'READY', 'WARNING', 'TKG'],
      ['c3', paris, tills, 'ATTACHED', 'HEALTHY', 'K3S'],
      ['c4', paris, cams, 'ERROR', 'UNHEALTHY', 'OTHER'],
      ['c5', null, tills, 'PENDING', 'UNKNOWN', 'K3S'],
      ['c6', berlin, tills, 'READY', 'DISCONNECTED', 'TKG'],
    ] as const;
    await seed.clusters(rows.length, (i) => ({
      name: rows[i][0],
      siteId: rows[i][1]?.id ?? null,
      groupId: rows[i][2].id,
      phase: rows[i][3],
      health: rows[i][4],
      distribution: rows[i][5],
    }));
    ids = { berlin: berlin.id, paris: paris.id, tills: tills.id, cams: cams.id };
  });

  it.each([
    ['site berlin', () => ({ siteId: ids.berlin }), ['c1', 'c2', 'c6']],
    ['site paris', () => ({ siteId: ids.paris }), ['c3', 'c4']],
    ['group cams', () => ({ groupId: ids.cams }), ['c2', 'c4']],
    ['phases READY or ATTACHED', () => ({ phases: ['READY', 'ATTACHED'] }), ['c1', 'c2', 'c3', 'c6']],
    ['health HEALTHY', () => ({ health: ['HEALTHY'] }), ['c1', 'c3']],
    ['health UNHEALTHY or DISCONNECTED', () => ({ health: ['UNHEALTHY', 'DISCONNECTED'] }), ['c4', 'c6']],
    ['distribution K3S', () => ({ distribution: 'K3S' }), ['c1', 'c3', 'c5']],
    ['site berlin, group tills, READY, TKG', () => ({ siteId: ids.berlin, groupId: ids.tills, phases: ['READY'], distribution: 'TKG' }), ['c6']],
    ['empty phases list (no constraint)', () => ({ phases: [] }), ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']],
    ['no filter', () => ({}), ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']],
  ] as [string, () => Record<string, unknown>, string[]][])('%s', async (_name, filter, expected) => {
    expect(byName(await api.gqlOk(token, 'query($f: ClusterFilter) { clusters(first: 100, filter: $f) { totalCount edges { node { name } } } }', { f: filter() }))).toEqual(
      expected,
    );
  });

  it('site health summaries count clusters by health', async () => {
    const data = await api.gqlOk(token, 'query { sites { edges { node { name clusterCount clusterHealth { total healthy warning unhealthy disconnected unknown } } } } }');
    expect(data.sites.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { name: 'berlin', clusterCount: 3, clusterHealth: { total: 3, healthy: 1, warning: 1, unhealthy: 0, disconnected: 1, unknown: 0 } },
      { name: 'paris', clusterCount: 2, clusterHealth: { total: 2, healthy: 1, warning: 0, unhealthy: 1, disconnected: 0, unknown: 0 } },
    ]);
  });

  it('site filters: tier, region and connectivity', async () => {
    const org = await api.bootstrapOrgWithId('site-filters-org');
    const seed = new DbSeed(api.prisma, org.organizationId);
    await seed.sites(4, (i) => ({
      name: `s${i}`,
      tier: (['FAR_EDGE', 'FAR_EDGE', 'CORE', 'NEAR_EDGE'] as const)[i],
      region: ['eu', 'us', 'eu', 'eu'][i],
      connectivity: (['ALWAYS_ON', 'SCHEDULED', 'ALWAYS_ON', 'INTERMITTENT'] as const)[i],
    }));
    const names = async (filter: Record<string, unknown>) =>
      (await api.gqlOk(org.token, 'query($f: SiteFilter) { sites(filter: $f) { edges { node { name } } } }', { f: filter })).sites.edges.map(
        (e: { node: { name: string } }) => e.node.name,
      );
    expect(await names({ tier: 'FAR_EDGE' })).toEqual(['s0', 's1']);
    expect(await names({ region: 'eu' })).toEqual(['s0', 's2', 's3']);
    expect(await names({ connectivity: 'ALWAYS_ON' })).toEqual(['s0', 's2']);
    expect(await names({ tier: 'FAR_EDGE', region: 'eu', connectivity: 'ALWAYS_ON' })).toEqual(['s0']);
  });
});

// ---- Pagination -----------------------------------------------------------------------------------------

describe('Relay pagination', () => {
  let token: string;
  let pagingOrg: string;
  const COUNT = 23;

  beforeAll(async () => {
    const org = await api.bootstrapOrgWithId('paging-org');
    token = org.token;
    pagingOrg = org.organizationId;
    const seed = new DbSeed(api.prisma, pagingOrg);
    // Names not in creation order; node counts and timestamps with ties (three bulk inserts, each one
    // statement, share their createdAt), so the id tie-breaker is exercised.
    const [group] = await seed.groups(1);
    for (let batch = 0; batch < 3; batch++) {
      const size = batch === 2 ? COUNT - 16 : 8;
      await seed.clusters(size, (i) => ({ name: `c-${String.fromCharCode(122 - (((batch * 8 + i) * 7) % 26))}${batch}${i}`, nodeCount: (batch * 8 + i) % 4, groupId: group.id }));
      await seed.sites(size, (i) => ({ name: `s-${String.fromCharCode(97 + (((batch * 8 + i) * 11) % 26))}${batch}${i}` }));
      await seed.workspaces(size, (i) => ({ name: `w-${((batch * 8 + i) * 37) % 100}` }));
    }
    await seed.groups(COUNT - 1, (i) => ({ name: `g-${(i * 13) % 50}` }));
    const ws = await api.prisma.workspace.findFirstOrThrow({ where: { organizationId: pagingOrg } });
    const clusters = await api.prisma.cluster.findMany({ where: { organizationId: pagingOrg } });
    await seed.namespaces(COUNT, (i) => ({ name: `n-${(i * 7) % 30}`, clusterId: clusters[i % 3].id, workspaceId: ws.id }));
    // Events with distinct and tied times.
    await api.prisma.event.createMany({
      data: Array.from({ length: COUNT }, (_, i) => ({
        organizationId: pagingOrg,
        objectKind: 'Cluster',
        objectId: clusters[i].id,
        type: 'Probe',
        message: `event ${i}`,
        actor: 'test',
        occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 5)),
      })),
    });
  });

  type Row = { id: string } & Record<string, unknown>;
  /** The order the API must produce: by the sort key, then by id, both in the direction asked. */
  function expectedOrder(rows: Row[], key: string, direction: 'ASC' | 'DESC'): string[] {
    const value = (r: Row) => (r[key] instanceof Date ? r[key].getTime() : (r[key] as string | number));
    const sorted = [...rows].sort((x, y) => (value(x) < value(y) ? -1 : value(x) > value(y) ? 1 : x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    return (direction === 'DESC' ? sorted.reverse() : sorted).map((r) => r.id);
  }

  interface Page {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
    edges: { cursor: string; node: { id: string } }[];
  }

  /** Follows endCursor until hasNextPage is false; checks every page's pageInfo on the way. */
  async function walk(field: string, args: string, pageSize: number, total: number): Promise<string[]> {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; ; page++) {
      const data: { list: Page } = await api.gqlOk(
        token,
        `query($after: String) { list: ${field}(first: ${pageSize}, after: $after${args}) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } }`,
        { after },
      );
      const { totalCount, pageInfo, edges } = data.list;
      expect(totalCount).toBe(total);
      expect(edges.length).toBe(Math.min(pageSize, total - seen.length));
      expect(pageInfo.hasPreviousPage).toBe(page > 0);
      expect(pageInfo.startCursor).toBe(edges[0]?.cursor ?? null);
      expect(pageInfo.endCursor).toBe(edges[edges.length - 1]?.cursor ?? null);
      seen.push(...edges.map((e) => e.node.id));
      expect(pageInfo.hasNextPage).toBe(seen.length < total);
      if (!pageInfo.hasNextPage) {
        return seen;
      }
      after = pageInfo.endCursor;
      if (page > total) {
        throw new Error('pagination does not end');
      }
    }
  }

  const cases: [string, string, string, 'ASC' | 'DESC', () => Promise<Row[]>][] = [];
  for (const direction of ['ASC', 'DESC'] as const) {
    for (const [field, key] of [
      ['NAME', 'name'],
      ['CREATED_AT', 'createdAt'],
      ['UPDATED_AT', 'updatedAt'],
      ['NODE_COUNT', 'nodeCount'],
    ]) {
      cases.push([
        'clusters',
        `, orderBy: { field: ${field}, direction: ${direction} }`,
        key,
        direction,
        () => api.prisma.cluster.findMany({ where: { organizationId: pagingOrg } }),
      ]);
    }
    for (const [field, key] of [
      ['NAME', 'name'],
      ['CREATED_AT', 'createdAt'],
      ['UPDATED_AT', 'updatedAt'],
    ]) {
      cases.push(['sites', `, orderBy: { field: ${field}, direction: ${direction} }`, key, direction, () => api.prisma.site.findMany({ where: { organizationId: pagingOrg } })]);
    }
  }
  cases.push(['clusterGroups', '', 'name', 'ASC', () => api.prisma.clusterGroup.findMany({ where: { organizationId: pagingOrg } })]);
  cases.push(['workspaces', '', 'name', 'ASC', () => api.prisma.workspace.findMany({ where: { organizationId: pagingOrg } })]);
  cases.push(['namespaces', '', 'name', 'ASC', () => api.prisma.namespace.findMany({ where: { organizationId: pagingOrg } })]);
  cases.push(['events', '', 'occurredAt', 'DESC', () => api.prisma.event.findMany({ where: { organizationId: pagingOrg } })]);

  it.each(cases)(
    '%s%s walks every item once, in order, in pages of 1, 5 and 23',
    async (field, args, key, direction, rows) => {
      const all = await rows();
      // (events: the fixture's, and the two that bootstrapping the organization recorded)
      expect(all.length).toBe(field === 'events' ? COUNT + 2 : COUNT);
      const expected = expectedOrder(all, key, direction);
      // Sort values that tie exist (except for names), so the id tie-breaker is exercised.
      if (key !== 'name') {
        expect(new Set(all.map((r) => String(r[key]))).size).toBeLessThan(COUNT);
      }
      for (const size of [1, 5, COUNT]) {
        const seen = await walk(field, args, size, all.length);
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen).toEqual(expected);
      }
    },
    60_000,
  );

  it('keeps the filter on every page', async () => {
    await api.prisma.cluster.updateMany({ where: { organizationId: pagingOrg, nodeCount: { in: [1, 3] } }, data: { labels: { odd: 'yes' } } });
    const subset = await api.prisma.cluster.findMany({ where: { organizationId: pagingOrg, nodeCount: { in: [1, 3] } } });
    expect(subset.length).toBeGreaterThan(4);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: { id: string } }[] } = (
        await api.gqlOk(
          token,
          'query($after: String) { clusters(first: 2, after: $after, filter: { labelSelector: "odd=yes" }, orderBy: { field: NODE_COUNT, direction: DESC }) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }',
          { after },
        )
      ).clusters;
      expect(page.totalCount).toBe(subset.length);
      seen.push(...page.edges.map((e) => e.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(expectedOrder(subset as Row[], 'nodeCount', 'DESC'));
  });
});

// ---- Events coverage --------------------------------------------------------------------------------

describe('events', () => {
  it('every mutation of the schema had its Events checked above (a new mutation needs an expectEvents check here)', () => {
    const schema = api.app.get(GraphQLSchemaHost).schema;
    const mutations = Object.keys(schema.getMutationType()!.getFields()).sort();
    expect([...eventsChecked].sort()).toEqual(mutations);
  });
});

// ---- Operational endpoints ------------------------------------------------------------------------------

describe('operational endpoints', () => {
  it('/healthz answers 200 while the process serves', async () => {
    const res = await fetch(`${api.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 when Postgres and Redis answer', async () => {
    const res = await fetch(`${api.url}/readyz`);
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { status: 'ready', checks: { postgres: 'ok', redis: 'ok' } } });
  });

  it('/readyz answers 503 naming what is down when neither answers', async () => {
    // A second API whose database and Redis are ports nothing listens on.
    const broken = await startApi({ DATABASE_URL: 'postgresql://nobody@127.0.0.1:9/none', REDIS_URL: 'redis://127.0.0.1:9' });
    try {
      const res = await fetch(`${broken.url}/readyz`);
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 503, body: { status: 'unavailable', checks: { postgres: 'down', redis: 'down' } } });
      expect((await fetch(`${broken.url}/healthz`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  }, 30_000);

  it('/metrics (on METRICS_PORT) counts HTTP requests, GraphQL operations and queue depth', async () => {
    const metric = async (line: RegExp) => {
      const text = await (await fetch(api.metricsUrl!)).text();
      const match = text.split('\n').find((l) => line.test(l));
      return match ? Number(match.split(' ').pop()) : 0;
    };
    const httpLine = /^farpoint_http_requests_total\{method="POST",route="\/graphql",status="200"\} /;
    const okLine = /^farpoint_graphql_operations_total\{type="query",name="viewer",outcome="ok"\} /;
    const errorLine = /^farpoint_graphql_operations_total\{type="query",name="site",outcome="error"\} /;
    const waitingLine = /^farpoint_queue_jobs\{queue="maintenance",state="waiting"\} /;
    const before = { http: await metric(httpLine), ok: await metric(okLine), error: await metric(errorLine), waiting: await metric(waitingLine) };
    await api.gqlOk(bot, 'query MetricsProbe { viewer { role } }');
    await api.gqlOk(bot, 'query MetricsProbe { viewer { role } }');
    await api.gql(bot, 'query MetricsProbe { site(id: "nope") { id } }');
    await api.app.get(QueueGateway).enqueue(JobName.PURGE_API_TOKENS, {});
    const after = { http: await metric(httpLine), ok: await metric(okLine), error: await metric(errorLine), waiting: await metric(waitingLine) };
    expect({ http: after.http - before.http, ok: after.ok - before.ok, error: after.error - before.error, waiting: after.waiting - before.waiting }).toEqual({
      http: 3,
      ok: 2,
      error: 1,
      waiting: 1,
    });
    const text = await (await fetch(api.metricsUrl!)).text();
    for (const name of ['farpoint_http_requests_total', 'farpoint_graphql_operations_total', 'farpoint_queue_jobs']) {
      expect(text).toContain(`# TYPE ${name}`);
    }
  });

  it('echoes a plain x-request-id, and replaces one that is not plain', async () => {
    const plain = await fetch(`${api.url}/healthz`, { headers: { 'x-request-id': 'trace-42.a_b' } });
    expect(plain.headers.get('x-request-id')).toBe('trace-42.a_b');
    const gql = await api.gql(bot, 'query { viewer { role } }', undefined, { 'x-request-id': 'req-7' });
    expect(gql.headers.get('x-request-id')).toBe('req-7');
    const forged = await fetch(`${api.url}/healthz`, { headers: { 'x-request-id': 'evil\tid {"level":60}' } });
    const replaced = forged.headers.get('x-request-id');
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    const none = await fetch(`${api.url}/healthz`);
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(none.headers.get('x-request-id')).not.toBe(replaced);
  });
});
