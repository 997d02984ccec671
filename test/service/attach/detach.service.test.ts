// Detach through AttachService on the real Postgres, and its completion by the agent: a cluster whose
// agent reports goes DETACHING with a DETACH operation, every report is answered DETACH (an answer may
// be lost), and the agent's acknowledgement (AgentDetachService) revokes every credential and makes it
// DETACHED; one without a registered agent is DETACHED
// at once; force removes the record and everything hanging off it; detaching again changes nothing.
// Pub/sub and the queue are recording fakes; Kubernetes and the sealed box must not be touched at all.
import { SealedBox } from '../../../src/common/crypto/sealed-box';
import { FarpointError } from '../../../src/common/errors/farpoint-error';
import type { AgentCredential, Cluster } from '../../../src/generated/prisma/client';
import { KubeGateway } from '../../../src/infra/kubernetes/kube.gateway';
import { QueueGateway } from '../../../src/infra/queue/queue.gateway';
import { PubSubGateway } from '../../../src/infra/redis/pubsub.gateway';
import { AgentClusterRepository } from '../../../src/modules/agent-gateway/agent-cluster.repository';
import { AgentCredentialRepository } from '../../../src/modules/agent-gateway/agent-credential.repository';
import { AgentCredentialService } from '../../../src/modules/agent-gateway/agent-credential.service';
import { AgentDetachService } from '../../../src/modules/agent-gateway/agent-detach.service';
import { AgentReportsService } from '../../../src/modules/agent-gateway/agent-reports.service';
import { AssignmentRepository } from '../../../src/modules/assignments/assignment.repository';
import { AttachJobQueue } from '../../../src/modules/attach/attach-job.queue';
import { AttachService } from '../../../src/modules/attach/attach.service';
import { ClusterOperationRepository } from '../../../src/modules/attach/cluster-operation.repository';
import { RegistrationTokenRepository } from '../../../src/modules/attach/registration-token.repository';
import { ClusterGroupRepository } from '../../../src/modules/cluster-groups/cluster-group.repository';
import { ClusterInventoryRepository } from '../../../src/modules/cluster-inventory/cluster-inventory.repository';
import { ClusterInventoryService } from '../../../src/modules/cluster-inventory/cluster-inventory.service';
import { ClusterStatusService } from '../../../src/modules/cluster-status/cluster-status.service';
import { ClusterRepository } from '../../../src/modules/clusters/cluster.repository';
import { ClusterService } from '../../../src/modules/clusters/cluster.service';
import { SiteRepository } from '../../../src/modules/sites/site.repository';
import { ViolationIngestionService } from '../../../src/modules/violations/violation-ingestion.service';
import { ViolationRepository } from '../../../src/modules/violations/violation.repository';
import { type AgentProtocolError } from '../../../src/protocol';
import { AgentSession } from '../support/agent-session';
import { TestData, type TestOrganization } from '../support/factories';
import { RecordingPubSub, RecordingQueue, unused } from '../support/fakes';
import { createServiceModule, type ServiceModule } from '../support/service-module';
import { GenerationRepository } from '../../../src/modules/desired-state/generation.repository';

let svc: ServiceModule;
let attach: AttachService;
let reports: AgentReportsService;
let detach: AgentDetachService;
let credentials: AgentCredentialService;
let data: TestData;
let org: TestOrganization;
const pubsub = new RecordingPubSub();
const queue = new RecordingQueue();

beforeAll(async () => {
  svc = await createServiceModule({
    providers: [
      AttachService,
      AttachJobQueue,
      ClusterService,
      GenerationRepository,
      ClusterRepository,
      ClusterGroupRepository,
      SiteRepository,
      RegistrationTokenRepository,
      ClusterOperationRepository,
      ClusterStatusService,
      // Completing the detach: the agent's next report.
      AgentReportsService,
      AgentDetachService,
      AgentClusterRepository,
      ClusterInventoryService,
      ClusterInventoryRepository,
      AgentCredentialService,
      AgentCredentialRepository,
      ViolationIngestionService,
      ViolationRepository,
      AssignmentRepository,
    ],
    fakes: [
      { provide: PubSubGateway, useValue: pubsub },
      { provide: QueueGateway, useValue: queue },
      { provide: KubeGateway, useValue: unused('KubeGateway') },
      { provide: SealedBox, useValue: unused('SealedBox') },
    ],
  });
  attach = svc.get(AttachService);
  reports = svc.get(AgentReportsService);
  detach = svc.get(AgentDetachService);
  credentials = svc.get(AgentCredentialService);
  data = new TestData(svc.prisma);
  org = await data.organization();
}, 30_000);

afterAll(async () => {
  await svc?.close();
});

beforeEach(() => pubsub.clear());
// No detach path queues work: the agent finishes it, or nothing has to.
afterEach(() => expect(queue.enqueued).toEqual([]));

/** A READY / HEALTHY cluster whose agent reports, with its credential, a used registration token and a stored inventory. */
async function reportingCluster(): Promise<{ cluster: Cluster; credential: AgentCredential; agent: AgentSession }> {
  const registered = await data.cluster(org).registered().create();
  await data.registrationToken(registered, { usedAt: new Date() });
  const credential = await data.agentCredential(registered);
  const agent = new AgentSession(reports, registered, credential);
  await agent.send([agent.snapshot(), agent.heartbeat()]);
  pubsub.clear();
  return { cluster: await data.reload(registered), credential, agent };
}

const operationsOf = (cluster: { id: string }) => svc.prisma.clusterOperation.findMany({ where: { clusterId: cluster.id }, orderBy: { createdAt: 'asc' } });
const credentialsOf = (cluster: { id: string }) => svc.prisma.agentCredential.findMany({ where: { clusterId: cluster.id } });
const phaseChanges = async (cluster: { id: string }) => (await data.eventsOf(cluster.id)).filter((e) => e.type === 'ClusterPhaseChanged').map((e) => [e.data, e.actor]);

describe(`${AttachService.name}.detach`, () => {
  it('moves a cluster whose agent reports to DETACHING with a DETACH operation waiting for the agent; its credential keeps working', async () => {
    const { cluster, credential } = await reportingCluster();
    const unusedLink = await data.registrationToken(cluster);

    const detached = await attach.detach(org.principal, cluster.id, false);

    expect(detached).toMatchObject({ id: cluster.id, phase: 'DETACHING', phaseReason: 'Waiting for the agent to remove itself', health: 'HEALTHY' });
    expect((await operationsOf(cluster)).map(({ kind, state, createdBy }) => ({ kind, state, createdBy }))).toEqual([
      { kind: 'DETACH', state: 'WAITING_FOR_AGENT', createdBy: org.actor },
    ]);
    expect(await phaseChanges(cluster)).toContainEqual([{ from: 'READY', to: 'DETACHING', reason: 'Waiting for the agent to remove itself' }, org.actor]);
    expect(pubsub.published.map((p) => p.message)).toEqual([expect.objectContaining({ clusterId: cluster.id, phase: 'DETACHING', previousPhase: 'READY', actor: org.actor })]);
    // The agent must still be able to report, or it never hears DETACH.
    expect((await svc.prisma.agentCredential.findUniqueOrThrow({ where: { id: credential.id } })).revokedAt).toBeNull();
    expect((await svc.prisma.registrationToken.findUniqueOrThrow({ where: { id: unusedLink.id } })).revokedAt).not.toBeNull();
  });

  it('detaches a cluster whose agent never registered at once (DETACHED), cancelling its attach and its links', async () => {
    const cluster = await data.cluster(org).phase('ATTACHING').with({ attachMode: 'QUEUE' }).create();
    const link = await data.registrationToken(cluster);
    const attachOperation = await data.operation(cluster, { kind: 'ATTACH', state: 'WAITING_FOR_AGENT' });

    expect(await attach.detach(org.principal, cluster.id, false)).toMatchObject({ phase: 'DETACHED', phaseReason: 'Detached before an agent registered' });

    expect(await operationsOf(cluster)).toEqual([
      expect.objectContaining({ id: attachOperation.id, kind: 'ATTACH', state: 'FAILED', lastError: 'Cancelled by detach.', finishedAt: expect.any(Date) }),
    ]);
    expect((await svc.prisma.registrationToken.findUniqueOrThrow({ where: { id: link.id } })).revokedAt).not.toBeNull();
    expect(pubsub.published.map((p) => p.message)).toEqual([expect.objectContaining({ phase: 'DETACHED', previousPhase: 'ATTACHING' })]);
  });

  it('treats an ERROR cluster whose agent had registered (kube-system UID known) as running: DETACHING, not DETACHED', async () => {
    const cluster = await data.cluster(org).registered().phase('ERROR').create();
    expect(await attach.detach(org.principal, cluster.id, false)).toMatchObject({ phase: 'DETACHING' });
    expect((await operationsOf(cluster)).map((o) => o.kind)).toEqual(['DETACH']);
  });

  it.each(['READY', 'DETACHING'] as const)(
    'a failing attach leaves a %s cluster as it is (its agent registered or a detach began meanwhile) and only ends the operation',
    async (phase) => {
      const cluster = await data.cluster(org).registered().phase(phase).create();
      const operation = await data.operation(cluster, { kind: 'ATTACH', state: 'WAITING_FOR_AGENT' });
      pubsub.clear();
      await attach.fail(operation, cluster, 'The agent was installed but did not register in time.');
      expect(await data.reload(cluster)).toMatchObject({ phase });
      expect((await operationsOf(cluster)).map((o) => [o.kind, o.state])).toEqual([['ATTACH', 'FAILED']]);
      expect(pubsub.published).toEqual([]);
    },
  );

  it('a failing attach moves a cluster still waiting for its agent to ERROR with the reason', async () => {
    const cluster = await data.cluster(org).phase('ATTACHING').create();
    const operation = await data.operation(cluster, { kind: 'ATTACH', state: 'WAITING_FOR_AGENT' });
    await attach.fail(operation, cluster, 'The agent was installed but did not register in time.');
    expect(await data.reload(cluster)).toMatchObject({ phase: 'ERROR', phaseReason: 'The agent was installed but did not register in time.' });
  });

  it.each(['DETACHING', 'DETACHED'] as const)('is harmless on a %s cluster: a second detach changes, records and publishes nothing', async (phase) => {
    const { cluster } = await reportingCluster();
    await attach.detach(org.principal, cluster.id, false);
    if (phase === 'DETACHED') {
      await svc.prisma.cluster.update({ where: { id: cluster.id }, data: { phase: 'DETACHED' } });
    }
    const [row, events, operations] = [await data.reload(cluster), await data.eventsOf(cluster.id), await operationsOf(cluster)];
    pubsub.clear();

    expect(await attach.detach(org.principal, cluster.id, false)).toEqual(row);

    expect(await data.reload(cluster)).toEqual(row);
    expect(await data.eventsOf(cluster.id)).toEqual(events);
    expect(await operationsOf(cluster)).toEqual(operations);
    expect(pubsub.published).toEqual([]);
  });

  it("answers NOT_FOUND for another organization's cluster and changes nothing", async () => {
    const foreign = await data
      .cluster(await data.organization())
      .registered()
      .phase('READY')
      .create();
    for (const force of [false, true]) {
      const error = await attach.detach(org.principal, foreign.id, force).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FarpointError);
      expect((error as FarpointError).code).toBe('NOT_FOUND');
    }
    expect(await data.reload(foreign)).toEqual(foreign);
  });

  describe('force', () => {
    it('removes the record and with it the credentials, links, operations and inventory, and records ClusterForceDetached', async () => {
      const { cluster } = await reportingCluster();
      await data.operation(cluster, { kind: 'ATTACH', state: 'SUCCEEDED' });

      expect(await attach.detach(org.principal, cluster.id, true)).toMatchObject({ id: cluster.id, phase: 'DETACHED' });

      const where = { where: { clusterId: cluster.id } };
      expect(await svc.prisma.cluster.count({ where: { id: cluster.id } })).toBe(0);
      expect([
        await svc.prisma.agentCredential.count(where),
        await svc.prisma.registrationToken.count(where),
        await svc.prisma.clusterOperation.count(where),
        await svc.prisma.clusterInventory.count(where),
      ]).toEqual([0, 0, 0, 0]);
      // Events outlive their object: the audit trail says who removed it.
      expect((await data.eventsOf(cluster.id)).at(-1)).toMatchObject({ type: 'ClusterForceDetached', severity: 'WARNING', actor: org.actor });
    });

    it('a second force detach finds nothing to remove (NOT_FOUND) and records nothing', async () => {
      const { cluster } = await reportingCluster();
      await attach.detach(org.principal, cluster.id, true);
      const events = await data.eventsOf(cluster.id);

      const error = await attach.detach(org.principal, cluster.id, true).catch((e: unknown) => e);

      expect((error as FarpointError).code).toBe('NOT_FOUND');
      expect(await data.eventsOf(cluster.id)).toEqual(events);
    });
  });

  describe('DETACH until the agent acknowledges it', () => {
    it('answers DETACH to every report while the cluster is DETACHING, revoking nothing: a lost answer is heard again', async () => {
      const { cluster, agent } = await reportingCluster();
      await attach.detach(org.principal, cluster.id, false);
      pubsub.clear();

      // The batch is still acknowledged, so the agent can drop it before removing itself.
      expect(await agent.send([agent.heartbeat()])).toEqual({ ackedSeq: 3, directives: [{ type: 'DETACH' }] });
      // That answer never reached the agent: it reports again with the same credential.
      expect(await agent.send([agent.heartbeat()])).toEqual({ ackedSeq: 4, directives: [{ type: 'DETACH' }] });

      expect(await data.reload(cluster)).toMatchObject({ phase: 'DETACHING' });
      expect((await credentialsOf(cluster)).map((c) => c.revokedAt)).toEqual([null]);
      expect((await operationsOf(cluster)).map((o) => [o.kind, o.state])).toEqual([['DETACH', 'WAITING_FOR_AGENT']]);
      expect(pubsub.published).toEqual([]);
    });

    it('answers DETACH rather than SEND_SNAPSHOT when the last batch also carries a delta without a base', async () => {
      const cluster = await data.cluster(org).registered().create();
      const agent = new AgentSession(reports, cluster, await data.agentCredential(cluster));
      await attach.detach(org.principal, cluster.id, false);

      expect(await agent.send([agent.delta({ nodes: { upserts: [], deletions: ['node-1'] } })])).toEqual({ ackedSeq: 1, directives: [{ type: 'DETACH' }] });
    });

    it('the acknowledgement revokes every credential of the cluster, finishes the operation and leaves the cluster DETACHED', async () => {
      const { cluster, agent } = await reportingCluster();
      const pendingSuccessor = await data.agentCredential(cluster, { previousId: agent.credential.id });
      await attach.detach(org.principal, cluster.id, false);
      await agent.send([agent.heartbeat()]);
      pubsub.clear();
      const now = new Date();

      expect(await detach.acknowledge(agent.credential, { clusterId: cluster.id }, now)).toEqual({ clusterId: cluster.id, detachedAt: now.toISOString() });

      expect(await data.reload(cluster)).toMatchObject({ phase: 'DETACHED', health: 'UNKNOWN', phaseReason: 'The agent acknowledged DETACH; its credentials are revoked' });
      expect((await credentialsOf(cluster)).map((c) => [c.id, c.revokedAt])).toEqual(
        expect.arrayContaining([
          [agent.credential.id, now],
          [pendingSuccessor.id, now],
        ]),
      );
      expect((await operationsOf(cluster)).map((o) => [o.kind, o.state])).toEqual([['DETACH', 'SUCCEEDED']]);
      expect((await data.eventsOf(cluster.id)).find((e) => e.type === 'ClusterDetached')).toMatchObject({
        actor: `agent:${cluster.name}`,
        data: { revokedCredentials: 2, completedOperations: 1 },
      });
      expect(pubsub.published.map((p) => p.message)).toEqual([expect.objectContaining({ phase: 'DETACHED', previousPhase: 'DETACHING', health: 'UNKNOWN' })]);
    });

    it('refuses rotation while DETACHING (CLUSTER_DETACHING) and issues nothing', async () => {
      const { cluster, agent } = await reportingCluster();
      await attach.detach(org.principal, cluster.id, false);

      const error = await credentials.rotate(agent.credential, { clusterId: cluster.id }).catch((e: unknown) => e);

      expect((error as AgentProtocolError).code).toBe('CLUSTER_DETACHING');
      expect(await credentialsOf(cluster)).toHaveLength(1);
    });

    it.each(['READY', 'ATTACHED'] as const)('refuses an acknowledgement from a %s cluster (DETACH_NOT_REQUESTED) and changes nothing', async (phase) => {
      const { cluster, agent } = await reportingCluster();
      await svc.prisma.cluster.update({ where: { id: cluster.id }, data: { phase } });
      const row = await data.reload(cluster);

      const error = await detach.acknowledge(agent.credential, { clusterId: cluster.id }).catch((e: unknown) => e);

      expect((error as AgentProtocolError).code).toBe('DETACH_NOT_REQUESTED');
      expect(await data.reload(cluster)).toEqual(row);
      expect((await credentialsOf(cluster)).map((c) => c.revokedAt)).toEqual([null]);
    });

    it('refuses an acknowledgement naming another cluster (CREDENTIAL_WRONG_CLUSTER) and leaves both as they are', async () => {
      const { cluster, agent } = await reportingCluster();
      const other = await reportingCluster();
      await attach.detach(org.principal, other.cluster.id, false);

      const error = await detach.acknowledge(agent.credential, { clusterId: other.cluster.id }).catch((e: unknown) => e);

      expect((error as AgentProtocolError).code).toBe('CREDENTIAL_WRONG_CLUSTER');
      expect(await data.reload(other.cluster)).toMatchObject({ phase: 'DETACHING' });
      expect(await data.reload(cluster)).toMatchObject({ phase: 'READY' });
    });

    it('refuses any later report from the detached cluster (CREDENTIAL_REVOKED at authentication) and stores nothing of it', async () => {
      const { cluster, agent } = await reportingCluster();
      await attach.detach(org.principal, cluster.id, false);
      await detach.acknowledge(agent.credential, { clusterId: cluster.id });
      const [row, stored] = [await data.reload(cluster), await svc.prisma.clusterInventory.findUnique({ where: { clusterId: cluster.id } })];
      const fresh = await svc.prisma.agentCredential.findUniqueOrThrow({ where: { id: agent.credential.id } });

      // The guard refuses the credential from now on; the services refuse even a row read before the ack.
      expect(fresh.revokedAt).not.toBeNull();
      const late = await agent.send([agent.heartbeat()]).catch((e: unknown) => e);
      const again = await detach.acknowledge(agent.credential, { clusterId: cluster.id }).catch((e: unknown) => e);
      const rotation = await credentials.rotate(agent.credential, { clusterId: cluster.id }).catch((e: unknown) => e);

      expect([late, again, rotation].map((e) => (e as AgentProtocolError).code)).toEqual(['CREDENTIAL_REVOKED', 'CREDENTIAL_REVOKED', 'CREDENTIAL_REVOKED']);
      expect(await data.reload(cluster)).toEqual(row);
      expect(await svc.prisma.clusterInventory.findUnique({ where: { clusterId: cluster.id } })).toEqual(stored);
    });
  });
});
