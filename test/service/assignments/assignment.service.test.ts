// Policy assignments through the service tier on the real Postgres: inheritance down both trees with
// provenance, the weakening rule, tenancy, deprecated versions, and the desired-state generation bump
// that touches exactly the clusters an assignment reaches.
import type { Cluster, ClusterGroup, Constraint, EnforcementAction, Namespace, Site, Workspace } from '../../../src/generated/prisma/client';
import { AssignmentRepository } from '../../../src/modules/assignments/assignment.repository';
import { AssignmentService } from '../../../src/modules/assignments/assignment.service';
import { Clock } from '../../../src/common/time/clock';
import { StagedRolloutRepository } from '../../../src/modules/staged-rollouts/staged-rollout.repository';
import { StagedRolloutService } from '../../../src/modules/staged-rollouts/staged-rollout.service';
import { ConstraintRepository } from '../../../src/modules/constraints/constraint.repository';
import { PolicyTemplateRepository } from '../../../src/modules/policy-templates/policy-template.repository';
import { TestData, type TestOrganization } from '../support/factories';
import { refusal } from '../support/refusal';
import { createServiceModule, type ServiceModule } from '../support/service-module';
import { GenerationRepository } from '../../../src/modules/desired-state/generation.repository';

let svc: ServiceModule;
let service: AssignmentService;
let data: TestData;
let counter = 0;

beforeAll(async () => {
  svc = await createServiceModule({
    providers: [
      AssignmentService,
      GenerationRepository,
      AssignmentRepository,
      ConstraintRepository,
      PolicyTemplateRepository,
      StagedRolloutService,
      StagedRolloutRepository,
      Clock,
    ],
  });
  service = svc.get(AssignmentService);
  data = new TestData(svc.prisma);
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
  /** site1/group1 env=prod, site1/group2 env=dev, site2/group1 env=dev, no site/group2. */
  c1: Cluster;
  c2: Cluster;
  c3: Cluster;
  c4: Cluster;
  ws: Workspace;
  /** In ws on c2: team=a, and kube-system. */
  ns: Namespace;
  nsSystem: Namespace;
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
  const c4 = await data.cluster(org).at(null).in(group2).create();
  const ws = await svc.prisma.workspace.create({ data: { organizationId: org.id, name: `ws-${++counter}` } });
  const ns = await svc.prisma.namespace.create({ data: { organizationId: org.id, clusterId: c2.id, workspaceId: ws.id, name: 'shop', labels: { team: 'a' } } });
  const nsSystem = await svc.prisma.namespace.create({ data: { organizationId: org.id, clusterId: c2.id, workspaceId: ws.id, name: 'kube-system' } });
  return { org, site1, site2, group1, group2, c1, c2, c3, c4, ws, ns, nsSystem };
}

async function constraint(org: TestOrganization, action: EnforcementAction = 'DENY', lifecycle: 'DRAFT' | 'PUBLISHED' | 'DEPRECATED' = 'PUBLISHED'): Promise<Constraint> {
  const n = ++counter;
  const kind = `K8sAssign${n}`;
  const template = await svc.prisma.policyTemplate.create({ data: { organizationId: org.id, name: kind.toLowerCase(), kind, createdBy: 'test' } });
  const version = await svc.prisma.policyTemplateVersion.create({
    data: { templateId: template.id, version: 1, kind, title: kind, rego: 'package x', sourceHash: `h${n}`, lifecycle, createdBy: 'test' },
  });
  return svc.prisma.constraint.create({ data: { organizationId: org.id, name: `c-${n}`, kind, templateVersionId: version.id, enforcementAction: action, createdBy: 'test' } });
}

async function generations(...clusters: Cluster[]): Promise<number[]> {
  return Promise.all(clusters.map(async (c) => (await data.reload(c)).desiredStateGeneration));
}

describe(AssignmentService.name, () => {
  it('inherits down organization → site and group → cluster → namespace and organization → workspace → namespace, with provenance', async () => {
    const f = await fleet();
    const p = f.org.principal;
    const [a, b, c, d, e] = [await constraint(f.org), await constraint(f.org, 'WARN'), await constraint(f.org), await constraint(f.org), await constraint(f.org, 'DRYRUN')];
    const atOrg = await service.assign(p, { constraintId: a.id, scope: 'ORGANIZATION', scopeId: f.org.id });
    const atSite = await service.assign(p, { constraintId: b.id, scope: 'SITE', scopeId: f.site1.id });
    const atGroup = await service.assign(p, { constraintId: c.id, scope: 'CLUSTER_GROUP', scopeId: f.group1.id, enforcementAction: 'WARN' });
    const atCluster = await service.assign(p, { constraintId: d.id, scope: 'CLUSTER', scopeId: f.c1.id });
    const atWs = await service.assign(p, { constraintId: e.id, scope: 'WORKSPACE', scopeId: f.ws.id, namespaceSelector: 'team=a' });
    expect(atOrg.excludedNamespaces).toEqual(['farpoint-system', 'kube-system']);

    const view = (list: Awaited<ReturnType<AssignmentService['effectiveForCluster']>>) =>
      list.map((x) => [x.assignment.id, x.constraint.id, x.enforcementAction, x.scope, x.scopeId, x.scopeName]).sort();
    expect(view(await service.effectiveForCluster(p, f.c1.id))).toEqual(
      [
        [atOrg.id, a.id, 'DENY', 'ORGANIZATION', f.org.id, f.org.name],
        [atSite.id, b.id, 'WARN', 'SITE', f.site1.id, f.site1.name],
        [atGroup.id, c.id, 'WARN', 'CLUSTER_GROUP', f.group1.id, f.group1.name],
        [atCluster.id, d.id, 'DENY', 'CLUSTER', f.c1.id, f.c1.name],
      ].sort(),
    );
    expect(view(await service.effectiveForCluster(p, f.c2.id))).toEqual(
      [
        [atOrg.id, a.id, 'DENY', 'ORGANIZATION', f.org.id, f.org.name],
        [atSite.id, b.id, 'WARN', 'SITE', f.site1.id, f.site1.name],
        [atWs.id, e.id, 'DRYRUN', 'WORKSPACE', f.ws.id, f.ws.name],
      ].sort(),
    );
    expect((await service.effectiveForCluster(p, f.c4.id)).map((x) => x.assignment.id)).toEqual([atOrg.id]);
    expect((await service.effectiveForNamespace(p, f.ns.id)).map((x) => [x.assignment.id, x.scope]).sort()).toEqual(
      [
        [atOrg.id, 'ORGANIZATION'],
        [atSite.id, 'SITE'],
        [atWs.id, 'WORKSPACE'],
      ].sort(),
    );
    // kube-system is excluded by default, and the workspace's namespace selector does not select it.
    expect(await service.effectiveForNamespace(p, f.nsSystem.id)).toEqual([]);

    // A cluster label selector narrows an assignment.
    const narrowed = await service.assign(p, { constraintId: d.id, scope: 'SITE', scopeId: f.site1.id, labelSelector: 'env=dev' });
    expect((await service.effectiveForCluster(p, f.c2.id)).map((x) => x.assignment.id)).toContain(narrowed.id);
    expect((await service.effectiveForCluster(p, f.c1.id)).map((x) => x.assignment.id)).not.toContain(narrowed.id);

    const listed = await service.list(p, { first: 10, filter: { scopeId: f.site1.id } });
    expect(listed.edges.map((edge) => edge.node.id).sort()).toEqual([atSite.id, narrowed.id].sort());
  });

  it('bumps the generation of exactly the clusters an assignment reaches, on assign, update and unassign', async () => {
    const f = await fleet();
    const bystander = await fleet();
    const p = f.org.principal;
    const all = [f.c1, f.c2, f.c3, f.c4, bystander.c1, bystander.c2, bystander.c3, bystander.c4];
    const k = await constraint(f.org);
    expect(await generations(...all)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);

    const a = await service.assign(p, { constraintId: k.id, scope: 'CLUSTER_GROUP', scopeId: f.group1.id, labelSelector: 'env=prod' });
    expect(await generations(...all)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    // Old reach (c1) and new reach (group1 env=dev: c3), in one UPDATE: each once.
    await service.update(p, a.id, { labelSelector: 'env=dev' });
    expect(await generations(...all)).toEqual([2, 0, 1, 0, 0, 0, 0, 0]);
    await service.unassign(p, a.id);
    expect(await generations(...all)).toEqual([2, 0, 2, 0, 0, 0, 0, 0]);

    // A workspace reaches the clusters of its namespaces (c2); the organization reaches all of its own.
    await service.assign(p, { constraintId: k.id, scope: 'WORKSPACE', scopeId: f.ws.id });
    expect(await generations(...all)).toEqual([2, 1, 2, 0, 0, 0, 0, 0]);
    await service.assign(p, { constraintId: k.id, scope: 'ORGANIZATION', scopeId: f.org.id });
    expect(await generations(...all)).toEqual([3, 2, 3, 1, 0, 0, 0, 0]);
    await service.assign(p, { constraintId: k.id, scope: 'SITE', scopeId: f.site2.id });
    expect(await generations(...all)).toEqual([3, 2, 4, 1, 0, 0, 0, 0]);

    const events = await data.eventsOf(a.id);
    expect(events.map((e) => e.type)).toEqual(['PolicyAssigned', 'PolicyAssignmentUpdated', 'PolicyUnassigned']);
    expect(events.map((e) => (e.data as { clustersAffected: number }).clustersAffected)).toEqual([1, 2, 1]);
    expect(events[0].actor).toBe(f.org.actor);
  });

  it('refuses a WARN or DRYRUN below a DENY of the same constraint that covers it, naming that assignment, and writes nothing', async () => {
    const f = await fleet();
    const p = f.org.principal;
    const k = await constraint(f.org, 'DENY');
    const deny = await service.assign(p, { constraintId: k.id, scope: 'SITE', scopeId: f.site1.id, labelSelector: 'env=prod' });
    const before = await generations(f.c1, f.c2, f.c3, f.c4);
    const count = await svc.prisma.policyAssignment.count({ where: { organizationId: f.org.id } });

    const refused = await refusal(service.assign(p, { constraintId: k.id, scope: 'CLUSTER', scopeId: f.c1.id, enforcementAction: 'WARN' }));
    expect(refused.code).toBe('POLICY_ASSIGNMENT_WEAKENS');
    expect(refused.details).toMatchObject({ assignmentId: deny.id, scope: 'SITE', scopeId: f.site1.id, field: 'input.enforcementAction' });
    expect(refused.message).toContain(deny.id);
    expect(await svc.prisma.policyAssignment.count({ where: { organizationId: f.org.id } })).toBe(count);
    expect(await generations(f.c1, f.c2, f.c3, f.c4)).toEqual(before);

    // The site's DENY selects env=prod only: c2 (env=dev) may have a WARN; a DENY or another constraint is always fine.
    const warn = await service.assign(p, { constraintId: k.id, scope: 'CLUSTER', scopeId: f.c2.id, enforcementAction: 'WARN' });
    await service.assign(p, { constraintId: k.id, scope: 'CLUSTER', scopeId: f.c1.id, enforcementAction: 'DENY' });
    await service.assign(p, { constraintId: (await constraint(f.org, 'WARN')).id, scope: 'CLUSTER', scopeId: f.c1.id });

    // An organization-wide DENY covers every level below it, also through an update.
    const orgDeny = await service.assign(p, { constraintId: k.id, scope: 'ORGANIZATION', scopeId: f.org.id });
    expect((await refusal(service.assign(p, { constraintId: k.id, scope: 'WORKSPACE', scopeId: f.ws.id, enforcementAction: 'DRYRUN' }))).details.assignmentId).toBe(orgDeny.id);
    expect((await refusal(service.assign(p, { constraintId: k.id, scope: 'CLUSTER_GROUP', scopeId: f.group2.id, enforcementAction: 'WARN' }))).code).toBe(
      'POLICY_ASSIGNMENT_WEAKENS',
    );
    const nowDeny = await service.update(p, warn.id, { enforcementAction: 'DENY' });
    const back = await refusal(service.update(p, nowDeny.id, { enforcementAction: 'DRYRUN' }));
    expect(back.code).toBe('POLICY_ASSIGNMENT_WEAKENS');
    expect((await svc.prisma.policyAssignment.findUniqueOrThrow({ where: { id: warn.id } })).enforcementAction).toBe('DENY');
  });

  it("refuses another organization's constraint and scopes as NOT_FOUND", async () => {
    const f = await fleet();
    const other = await fleet();
    const p = f.org.principal;
    const mine = await constraint(f.org);
    const theirs = await constraint(other.org);
    const notFound = async (call: Promise<unknown>, kind: string) => {
      const e = await refusal(call);
      expect([e.code, e.details.kind]).toEqual(['NOT_FOUND', kind]);
    };
    await notFound(service.assign(p, { constraintId: theirs.id, scope: 'ORGANIZATION', scopeId: f.org.id }), 'Constraint');
    await notFound(service.assign(p, { constraintId: mine.id, scope: 'ORGANIZATION', scopeId: other.org.id }), 'Organization');
    await notFound(service.assign(p, { constraintId: mine.id, scope: 'SITE', scopeId: other.site1.id }), 'Site');
    await notFound(service.assign(p, { constraintId: mine.id, scope: 'CLUSTER_GROUP', scopeId: other.group1.id }), 'ClusterGroup');
    await notFound(service.assign(p, { constraintId: mine.id, scope: 'CLUSTER', scopeId: other.c1.id }), 'Cluster');
    await notFound(service.assign(p, { constraintId: mine.id, scope: 'WORKSPACE', scopeId: other.ws.id }), 'Workspace');
    await notFound(service.assign(p, { constraintId: mine.id, scope: 'SITE', scopeId: 'not-a-uuid' }), 'Site');
    await notFound(service.effectiveForCluster(p, other.c1.id), 'Cluster');
    await notFound(service.effectiveForNamespace(p, other.ns.id), 'Namespace');
    const theirAssignment = await service.assign(other.org.principal, { constraintId: theirs.id, scope: 'ORGANIZATION', scopeId: other.org.id });
    await notFound(service.update(p, theirAssignment.id, { enforcementAction: 'WARN' }), 'PolicyAssignment');
    await notFound(service.unassign(p, theirAssignment.id), 'PolicyAssignment');
    expect(await svc.prisma.policyAssignment.count({ where: { organizationId: f.org.id } })).toBe(0);
    expect(await generations(other.c1)).toEqual([1]);
  });

  it('refuses a constraint of a deprecated template version, and bad selectors or namespace names, with the field', async () => {
    const f = await fleet();
    const p = f.org.principal;
    const old = await constraint(f.org, 'DENY', 'DEPRECATED');
    const deprecated = await refusal(service.assign(p, { constraintId: old.id, scope: 'ORGANIZATION', scopeId: f.org.id }));
    expect([deprecated.code, deprecated.details.field]).toEqual(['BAD_USER_INPUT', 'input.constraintId']);
    expect(deprecated.message).toContain('DEPRECATED');

    const k = await constraint(f.org);
    const badSelector = await refusal(service.assign(p, { constraintId: k.id, scope: 'ORGANIZATION', scopeId: f.org.id, labelSelector: 'env in (prod' }));
    expect([badSelector.code, badSelector.details.field]).toEqual(['BAD_USER_INPUT', 'input.labelSelector']);
    const badNs = await refusal(service.assign(p, { constraintId: k.id, scope: 'ORGANIZATION', scopeId: f.org.id, excludedNamespaces: ['Kube_System'] }));
    expect([badNs.code, badNs.details.field]).toEqual(['BAD_USER_INPUT', 'input.excludedNamespaces']);
    expect(await svc.prisma.policyAssignment.count({ where: { organizationId: f.org.id } })).toBe(0);
    expect(await generations(f.c1, f.c2, f.c3, f.c4)).toEqual([0, 0, 0, 0]);
  });
});
