// Desired state through the service tier on the real Postgres: every change that affects a cluster bumps
// its generation (and no other cluster's), in the transaction of the change; the state a cluster's agent
// pulls is computed from the assignments in effect, one constraint per constraint with the strongest action.
import { AgentProtocolError } from '../../../src/protocol';
import type { Cluster, ClusterGroup, EnforcementAction, Namespace, Prisma, Site, Workspace } from '../../../src/generated/prisma/client';
import { QueueGateway } from '../../../src/infra/queue/queue.gateway';
import { Clock } from '../../../src/common/time/clock';
import type { MaintenanceWindow } from '../../../src/modules/sites/maintenance-windows';
import { AssignmentRepository } from '../../../src/modules/assignments/assignment.repository';
import { AssignmentService } from '../../../src/modules/assignments/assignment.service';
import { ClusterGroupRepository } from '../../../src/modules/cluster-groups/cluster-group.repository';
import { ClusterGroupService } from '../../../src/modules/cluster-groups/cluster-group.service';
import { ClusterRepository } from '../../../src/modules/clusters/cluster.repository';
import { ClusterService } from '../../../src/modules/clusters/cluster.service';
import { ConstraintRepository } from '../../../src/modules/constraints/constraint.repository';
import { ConstraintService } from '../../../src/modules/constraints/constraint.service';
import { DesiredStateRepository } from '../../../src/modules/desired-state/desired-state.repository';
import { DesiredStateService } from '../../../src/modules/desired-state/desired-state.service';
import { GenerationRepository } from '../../../src/modules/desired-state/generation.repository';
import { RolloutRepository } from '../../../src/modules/desired-state/rollout.repository';
import { RolloutService } from '../../../src/modules/desired-state/rollout.service';
import { NamespaceRepository } from '../../../src/modules/namespaces/namespace.repository';
import { NamespaceService } from '../../../src/modules/namespaces/namespace.service';
import { PolicyTemplateRepository } from '../../../src/modules/policy-templates/policy-template.repository';
import { PolicyTemplateService } from '../../../src/modules/policy-templates/policy-template.service';
import { SiteRepository } from '../../../src/modules/sites/site.repository';
import { StagedRolloutRepository } from '../../../src/modules/staged-rollouts/staged-rollout.repository';
import { StagedRolloutService } from '../../../src/modules/staged-rollouts/staged-rollout.service';
import { WorkspaceRepository } from '../../../src/modules/workspaces/workspace.repository';
import { TestData, type TestOrganization } from '../support/factories';
import { RecordingQueue } from '../support/fakes';
import { createServiceModule, type ServiceModule } from '../support/service-module';

let svc: ServiceModule;
let data: TestData;
let assignments: AssignmentService;
let desired: DesiredStateService;
let counter = 0;
/** The clock DesiredStateService and RolloutService decide maintenance windows by; tests set it. */
const clock = { at: new Date('2026-12-02T12:00:00Z'), now: () => clock.at };

beforeAll(async () => {
  svc = await createServiceModule({
    providers: [
      DesiredStateService,
      DesiredStateRepository,
      RolloutService,
      RolloutRepository,
      StagedRolloutService,
      StagedRolloutRepository,
      GenerationRepository,
      AssignmentService,
      AssignmentRepository,
      ConstraintService,
      ConstraintRepository,
      PolicyTemplateService,
      PolicyTemplateRepository,
      ClusterService,
      ClusterRepository,
      ClusterGroupService,
      ClusterGroupRepository,
      SiteRepository,
      NamespaceService,
      NamespaceRepository,
      WorkspaceRepository,
    ],
    fakes: [
      { provide: QueueGateway, useValue: new RecordingQueue() },
      { provide: Clock, useValue: clock },
    ],
  });
  data = new TestData(svc.prisma);
  assignments = svc.get(AssignmentService);
  desired = svc.get(DesiredStateService);
}, 30_000);

afterAll(async () => {
  await svc?.close();
});

interface Fleet {
  org: TestOrganization;
  site1: Site;
  site2: Site;
  group1: ClusterGroup;
  group2: ClusterGroup;
  /** site1/group1 env=prod; site1/group2 env=dev; site2/group1 env=dev. */
  c1: Cluster;
  c2: Cluster;
  c3: Cluster;
  ws: Workspace;
  wsEmpty: Workspace;
  /** shop in ws on c2. */
  ns: Namespace;
}

async function fleet(): Promise<Fleet> {
  const org = await data.organization();
  const [site1, site2] = [await data.site(org), await data.site(org)];
  const [group1, group2] = [await data.group(org), await data.group(org)];
  const c1 = await data
    .cluster(org)
    .at(site1)
    .in(group1)
    .with({ labels: { env: 'prod' } })
    .create();
  const c2 = await data
    .cluster(org)
    .at(site1)
    .in(group2)
    .with({ labels: { env: 'dev' } })
    .create();
  const c3 = await data
    .cluster(org)
    .at(site2)
    .in(group1)
    .with({ labels: { env: 'dev' } })
    .create();
  const ws = await svc.prisma.workspace.create({ data: { organizationId: org.id, name: `ws-${++counter}` } });
  const wsEmpty = await svc.prisma.workspace.create({ data: { organizationId: org.id, name: `ws-${++counter}` } });
  const ns = await svc.prisma.namespace.create({ data: { organizationId: org.id, clusterId: c2.id, workspaceId: ws.id, name: 'shop', labels: { team: 'a' } } });
  return { org, site1, site2, group1, group2, c1, c2, c3, ws, wsEmpty, ns };
}

/** A compiled, published version with a bundle of its own, and a constraint on it. */
const compiledConstraint = (org: TestOrganization, action: EnforcementAction = 'DENY', fields: { match?: object; parameters?: object; syncKinds?: object[] } = {}) =>
  data.compiledConstraint(org, action, fields);

async function generations(...clusters: Cluster[]): Promise<number[]> {
  return Promise.all(clusters.map(async (c) => (await data.reload(c)).desiredStateGeneration));
}

async function refusal(call: Promise<unknown>): Promise<AgentProtocolError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentProtocolError);
  return error as AgentProtocolError;
}

describe('desired-state generations', () => {
  it('bumps a cluster whose labels change or that moves to another site or group, and no other', async () => {
    const f = await fleet();
    const other = await fleet();
    const clusters = svc.get(ClusterService);
    const p = f.org.principal;
    const all = [f.c1, f.c2, f.c3, other.c1];

    await clusters.update(p, f.c1.id, { labels: { env: 'prod' } });
    expect(await generations(...all)).toEqual([0, 0, 0, 0]);
    await clusters.update(p, f.c1.id, { labels: { env: 'stage' } });
    expect(await generations(...all)).toEqual([1, 0, 0, 0]);
    await clusters.update(p, f.c1.id, { description: 'no labels given' });
    expect(await generations(...all)).toEqual([1, 0, 0, 0]);

    await clusters.move(p, f.c2.id, { groupId: f.group1.id });
    expect(await generations(...all)).toEqual([1, 1, 0, 0]);
    await clusters.move(p, f.c3.id, { siteId: f.site1.id });
    expect(await generations(...all)).toEqual([1, 1, 1, 0]);
    await clusters.move(p, f.c3.id, { siteId: f.site1.id });
    expect(await generations(...all)).toEqual([1, 1, 1, 0]);
  });

  it('bumps the cluster of a namespace created, moved or deleted in a workspace that has an assignment', async () => {
    const f = await fleet();
    const namespaces = svc.get(NamespaceService);
    const p = f.org.principal;
    const { constraint } = await compiledConstraint(f.org);
    await assignments.assign(p, { constraintId: constraint.id, scope: 'WORKSPACE', scopeId: f.ws.id });
    const base = await generations(f.c1, f.c2, f.c3);

    // A workspace without assignments: nothing to bump.
    const idle = await namespaces.create(p, { clusterId: f.c1.id, workspaceId: f.wsEmpty.id, name: 'idle' });
    expect(await generations(f.c1, f.c2, f.c3)).toEqual(base);
    // Into the assigned workspace: c1 now enforces the workspace assignment.
    await namespaces.update(p, idle.id, { workspaceId: f.ws.id });
    expect(await generations(f.c1, f.c2, f.c3)).toEqual([base[0] + 1, base[1], base[2]]);
    // Labels only: no bump (the agent matches namespace selectors against the live Namespace).
    await namespaces.update(p, idle.id, { labels: { team: 'b' } });
    expect(await generations(f.c1, f.c2, f.c3)).toEqual([base[0] + 1, base[1], base[2]]);
    const created = await namespaces.create(p, { clusterId: f.c3.id, workspaceId: f.ws.id, name: 'till' });
    expect(await generations(f.c1, f.c2, f.c3)).toEqual([base[0] + 1, base[1], base[2] + 1]);
    await namespaces.delete(p, created.id);
    expect(await generations(f.c1, f.c2, f.c3)).toEqual([base[0] + 1, base[1], base[2] + 2]);
  });

  it('bumps every cluster a changed or deleted constraint reaches through its assignments, and none it does not', async () => {
    const f = await fleet();
    const other = await fleet();
    const constraints = svc.get(ConstraintService);
    const p = f.org.principal;
    const { constraint } = await compiledConstraint(f.org);
    const { constraint: unrelated } = await compiledConstraint(f.org);
    await assignments.assign(p, { constraintId: constraint.id, scope: 'CLUSTER_GROUP', scopeId: f.group1.id, labelSelector: 'env=prod' });
    await assignments.assign(p, { constraintId: constraint.id, scope: 'WORKSPACE', scopeId: f.ws.id });
    await assignments.assign(p, { constraintId: unrelated.id, scope: 'CLUSTER', scopeId: f.c3.id });
    const all = [f.c1, f.c2, f.c3, other.c1];
    const base = await generations(...all);

    await constraints.update(p, constraint.id, { parameters: { tags: ['latest'] } });
    expect(await generations(...all)).toEqual([base[0] + 1, base[1] + 1, base[2], base[3]]);
    await constraints.update(p, constraint.id, { enforcementAction: 'WARN' });
    await constraints.update(p, constraint.id, { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } });
    expect(await generations(...all)).toEqual([base[0] + 3, base[1] + 3, base[2], base[3]]);
    await constraints.delete(p, constraint.id);
    expect(await generations(...all)).toEqual([base[0] + 4, base[1] + 4, base[2], base[3]]);
  });

  it('bumps the clusters of assignments on a template version that is deprecated, and the clusters of a group whose admission settings change', async () => {
    const f = await fleet();
    const p = f.org.principal;
    const { constraint, version } = await compiledConstraint(f.org);
    await assignments.assign(p, { constraintId: constraint.id, scope: 'SITE', scopeId: f.site2.id });
    const base = await generations(f.c1, f.c2, f.c3);

    await svc.get(PolicyTemplateService).deprecate(p, version.id);
    expect(await generations(f.c1, f.c2, f.c3)).toEqual([base[0], base[1], base[2] + 1]);
    // Deprecated keeps being enforced where it is assigned.
    expect((await desired.compute(f.c3.id)).constraints.map((c) => c.name)).toEqual([constraint.name]);

    const groups = svc.get(ClusterGroupService);
    await groups.update(p, f.group1.id, { description: 'no admission change' });
    expect(await generations(f.c1, f.c2, f.c3)).toEqual([base[0], base[1], base[2] + 1]);
    const updated = await groups.update(p, f.group1.id, { admissionFailurePolicy: 'FAIL', admissionTimeoutSeconds: 10 });
    expect([updated.admissionFailurePolicy, updated.admissionTimeoutSeconds]).toEqual(['FAIL', 10]);
    expect(await generations(f.c1, f.c2, f.c3)).toEqual([base[0] + 1, base[1], base[2] + 2]);
    expect((await desired.compute(f.c1.id)).admission).toEqual({ failurePolicy: 'Fail', timeoutSeconds: 10 });
    expect((await desired.compute(f.c2.id)).admission).toEqual({ failurePolicy: 'Ignore', timeoutSeconds: 3 });
  });

  it('refuses an admission timeout outside 1..30 s and writes nothing', async () => {
    const f = await fleet();
    const groups = svc.get(ClusterGroupService);
    for (const admissionTimeoutSeconds of [0, 31, 2.5]) {
      await expect(groups.update(f.org.principal, f.group1.id, { admissionTimeoutSeconds })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        details: { field: 'input.admissionTimeoutSeconds' },
      });
      await expect(groups.create(f.org.principal, { name: `g-${++counter}`, admissionTimeoutSeconds })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    expect((await svc.prisma.clusterGroup.findUniqueOrThrow({ where: { id: f.group1.id } })).admissionTimeoutSeconds).toBe(3);
    expect(await generations(f.c1, f.c3)).toEqual([0, 0]);
  });
});

describe(DesiredStateService.name, () => {
  it('sends each constraint once with the strongest action, the assignment exclusions and namespace selector merged into its match, and its bundle', async () => {
    const f = await fleet();
    const p = f.org.principal;
    const k = await compiledConstraint(f.org, 'WARN', {
      match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], excludedNamespaces: ['legacy'], namespaceSelector: { matchLabels: { tier: 'web' } } },
      parameters: { tags: ['latest'] },
    });
    const atOrg = await assignments.assign(p, { constraintId: k.constraint.id, scope: 'ORGANIZATION', scopeId: f.org.id, enforcementAction: 'DRYRUN' });
    const atSite = await assignments.assign(p, { constraintId: k.constraint.id, scope: 'SITE', scopeId: f.site1.id });
    const atCluster = await assignments.assign(p, {
      constraintId: k.constraint.id,
      scope: 'CLUSTER',
      scopeId: f.c1.id,
      enforcementAction: 'DENY',
      excludedNamespaces: ['batch'],
      namespaceSelector: 'team in (a,b),!canary,env!=test',
    });

    const c1 = await desired.compute(f.c1.id);
    expect(c1.generation).toBe((await data.reload(f.c1)).desiredStateGeneration);
    expect(c1.bundles).toEqual([k.sha256]);
    expect(c1.constraints).toEqual([
      {
        assignmentId: atCluster.id,
        name: k.constraint.name,
        kind: k.constraint.kind,
        bundleSha256: k.sha256,
        entrypoint: k.version.entrypoint,
        parameters: { tags: ['latest'] },
        enforcementAction: 'deny',
        match: {
          kinds: [{ apiGroups: [''], kinds: ['Pod'] }],
          excludedNamespaces: ['batch', 'legacy'],
          namespaceSelector: {
            matchLabels: { tier: 'web' },
            matchExpressions: [
              { key: 'team', operator: 'In', values: ['a', 'b'] },
              { key: 'canary', operator: 'DoesNotExist' },
              { key: 'env', operator: 'NotIn', values: ['test'] },
            ],
          },
        },
      },
    ]);
    // c2: the site's WARN (the constraint's action) beats the organization's DRYRUN; default exclusions added.
    const [c2] = (await desired.compute(f.c2.id)).constraints;
    expect([c2.assignmentId, c2.enforcementAction, c2.match?.excludedNamespaces]).toEqual([atSite.id, 'warn', ['farpoint-system', 'kube-system', 'legacy']]);
    // c3 has the organization's DRYRUN only.
    expect((await desired.compute(f.c3.id)).constraints.map((c) => [c.assignmentId, c.enforcementAction])).toEqual([[atOrg.id, 'dryrun']]);
  });

  it("limits a workspace assignment to the workspace's namespaces on the cluster, and leaves out a constraint with no compiled bundle", async () => {
    const f = await fleet();
    const p = f.org.principal;
    const k = await compiledConstraint(f.org, 'DENY', { syncKinds: [{ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }] });
    const a = await assignments.assign(p, { constraintId: k.constraint.id, scope: 'WORKSPACE', scopeId: f.ws.id });
    const uncompiled = await compiledConstraint(f.org);
    await svc.prisma.policyTemplateVersion.update({ where: { id: uncompiled.version.id }, data: { bundleSha256: null, compileStatus: 'FAILED' } });
    await assignments.assign(p, { constraintId: uncompiled.constraint.id, scope: 'CLUSTER', scopeId: f.c2.id });

    const state = await desired.compute(f.c2.id);
    expect(state.constraints.map((c) => [c.assignmentId, c.match?.namespaces])).toEqual([[a.id, ['shop']]]);
    expect(state.bundles).toEqual([k.sha256]);
    // A referential template's kinds go with it, for the agent's data.inventory.
    expect(state.inventoryKinds).toEqual([{ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }]);
    expect(await desired.compute(f.c1.id)).toMatchObject({ constraints: [], inventoryKinds: [] });
  });

  it('answers unchanged for the current generation, the full state for any other, and refuses a malformed generation', async () => {
    const f = await fleet();
    const k = await compiledConstraint(f.org);
    await assignments.assign(f.org.principal, { constraintId: k.constraint.id, scope: 'CLUSTER', scopeId: f.c1.id });
    const generation = (await data.reload(f.c1)).desiredStateGeneration;

    expect(await desired.forAgent(f.c1.id, { generation: String(generation) })).toEqual({ generation, unchanged: true });
    expect(await desired.forAgent(f.c1.id, { generation: String(generation - 1) })).toMatchObject({ generation, unchanged: false, bundles: [k.sha256] });
    expect(await desired.forAgent(f.c1.id, {})).toMatchObject({ generation, unchanged: false });
    for (const bad of ['-1', 'abc', '1.5', '01', '99999999999']) {
      expect((await refusal(desired.forAgent(f.c1.id, { generation: bad }))).code).toBe('PROTOCOL_INVALID_PARAMETER');
    }
  });

  it('serves a bundle only to a cluster whose current state uses it, and refuses a malformed sha256', async () => {
    const f = await fleet();
    const other = await fleet();
    const k = await compiledConstraint(f.org);
    const theirs = await compiledConstraint(other.org);
    await assignments.assign(f.org.principal, { constraintId: k.constraint.id, scope: 'CLUSTER', scopeId: f.c1.id });
    await assignments.assign(other.org.principal, { constraintId: theirs.constraint.id, scope: 'ORGANIZATION', scopeId: other.org.id });

    expect(Buffer.from(await desired.bundleForAgent(f.c1.id, k.sha256))).toEqual(k.wasm);
    // Another cluster of the organization, and another organization's bundle.
    expect((await refusal(desired.bundleForAgent(f.c2.id, k.sha256))).code).toBe('BUNDLE_NOT_FOUND');
    expect((await refusal(desired.bundleForAgent(f.c1.id, theirs.sha256))).code).toBe('BUNDLE_NOT_FOUND');
    expect((await refusal(desired.bundleForAgent(f.c1.id, 'A'.repeat(64)))).code).toBe('PROTOCOL_INVALID_PARAMETER');
    expect((await refusal(desired.bundleForAgent(f.c1.id, '../etc/passwd'))).code).toBe('PROTOCOL_INVALID_PARAMETER');
  });
});

describe(RolloutService.name, () => {
  it('lists every cluster an assignment reaches as IN_SYNC, PENDING, FAILED with the reason or OFFLINE, with counts, by name and by page', async () => {
    const f = await fleet();
    const other = await fleet();
    const p = f.org.principal;
    const k = await compiledConstraint(f.org);
    const a = await assignments.assign(p, { constraintId: k.constraint.id, scope: 'SITE', scopeId: f.site1.id });
    const extra = await data.cluster(f.org).at(f.site1).in(f.group1).phase('READY').create();
    const registered = { phase: 'READY' as const, health: 'HEALTHY' as const };
    const setCluster = (c: Cluster, fields: object) => svc.prisma.cluster.update({ where: { id: c.id }, data: fields });
    const desiredOf = async (c: Cluster) => (await data.reload(c)).desiredStateGeneration;
    // c1 runs the current generation; c2 failed; extra reports but has not applied it; c3 is not in site1.
    await setCluster(f.c1, { ...registered, appliedDesiredStateGeneration: await desiredOf(f.c1) });
    await setCluster(f.c2, { ...registered, appliedDesiredStateGeneration: 0, desiredStateError: { code: 'BUNDLE_HASH_MISMATCH', message: 'bundle x' } });
    await setCluster(extra, registered);
    await setCluster(f.c3, registered);

    const rollouts = svc.get(RolloutService);
    const all = await rollouts.rollout(p, { assignmentId: a.id, first: 10 });
    expect(all.counts).toEqual({ inSync: 1, pending: 1, waitingForWindow: 0, failed: 1, offline: 0, total: 3 });
    const byId = new Map(all.edges.map((e) => [e.node.id, e.node]));
    expect([...byId.keys()].sort()).toEqual([f.c1.id, f.c2.id, extra.id].sort());
    expect(byId.get(f.c1.id)).toMatchObject({ state: 'IN_SYNC', error: null });
    expect(byId.get(f.c2.id)).toMatchObject({ state: 'FAILED', error: { code: 'BUNDLE_HASH_MISMATCH', message: 'bundle x' } });
    expect(byId.get(extra.id)).toMatchObject({ state: 'PENDING', appliedDesiredStateGeneration: null });
    expect(all.edges.map((e) => e.node.name)).toEqual([...all.edges.map((e) => e.node.name)].sort());

    // A silent agent is OFFLINE, and so is one that never registered.
    await setCluster(extra, { health: 'DISCONNECTED' });
    await setCluster(f.c1, { phase: 'PENDING' });
    const after = await rollouts.rollout(p, { assignmentId: a.id, first: 2 });
    expect(after.counts).toEqual({ inSync: 0, pending: 0, waitingForWindow: 0, failed: 1, offline: 2, total: 3 });
    expect(after.edges).toHaveLength(2);
    const rest = await rollouts.rollout(p, { assignmentId: a.id, first: 2, after: after.pageInfo.endCursor! });
    expect([...after.edges, ...rest.edges].map((e) => e.node.id).sort()).toEqual([f.c1.id, f.c2.id, extra.id].sort());
    expect(rest.pageInfo.hasNextPage).toBe(false);
    const offline = await rollouts.rollout(p, { assignmentId: a.id, state: 'OFFLINE' });
    expect([offline.totalCount, offline.counts.total]).toEqual([2, 3]);

    // Another organization's assignment is not found.
    await expect(rollouts.rollout(other.org.principal, { assignmentId: a.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('update windows', () => {
  // Sundays 02:30 for an hour, Berlin time: 2026-12-06T01:30Z–02:30Z (winter); on 2026-03-29 (spring forward) 03:30 CEST = 01:30Z.
  const sundayNight: MaintenanceWindow = { days: ['SUNDAY'], start: '02:30', durationMinutes: 60, timeZone: 'Europe/Berlin' };
  // Fridays 23:00 for three hours, New York time: across midnight, 2026-12-05T04:00Z–07:00Z.
  const fridayLate: MaintenanceWindow = { days: ['FRIDAY'], start: '23:00', durationMinutes: 180, timeZone: 'America/New_York' };
  const CLOSED = new Date('2026-12-02T12:00:00Z');

  afterEach(() => {
    clock.at = CLOSED;
  });

  /** A READY cluster at a site with these windows, running generation g of a first assignment; then a second, non-urgent change bumps it to g + 1. */
  async function heldBack(windows: MaintenanceWindow[]) {
    const f = await fleet();
    await svc.prisma.site.update({ where: { id: f.site1.id }, data: { maintenanceWindows: windows as unknown as Prisma.InputJsonValue } });
    const first = await compiledConstraint(f.org);
    const second = await compiledConstraint(f.org);
    clock.at = CLOSED;
    await assignments.assign(f.org.principal, { constraintId: first.constraint.id, scope: 'CLUSTER', scopeId: f.c1.id });
    const running = (await data.reload(f.c1)).desiredStateGeneration;
    await svc.prisma.cluster.update({ where: { id: f.c1.id }, data: { phase: 'READY', health: 'HEALTHY', appliedDesiredStateGeneration: running } });
    const assignment = await assignments.assign(f.org.principal, { constraintId: second.constraint.id, scope: 'CLUSTER', scopeId: f.c1.id });
    return { f, running, first, second, assignment, poll: () => desired.forAgent(f.c1.id, { generation: String(running) }) };
  }

  it('outside every window keeps answering the generation the agent runs (unchanged), and the new one inside a window', async () => {
    const { f, running, first, second, poll } = await heldBack([sundayNight]);
    expect((await data.reload(f.c1)).desiredStateGeneration).toBe(running + 1);

    expect(await poll()).toEqual({ generation: running, unchanged: true });
    clock.at = new Date('2026-12-06T01:29:59Z');
    expect(await poll()).toEqual({ generation: running, unchanged: true });
    clock.at = new Date('2026-12-06T01:30:00Z');
    expect(await poll()).toMatchObject({ generation: running + 1, unchanged: false, bundles: [first.sha256, second.sha256].sort() });
    clock.at = new Date('2026-12-06T02:30:00Z');
    expect(await poll()).toEqual({ generation: running, unchanged: true });
  });

  it('opens on the day the clocks spring forward at the first time after the gap (03:30 CEST), for the full hour', async () => {
    const { running, poll } = await heldBack([sundayNight]);
    clock.at = new Date('2026-03-29T01:15:00Z');
    expect(await poll()).toEqual({ generation: running, unchanged: true });
    clock.at = new Date('2026-03-29T02:15:00Z');
    expect(await poll()).toMatchObject({ generation: running + 1, unchanged: false });
  });

  it('opens once when the clocks fall back (the first 02:30 CEST), not again at the repeated hour', async () => {
    const { running, poll } = await heldBack([sundayNight]);
    clock.at = new Date('2026-10-25T00:45:00Z');
    expect(await poll()).toMatchObject({ generation: running + 1, unchanged: false });
    clock.at = new Date('2026-10-25T01:45:00Z');
    expect(await poll()).toEqual({ generation: running, unchanged: true });
  });

  it('serves inside a window that crossed midnight, on the morning after the day it opened', async () => {
    const { running, poll } = await heldBack([sundayNight, fridayLate]);
    clock.at = new Date('2026-12-05T06:59:00Z');
    expect(await poll()).toMatchObject({ generation: running + 1, unchanged: false });
    clock.at = new Date('2026-12-05T07:00:00Z');
    expect(await poll()).toEqual({ generation: running, unchanged: true });
  });

  it('serves an urgent change at once outside the windows (with the waiting change before it), and only that', async () => {
    const { f, running, first, second, poll } = await heldBack([sundayNight]);
    const third = await compiledConstraint(f.org);
    await assignments.assign(f.org.principal, { constraintId: third.constraint.id, scope: 'CLUSTER', scopeId: f.c1.id, urgent: true });
    const urgent = await data.reload(f.c1);
    expect([urgent.desiredStateGeneration, urgent.urgentDesiredStateGeneration]).toEqual([running + 2, running + 2]);

    expect(await poll()).toMatchObject({ generation: running + 2, unchanged: false, bundles: [first.sha256, second.sha256, third.sha256].sort() });
    // Once the agent runs it, a later non-urgent change waits again.
    await assignments.unassign(f.org.principal, (await svc.prisma.policyAssignment.findFirstOrThrow({ where: { constraintId: third.constraint.id } })).id);
    expect(await desired.forAgent(f.c1.id, { generation: String(running + 2) })).toEqual({ generation: running + 2, unchanged: true });
  });

  it('gives an agent that runs nothing the current state at once, and a cluster of a site without windows every change at once', async () => {
    const { f, running } = await heldBack([sundayNight]);
    expect(await desired.forAgent(f.c1.id, {})).toMatchObject({ generation: running + 1, unchanged: false });
    // c2 is at site1 too; c3's site2 has no windows.
    const k = await compiledConstraint(f.org);
    await assignments.assign(f.org.principal, { constraintId: k.constraint.id, scope: 'CLUSTER', scopeId: f.c3.id });
    const g3 = (await data.reload(f.c3)).desiredStateGeneration;
    expect(await desired.forAgent(f.c3.id, { generation: String(g3 - 1) })).toMatchObject({ generation: g3, unchanged: false });
  });

  it('shows the rollout WAITING_FOR_WINDOW with pendingUntil the next opening, PENDING inside the window or once an urgent change is pending', async () => {
    const { f, assignment } = await heldBack([sundayNight]);
    const rollouts = svc.get(RolloutService);

    const waiting = await rollouts.rollout(f.org.principal, { assignmentId: assignment.id });
    expect(waiting.counts).toMatchObject({ pending: 0, waitingForWindow: 1, total: 1 });
    expect(waiting.edges[0].node).toMatchObject({ id: f.c1.id, state: 'WAITING_FOR_WINDOW', pendingUntil: new Date('2026-12-06T01:30:00Z') });
    const filtered = await rollouts.rollout(f.org.principal, { assignmentId: assignment.id, state: 'WAITING_FOR_WINDOW' });
    expect(filtered.totalCount).toBe(1);

    clock.at = new Date('2026-12-06T01:45:00Z');
    expect((await rollouts.rollout(f.org.principal, { assignmentId: assignment.id })).edges[0].node).toMatchObject({ state: 'PENDING', pendingUntil: null });

    clock.at = CLOSED;
    await assignments.update(f.org.principal, assignment.id, { enforcementAction: 'WARN', urgent: true });
    expect((await rollouts.rollout(f.org.principal, { assignmentId: assignment.id })).edges[0].node).toMatchObject({ state: 'PENDING', pendingUntil: null });
  });
});
