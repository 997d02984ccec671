// Violation ingestion through AgentReportsService on the real Postgres: an audit.result upserts the open
// set of (cluster, assignment) and a complete one resolves what is gone; a duplicate seq changes nothing;
// an older generation is ignored; a cut or incomplete set resolves nothing; the per-cluster cap keeps the
// exact total on the summary row; refusals (another organization's assignment, one that does not reach the
// cluster, an object another cluster holds) store nothing of the batch; admission summaries become Events;
// the purge deletes resolved rows past the retention. Only pub/sub is a recording fake.
import type { AgentCredential, Cluster, EnforcementAction, PolicyAssignment } from '../../../src/generated/prisma/client';
import { PubSubGateway } from '../../../src/infra/redis/pubsub.gateway';
import { AgentClusterRepository } from '../../../src/modules/agent-gateway/agent-cluster.repository';
import { AgentCredentialRepository } from '../../../src/modules/agent-gateway/agent-credential.repository';
import { AgentCredentialService } from '../../../src/modules/agent-gateway/agent-credential.service';
import { AgentReportsService } from '../../../src/modules/agent-gateway/agent-reports.service';
import { AssignmentRepository } from '../../../src/modules/assignments/assignment.repository';
import { ClusterOperationRepository } from '../../../src/modules/attach/cluster-operation.repository';
import { ClusterInventoryRepository } from '../../../src/modules/cluster-inventory/cluster-inventory.repository';
import { ClusterInventoryService } from '../../../src/modules/cluster-inventory/cluster-inventory.service';
import { ClusterStatusService } from '../../../src/modules/cluster-status/cluster-status.service';
import { ClusterRepository } from '../../../src/modules/clusters/cluster.repository';
import { EventType } from '../../../src/modules/events/event-types';
import { ViolationIngestionService, violationsChannel } from '../../../src/modules/violations/violation-ingestion.service';
import { ViolationPurgeJob } from '../../../src/modules/violations/violation-purge.job';
import { ViolationRepository } from '../../../src/modules/violations/violation.repository';
import { ViolationService } from '../../../src/modules/violations/violation.service';
import { AgentErrorCode, AgentProtocolError, type AuditViolation, type ReportItem } from '../../../src/protocol';
import { AgentSession } from '../support/agent-session';
import { TestData, type TestOrganization } from '../support/factories';
import { RecordingPubSub } from '../support/fakes';
import { createServiceModule, type ServiceModule } from '../support/service-module';

const CAP = 5;
let svc: ServiceModule;
let reports: AgentReportsService;
let insights: ViolationService;
let data: TestData;
let org: TestOrganization;
let counter = 0;
const pubsub = new RecordingPubSub();

beforeAll(async () => {
  svc = await createServiceModule({
    providers: [
      AgentReportsService,
      AgentClusterRepository,
      ClusterRepository,
      ClusterInventoryService,
      ClusterInventoryRepository,
      ClusterOperationRepository,
      AgentCredentialService,
      AgentCredentialRepository,
      ClusterStatusService,
      ViolationIngestionService,
      ViolationRepository,
      ViolationService,
      ViolationPurgeJob,
      AssignmentRepository,
    ],
    fakes: [{ provide: PubSubGateway, useValue: pubsub }],
    env: { VIOLATION_MAX_OPEN_PER_CLUSTER: String(CAP), VIOLATION_RETENTION_DAYS: '7' },
  });
  reports = svc.get(AgentReportsService);
  insights = svc.get(ViolationService);
  data = new TestData(svc.prisma);
  org = await data.organization();
}, 30_000);

afterAll(async () => {
  await svc?.close();
});

let run = 0;
beforeEach(() => {
  pubsub.clear();
  run += 1;
});

async function agentOf(organization: TestOrganization): Promise<{ cluster: Cluster; credential: AgentCredential; agent: AgentSession }> {
  const cluster = await data.cluster(organization).registered().create();
  const credential = await data.agentCredential(cluster);
  return { cluster, credential, agent: new AgentSession(reports, cluster, credential) };
}

/** An assignment of a fresh constraint at the cluster (or the organization). */
async function assignment(organization: TestOrganization, cluster: Cluster | null, action: EnforcementAction = 'DENY'): Promise<PolicyAssignment> {
  const n = ++counter;
  const kind = `K8sViolation${n}`;
  const template = await svc.prisma.policyTemplate.create({ data: { organizationId: organization.id, name: kind.toLowerCase(), kind, createdBy: 'test' } });
  const version = await svc.prisma.policyTemplateVersion.create({
    data: { templateId: template.id, version: 1, kind, title: kind, rego: 'package x', sourceHash: `h${n}`, lifecycle: 'PUBLISHED', createdBy: 'test' },
  });
  const constraint = await svc.prisma.constraint.create({
    data: { organizationId: organization.id, name: `c-${n}`, kind, templateVersionId: version.id, enforcementAction: action, createdBy: 'test' },
  });
  return svc.prisma.policyAssignment.create({
    data: {
      organizationId: organization.id,
      constraintId: constraint.id,
      scope: cluster ? 'CLUSTER' : 'ORGANIZATION',
      clusterId: cluster?.id ?? null,
      createdBy: 'test',
    },
  });
}

// uids are unique per test: one org's clusters never share an object.
const pod = (name: string, uid: string = `uid-${run}-${name}`, namespace = 'shop'): AuditViolation => ({
  kind: 'Pod',
  apiGroup: '',
  namespace,
  name,
  uid,
  message: `container ${name} uses :latest`,
  action: 'DENY',
});

function audit(
  agent: AgentSession,
  a: Pick<PolicyAssignment, 'id'>,
  violations: AuditViolation[],
  extra: { generation?: number; complete?: boolean; totalViolations?: number } = {},
): ReportItem {
  return {
    seq: ++agent.seq,
    observedAt: '2026-12-01T10:00:00.000Z',
    kind: 'audit.result',
    payload: { assignmentId: a.id, generation: extra.generation ?? 1, complete: extra.complete ?? true, totalViolations: extra.totalViolations ?? violations.length, violations },
  };
}

const rows = (cluster: Pick<Cluster, 'id'>, a?: Pick<PolicyAssignment, 'id'>) =>
  svc.prisma.policyViolation.findMany({ where: { clusterId: cluster.id, ...(a ? { assignmentId: a.id } : {}) }, orderBy: { name: 'asc' } });
const view = async (cluster: Pick<Cluster, 'id'>, a?: Pick<PolicyAssignment, 'id'>) => (await rows(cluster, a)).map((r) => [r.name, r.state]);

async function refusal(call: Promise<unknown>): Promise<AgentProtocolError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentProtocolError);
  return error as AgentProtocolError;
}

describe(ViolationIngestionService.name, () => {
  it('opens a row per object, refreshes it on the next audit, resolves what a complete audit no longer finds and reopens it when it comes back', async () => {
    const { cluster, agent } = await agentOf(org);
    const a = await assignment(org, cluster);
    const t0 = new Date('2026-12-01T10:00:00Z');
    expect(await agent.send([audit(agent, a, [pod('a'), pod('b')])], t0)).toEqual({ ackedSeq: 1, directives: [] });
    expect(await view(cluster)).toEqual([
      ['a', 'OPEN'],
      ['b', 'OPEN'],
    ]);
    expect(pubsub.on(violationsChannel(org.id))).toEqual([expect.objectContaining({ clusterId: cluster.id, assignmentId: a.id, opened: 2, resolved: 0, open: 2 })]);

    const t1 = new Date('2026-12-01T10:01:00Z');
    await agent.send([audit(agent, a, [{ ...pod('b'), message: 'still latest' }])], t1);
    const [ra, rb] = await rows(cluster);
    expect(ra).toMatchObject({ state: 'RESOLVED', resolvedAt: t1, firstSeenAt: t0 });
    expect(rb).toMatchObject({
      state: 'OPEN',
      message: 'still latest',
      firstSeenAt: t0,
      lastSeenAt: t1,
      resolvedAt: null,
      constraintId: a.constraintId,
      objectUid: `uid-${run}-b`,
    });

    const t2 = new Date('2026-12-01T10:02:00Z');
    await agent.send([audit(agent, a, [pod('a'), pod('b')])], t2);
    expect((await rows(cluster))[0]).toMatchObject({ state: 'OPEN', firstSeenAt: t2, resolvedAt: null });
    expect(await svc.prisma.policyViolationSummary.findUnique({ where: { clusterId_assignmentId: { clusterId: cluster.id, assignmentId: a.id } } })).toMatchObject({
      totalViolations: 2,
      openRows: 2,
      complete: true,
    });
  });

  it('keys an object without a uid by kind/namespace/name, and ignores a replayed batch', async () => {
    const { cluster, agent } = await agentOf(org);
    const a = await assignment(org, cluster);
    const noUid: AuditViolation = { ...pod('cm'), kind: 'ConfigMap', uid: undefined };
    await agent.send([audit(agent, a, [noUid, noUid])]);
    expect(await rows(cluster)).toEqual([expect.objectContaining({ objectKey: 'ref:/ConfigMap/shop/cm', objectUid: null })]);
    const before = await rows(cluster);
    expect(await agent.resend(new Date(Date.now() + 60_000))).toEqual({ ackedSeq: 1, directives: [] });
    expect(await rows(cluster)).toEqual(before);
  });

  it('ignores an audit of an older generation than the last one stored', async () => {
    const { cluster, agent } = await agentOf(org);
    const a = await assignment(org, cluster);
    await agent.send([audit(agent, a, [pod('new')], { generation: 5 })]);
    expect(await agent.send([audit(agent, a, [pod('old')], { generation: 4 })])).toEqual({ ackedSeq: 2, directives: [] });
    expect(await view(cluster)).toEqual([['new', 'OPEN']]);
  });

  it('resolves nothing when the set is incomplete (a kind could not be listed) or cut (more than the agent lists)', async () => {
    const { cluster, agent } = await agentOf(org);
    const a = await assignment(org, cluster);
    await agent.send([audit(agent, a, [pod('a'), pod('b')])]);
    await agent.send([audit(agent, a, [pod('c')], { complete: false })]);
    await agent.send([audit(agent, a, [pod('d')], { totalViolations: 250 })]);
    expect(await view(cluster)).toEqual([
      ['a', 'OPEN'],
      ['b', 'OPEN'],
      ['c', 'OPEN'],
      ['d', 'OPEN'],
    ]);
    expect(await svc.prisma.policyViolationSummary.findFirst({ where: { clusterId: cluster.id } })).toMatchObject({ totalViolations: 250, openRows: 4, complete: true });
  });

  it(`keeps at most ${CAP} open rows per cluster; the summary row holds the exact total`, async () => {
    const { cluster, agent } = await agentOf(org);
    const [a, b] = [await assignment(org, cluster), await assignment(org, cluster, 'DRYRUN')];
    await agent.send([audit(agent, a, [pod('a1'), pod('a2'), pod('a3')])]);
    const many = Array.from({ length: 8 }, (_, i) => ({ ...pod(`b${i}`), action: 'DRYRUN' as const }));
    await agent.send([audit(agent, b, many)]);
    expect(await svc.prisma.policyViolation.count({ where: { clusterId: cluster.id, state: 'OPEN' } })).toBe(CAP);
    expect(await view(cluster, b)).toEqual([
      ['b0', 'OPEN'],
      ['b1', 'OPEN'],
    ]);
    expect(await svc.prisma.policyViolationSummary.findUnique({ where: { clusterId_assignmentId: { clusterId: cluster.id, assignmentId: b.id } } })).toMatchObject({
      totalViolations: 8,
      openRows: 2,
    });
    // Open rows stay open on the next audit even at the cap.
    await agent.send([audit(agent, a, [pod('a1'), pod('a2'), pod('a3')])]);
    expect(await svc.prisma.policyViolation.count({ where: { clusterId: cluster.id, assignmentId: a.id, state: 'OPEN' } })).toBe(3);
    const impact = await insights.impact(org.principal, b);
    expect(impact).toEqual({ objects: 2, namespaces: 1, clusters: 1, sites: 0, reportedViolations: 8 });
  });

  describe('refusals store nothing of the batch', () => {
    it("refuses an assignment of another organization with REPORT_ASSIGNMENT_REFUSED, and the batch's heartbeat is not stored either", async () => {
      const other = await data.organization();
      const { cluster, agent } = await agentOf(org);
      const theirs = await assignment(other, null);
      const error = await refusal(agent.send([agent.heartbeat(), audit(agent, theirs, [pod('x')])]));
      expect(error.code).toBe(AgentErrorCode.REPORT_ASSIGNMENT_REFUSED);
      expect(error.httpStatus).toBe(422);
      expect(await rows(cluster)).toEqual([]);
      expect(await svc.prisma.clusterInventory.findUnique({ where: { clusterId: cluster.id } })).toBeNull();
      expect((await data.reload(cluster)).lastHeartbeatAt).toBeNull();
    });

    it('refuses an assignment of the organization that does not reach this cluster, and an unknown one', async () => {
      const { cluster, agent } = await agentOf(org);
      const { cluster: elsewhere } = await agentOf(org);
      const there = await assignment(org, elsewhere);
      expect((await refusal(agent.send([audit(agent, there, [pod('x')])]))).code).toBe(AgentErrorCode.REPORT_ASSIGNMENT_REFUSED);
      expect((await refusal(agent.send([audit(agent, { id: '00000000-0000-4000-8000-000000000000' }, [])]))).code).toBe(AgentErrorCode.REPORT_ASSIGNMENT_REFUSED);
      expect(await rows(cluster)).toEqual([]);
    });

    it('refuses an admission summary naming an assignment that does not reach the cluster', async () => {
      const { cluster, agent } = await agentOf(org);
      const { cluster: elsewhere } = await agentOf(org);
      const there = await assignment(org, elsewhere);
      const item: ReportItem = {
        seq: ++agent.seq,
        observedAt: '2026-12-01T10:00:00.000Z',
        kind: 'admission.summary',
        payload: {
          windowStart: '2026-12-01T10:00:00.000Z',
          windowEnd: '2026-12-01T10:01:00.000Z',
          entries: [{ assignmentId: there.id, constraint: 'c', action: 'DENY', namespace: 'shop', kind: 'Pod', count: 3, samples: ['p'] }],
          droppedEntries: 0,
        },
      };
      expect((await refusal(agent.send([item]))).code).toBe(AgentErrorCode.REPORT_ASSIGNMENT_REFUSED);
      expect((await data.eventsOf(cluster.id)).filter((e) => e.type === EventType.PolicyAdmissionSummary)).toEqual([]);
    });

    it('refuses an object uid that another cluster of the organization holds with REPORT_OBJECT_OF_ANOTHER_CLUSTER', async () => {
      const first = await agentOf(org);
      const second = await agentOf(org);
      const everywhere = await assignment(org, null);
      await first.agent.send([audit(first.agent, everywhere, [pod('mine', 'shared-uid')])]);
      const error = await refusal(second.agent.send([audit(second.agent, everywhere, [pod('claimed', 'shared-uid'), pod('ok')])]));
      expect(error.code).toBe(AgentErrorCode.REPORT_OBJECT_OF_ANOTHER_CLUSTER);
      expect(await rows(second.cluster)).toEqual([]);
      expect(await view(first.cluster)).toEqual([['mine', 'OPEN']]);
    });
  });

  it('records an admission summary as one PolicyAdmissionSummary Event on the cluster', async () => {
    const { cluster, agent } = await agentOf(org);
    const a = await assignment(org, cluster, 'WARN');
    const payload = {
      windowStart: '2026-12-01T10:00:00.000Z',
      windowEnd: '2026-12-01T10:01:00.000Z',
      entries: [
        { assignmentId: a.id, constraint: 'no-latest', action: 'DENY' as const, namespace: 'shop', kind: 'Pod', count: 7, samples: ['p1', 'p2'] },
        { constraint: 'legacy', action: 'WARN' as const, namespace: '', kind: 'Namespace', count: 2, samples: ['ns1'] },
      ],
      droppedEntries: 0,
    };
    await agent.send([{ seq: ++agent.seq, observedAt: '2026-12-01T10:01:00.000Z', kind: 'admission.summary', payload }]);
    const events = (await data.eventsOf(cluster.id)).filter((e) => e.type === EventType.PolicyAdmissionSummary);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ objectKind: 'Cluster', severity: 'WARNING', data: { ...payload, total: 9 } });
    expect(events[0].message).toContain('7 refused, 2 warned, 0 would have been refused');
  });

  it('answers over the insights: filters, counts, compliance', async () => {
    const insightsOrg = await data.organization();
    const site = await data.site(insightsOrg);
    const clean = await data.cluster(insightsOrg).at(site).registered().create();
    const { cluster, agent } = await agentOf(insightsOrg);
    await svc.prisma.cluster.update({ where: { id: cluster.id }, data: { siteId: site.id } });
    void clean;
    const a = await assignment(insightsOrg, null, 'DRYRUN');
    await agent.send([
      audit(agent, a, [
        { ...pod('p1'), action: 'DRYRUN' },
        { ...pod('p2', 'u2', 'other'), action: 'DRYRUN' },
      ]),
    ]);
    const p = insightsOrg.principal;
    const list = await insights.list(p, { filter: { siteId: site.id, namespace: 'other' } });
    expect(list.totalCount).toBe(1);
    expect(list.edges[0].node).toMatchObject({ name: 'p2' });
    expect((await insights.list(p, { filter: { templateId: '00000000-0000-4000-8000-000000000000' } })).totalCount).toBe(0);
    expect(await insights.counts(p, { by: 'SITE' as never })).toEqual([{ id: site.id, open: 2, byAction: { deny: 0, warn: 0, dryrun: 2 } }]);
    expect(await insights.compliance(p, undefined, site.id)).toEqual({
      scope: 'SITE',
      clusters: 2,
      compliantClusters: 1,
      clustersWithViolations: 1,
      openViolations: 2,
      openByAction: { deny: 0, warn: 0, dryrun: 2 },
    });
    expect(await insights.impact(p, a)).toEqual({ objects: 2, namespaces: 2, clusters: 1, sites: 1, reportedViolations: 2 });
    // Another organization sees none of it.
    expect((await insights.list(org.principal, { filter: { assignmentId: a.id } })).totalCount).toBe(0);
    await expect(insights.compliance(org.principal, cluster.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('purges resolved rows older than VIOLATION_RETENTION_DAYS and keeps open ones', async () => {
    const { cluster, agent } = await agentOf(org);
    const a = await assignment(org, cluster);
    const longAgo = new Date(Date.now() - 10 * 24 * 3600 * 1000);
    await agent.send([audit(agent, a, [pod('old'), pod('kept')])], longAgo);
    await agent.send([audit(agent, a, [pod('kept')])], longAgo);
    await svc.get(ViolationPurgeJob).purge(new Date());
    expect(await view(cluster)).toEqual([['kept', 'OPEN']]);
  });
});
