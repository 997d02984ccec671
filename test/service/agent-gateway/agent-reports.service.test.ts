// Report ingestion (AgentReportsService with ClusterInventoryService and ClusterStatusService) on the
// real Postgres: a snapshot, then deltas on it; duplicates and replays skipped with the same ackedSeq; a
// delta without a base asks for SEND_SNAPSHOT; ATTACHED → READY on the first inventory; heartbeats stamp
// the server clock and bring a DISCONNECTED cluster back; a batch is stored completely or not at all.
// Only pub/sub is a recording fake.
import type { AgentCredential, Cluster } from '../../../src/generated/prisma/client';
import { PubSubGateway } from '../../../src/infra/redis/pubsub.gateway';
import { AgentClusterRepository } from '../../../src/modules/agent-gateway/agent-cluster.repository';
import { AgentCredentialRepository } from '../../../src/modules/agent-gateway/agent-credential.repository';
import { AgentCredentialService } from '../../../src/modules/agent-gateway/agent-credential.service';
import { AgentReportsService } from '../../../src/modules/agent-gateway/agent-reports.service';
import { ClusterOperationRepository } from '../../../src/modules/attach/cluster-operation.repository';
import { ClusterInventoryRepository } from '../../../src/modules/cluster-inventory/cluster-inventory.repository';
import { ClusterInventoryService } from '../../../src/modules/cluster-inventory/cluster-inventory.service';
import { ClusterStatusService } from '../../../src/modules/cluster-status/cluster-status.service';
import { ClusterRepository } from '../../../src/modules/clusters/cluster.repository';
import { EventRecorder } from '../../../src/modules/events/event.recorder';
import { AssignmentRepository } from '../../../src/modules/assignments/assignment.repository';
import { ViolationIngestionService } from '../../../src/modules/violations/violation-ingestion.service';
import { ViolationRepository } from '../../../src/modules/violations/violation.repository';
import { AgentProtocolError, type Inventory } from '../../../src/protocol';
import { makeInventory, makeNode } from '../../../src/protocol/testing/factories';
import { AgentSession } from '../support/agent-session';
import { TestData, type TestOrganization } from '../support/factories';
import { RecordingPubSub } from '../support/fakes';
import { createServiceModule, type ServiceModule } from '../support/service-module';

let svc: ServiceModule;
let reports: AgentReportsService;
let data: TestData;
let org: TestOrganization;
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
      AssignmentRepository,
    ],
    fakes: [{ provide: PubSubGateway, useValue: pubsub }],
  });
  reports = svc.get(AgentReportsService);
  data = new TestData(svc.prisma);
  org = await data.organization();
}, 30_000);

afterAll(async () => {
  await svc?.close();
});

beforeEach(() => pubsub.clear());
afterEach(() => jest.restoreAllMocks());

/** A cluster whose agent has registered (ATTACHED / UNKNOWN, agent 0.1.0) and its session. */
async function registeredAgent(): Promise<{ cluster: Cluster; credential: AgentCredential; agent: AgentSession }> {
  const cluster = await data.cluster(org).registered().create();
  const credential = await data.agentCredential(cluster);
  return { cluster, credential, agent: new AgentSession(reports, cluster, credential) };
}

/** A registered agent that has sent its first snapshot (two Ready nodes) and a heartbeat: READY / HEALTHY. */
async function reportingAgent(now = new Date()) {
  const registered = await registeredAgent();
  await registered.agent.send([registered.agent.snapshot(), registered.agent.heartbeat()], now);
  expect(await data.reload(registered.cluster)).toMatchObject({ phase: 'READY', health: 'HEALTHY' });
  pubsub.clear();
  return registered;
}

const storedInventory = (cluster: { id: string }) => svc.prisma.clusterInventory.findUnique({ where: { clusterId: cluster.id } });
const eventTypes = async (cluster: { id: string }) => (await data.eventsOf(cluster.id)).map((e) => e.type).sort();
const notReady = (name: string) =>
  makeNode({ name, roles: [], conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', lastTransitionTime: '2026-11-26T10:00:35Z' }] });

describe(AgentReportsService.name, () => {
  describe('inventory', () => {
    it('stores the first snapshot, acknowledges its seq and moves the cluster ATTACHED → READY with the health of its nodes', async () => {
      const { cluster, credential, agent } = await registeredAgent();

      expect(await agent.send([agent.snapshot()])).toEqual({ ackedSeq: 1, directives: [] });

      expect(await data.reload(cluster)).toMatchObject({
        phase: 'READY',
        phaseReason: 'The agent reported the first full inventory',
        health: 'HEALTHY',
        nodeCount: 2,
        allocatableCpuMillis: 7600,
        requestedCpuMillis: 750,
        distribution: 'K3S',
        kubernetesVersion: 'v1.31.4+k3s1',
        // A snapshot is not a heartbeat.
        lastHeartbeatAt: null,
      });
      const stored = await storedInventory(cluster);
      expect(stored?.ackedSeq).toBe(1);
      expect((stored?.snapshot as unknown as Inventory).nodes.map((n) => n.name)).toEqual(['node-1', 'node-2']);
      expect(await eventTypes(cluster)).toEqual(['ClusterHealthChanged', 'ClusterInventoryChanged', 'ClusterPhaseChanged']);
      expect(pubsub.published.map((p) => p.message)).toEqual([
        expect.objectContaining({ clusterId: cluster.id, phase: 'READY', previousPhase: 'ATTACHED', health: 'HEALTHY', previousHealth: 'UNKNOWN' }),
      ]);
      expect((await svc.prisma.agentCredential.findUniqueOrThrow({ where: { id: credential.id } })).firstUsedAt).not.toBeNull();
    });

    it('applies deltas to the stored snapshot: a node going NotReady makes the cluster WARNING, removing it HEALTHY again', async () => {
      const { cluster, agent } = await reportingAgent();

      expect(await agent.send([agent.delta({ nodes: { upserts: [notReady('node-2')], deletions: [] } })])).toEqual({ ackedSeq: 3, directives: [] });
      expect(await data.reload(cluster)).toMatchObject({ phase: 'READY', health: 'WARNING', nodeCount: 2 });

      expect(await agent.send([agent.delta({ nodes: { upserts: [], deletions: ['node-2'] }, kubernetesVersion: 'v1.32.0+k3s1' })])).toEqual({ ackedSeq: 4, directives: [] });
      expect(await data.reload(cluster)).toMatchObject({ health: 'HEALTHY', nodeCount: 1, kubernetesVersion: 'v1.32.0+k3s1' });
      expect((await storedInventory(cluster))?.snapshot).toMatchObject({ kubernetesVersion: 'v1.32.0+k3s1', nodes: [expect.objectContaining({ name: 'node-1' })] });
      const changed = (await data.eventsOf(cluster.id)).filter((e) => e.type === 'ClusterInventoryChanged').at(-1);
      expect(changed?.data).toEqual({
        from: { nodeCount: 2, kubernetesVersion: 'v1.31.4+k3s1', distribution: 'K3S' },
        to: { nodeCount: 1, kubernetesVersion: 'v1.32.0+k3s1', distribution: 'K3S' },
      });
    });

    it('acknowledges a delta that has no base, answers SEND_SNAPSHOT and stores no inventory; the snapshot that follows makes the cluster READY', async () => {
      const { cluster, agent } = await registeredAgent();

      expect(await agent.send([agent.delta({ nodes: { upserts: [], deletions: ['node-2'] } })])).toEqual({ ackedSeq: 1, directives: [{ type: 'SEND_SNAPSHOT' }] });
      expect(await data.reload(cluster)).toMatchObject({ phase: 'ATTACHED', health: 'UNKNOWN', nodeCount: 0 });
      expect(await storedInventory(cluster)).toMatchObject({ ackedSeq: 1, snapshot: null });

      expect(await agent.send([agent.snapshot()])).toEqual({ ackedSeq: 2, directives: [] });
      expect(await data.reload(cluster)).toMatchObject({ phase: 'READY', health: 'HEALTHY', nodeCount: 2 });
    });

    it('does not ask for a snapshot when the same batch brings one after its baseless delta', async () => {
      const { cluster, agent } = await registeredAgent();
      expect(await agent.send([agent.delta({ nodes: { upserts: [], deletions: ['node-2'] } }), agent.snapshot()])).toEqual({ ackedSeq: 2, directives: [] });
      expect(await data.reload(cluster)).toMatchObject({ phase: 'READY', nodeCount: 2 });
    });
  });

  describe('duplicates and replays', () => {
    it('skips a replayed batch and answers the same ackedSeq, changing and recording nothing', async () => {
      const { cluster, agent } = await registeredAgent();
      const first = new Date('2026-11-26T10:00:21Z');
      expect(await agent.send([agent.snapshot(), agent.heartbeat()], first)).toEqual({ ackedSeq: 2, directives: [] });
      const [row, stored, events] = [await data.reload(cluster), await storedInventory(cluster), await data.eventsOf(cluster.id)];
      pubsub.clear();

      expect(await agent.resend(new Date('2026-11-26T10:05:00Z'))).toEqual({ ackedSeq: 2, directives: [] });

      // The replayed heartbeat is not a new sign of life: lastHeartbeatAt stays at the first delivery.
      expect(await data.reload(cluster)).toEqual(row);
      expect(row.lastHeartbeatAt).toEqual(first);
      expect(await storedInventory(cluster)).toEqual(stored);
      expect(await data.eventsOf(cluster.id)).toEqual(events);
      expect(pubsub.published).toEqual([]);
    });

    it('applies only the items above ackedSeq of a batch that overlaps what is stored, whatever the old seqs now carry', async () => {
      const { cluster, agent } = await reportingAgent();
      // seq 1 is stored already; a different payload under the same seq is still a duplicate.
      const stale = { seq: 1, observedAt: '2026-11-26T10:01:00.000Z', kind: 'inventory.snapshot' as const, payload: makeInventory({ nodes: [makeNode({ name: 'node-9' })] }) };

      expect(await agent.send([stale, agent.delta({ nodes: { upserts: [], deletions: ['node-2'] } })])).toEqual({ ackedSeq: 3, directives: [] });

      expect(await data.reload(cluster)).toMatchObject({ nodeCount: 1 });
      expect((await storedInventory(cluster))?.snapshot).toMatchObject({ nodes: [expect.objectContaining({ name: 'node-1' })] });
    });

    it('answers the stored ackedSeq for a batch entirely below it', async () => {
      const { agent } = await reportingAgent();
      agent.seq = 0;
      expect(await agent.send([agent.heartbeat()])).toEqual({ ackedSeq: 2, directives: [] });
    });

    it('stores two copies of one batch sent at once only once: the second waits for the row lock and is skipped', async () => {
      const { cluster, agent } = await registeredAgent();
      const items = [agent.snapshot(), agent.heartbeat()];

      const answers = await Promise.all([agent.send(items), agent.send(items)]);

      expect(answers).toEqual([
        { ackedSeq: 2, directives: [] },
        { ackedSeq: 2, directives: [] },
      ]);
      expect(await eventTypes(cluster)).toEqual(['ClusterHealthChanged', 'ClusterInventoryChanged', 'ClusterPhaseChanged']);
      expect(pubsub.published).toHaveLength(1);
    });
  });

  describe('heartbeats and health', () => {
    it('stamps a heartbeat with the server clock, not the agent’s, and brings a DISCONNECTED cluster back to the health of its nodes', async () => {
      const { cluster, agent } = await reportingAgent(new Date('2026-11-26T10:00:00Z'));
      // What the health sweep leaves after the agent fell silent.
      await svc.prisma.cluster.update({ where: { id: cluster.id }, data: { health: 'DISCONNECTED' } });
      const now = new Date('2026-11-26T11:00:00Z');

      await agent.send([agent.heartbeat()], now);

      expect(await data.reload(cluster)).toMatchObject({ phase: 'READY', health: 'HEALTHY', lastHeartbeatAt: now });
      expect((await data.eventsOf(cluster.id)).at(-1)).toMatchObject({
        type: 'ClusterHealthChanged',
        actor: `agent:${cluster.name}`,
        data: { from: 'DISCONNECTED', to: 'HEALTHY' },
      });
      expect(pubsub.published.map((p) => p.message)).toEqual([expect.objectContaining({ health: 'HEALTHY', previousHealth: 'DISCONNECTED' })]);
    });

    it('leaves a DISCONNECTED cluster DISCONNECTED on an inventory change without a heartbeat (the sweep judges by heartbeats)', async () => {
      const { cluster, agent } = await reportingAgent();
      await svc.prisma.cluster.update({ where: { id: cluster.id }, data: { health: 'DISCONNECTED' } });

      await agent.send([agent.delta({ nodes: { upserts: [], deletions: ['node-2'] } })]);

      expect(await data.reload(cluster)).toMatchObject({ health: 'DISCONNECTED', nodeCount: 1 });
    });

    it('before any inventory, a heartbeat keeps the cluster ATTACHED / UNKNOWN but advances ackedSeq durably', async () => {
      const { cluster, agent } = await registeredAgent();
      const now = new Date('2026-11-26T10:00:21Z');

      expect(await agent.send([agent.heartbeat()], now)).toEqual({ ackedSeq: 1, directives: [] });

      expect(await data.reload(cluster)).toMatchObject({ phase: 'ATTACHED', health: 'UNKNOWN', lastHeartbeatAt: now });
      expect(await storedInventory(cluster)).toMatchObject({ ackedSeq: 1, snapshot: null });
      expect(await agent.resend()).toEqual({ ackedSeq: 1, directives: [] });
      expect(await data.eventsOf(cluster.id)).toEqual([]);
    });
  });

  describe('agent version', () => {
    it('records AgentVersionChanged when the agent reports another version, and nothing while it stays the same', async () => {
      const { cluster, agent } = await reportingAgent();
      agent.agentVersion = '0.2.0';

      await agent.send([agent.heartbeat()]);
      await agent.send([agent.heartbeat()]);

      expect(await data.reload(cluster)).toMatchObject({ agentVersion: '0.2.0' });
      const changes = (await data.eventsOf(cluster.id)).filter((e) => e.type === 'AgentVersionChanged');
      expect(changes.map((e) => e.data)).toEqual([{ from: '0.1.0', to: '0.2.0' }]);
    });
  });

  describe('atomicity and refusals', () => {
    it('stores nothing of a batch that fails midway (not its inventory, heartbeat, phase, Events nor the credential use), and takes it again in full', async () => {
      const { cluster, credential, agent } = await registeredAgent();
      const recorder = svc.get(EventRecorder);
      const record = recorder.record.bind(recorder);
      // Fails after the inventory, the cluster row and the credential's first use were written in the transaction.
      jest.spyOn(recorder, 'record').mockImplementation(async (tx, event) => {
        if (event.type === 'ClusterInventoryChanged') {
          throw new Error('the Event could not be written');
        }
        return record(tx, event);
      });

      await expect(agent.send([agent.snapshot(), agent.heartbeat()])).rejects.toThrow('the Event could not be written');

      expect(await data.reload(cluster)).toEqual(cluster);
      expect(await storedInventory(cluster)).toBeNull();
      expect((await svc.prisma.agentCredential.findUniqueOrThrow({ where: { id: credential.id } })).firstUsedAt).toBeNull();
      expect(await data.eventsOf(cluster.id)).toEqual([]);
      expect(pubsub.published).toEqual([]);

      jest.restoreAllMocks();
      expect(await agent.resend()).toEqual({ ackedSeq: 2, directives: [] });
      expect(await data.reload(cluster)).toMatchObject({ phase: 'READY', health: 'HEALTHY', nodeCount: 2 });
    });

    it('refuses a batch that names another cluster (CREDENTIAL_WRONG_CLUSTER), records a SECURITY Event on its own cluster and stores nothing', async () => {
      const { cluster, agent } = await registeredAgent();
      const victim = await data
        .cluster(await data.organization())
        .registered()
        .create();

      const error = await agent.send([agent.snapshot()], new Date(), { clusterId: victim.id }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(AgentProtocolError);
      expect((error as AgentProtocolError).code).toBe('CREDENTIAL_WRONG_CLUSTER');
      expect((await data.eventsOf(cluster.id)).map((e) => [e.type, e.severity, (e.data as { claimedClusterId: string }).claimedClusterId])).toEqual([
        ['CrossClusterReportRefused', 'SECURITY', victim.id],
      ]);
      expect(await data.eventsOf(victim.id)).toEqual([]);
      expect(await storedInventory(cluster)).toBeNull();
      expect(await storedInventory(victim)).toBeNull();
    });

    it('refuses a malformed batch (seq not increasing) with PROTOCOL_INVALID_BODY before reading or writing anything', async () => {
      const { cluster, credential, agent } = await registeredAgent();
      const [first, second] = [agent.heartbeat(), agent.heartbeat()];

      const error = await agent.send([second, first]).catch((e: unknown) => e);

      expect((error as AgentProtocolError).code).toBe('PROTOCOL_INVALID_BODY');
      expect(await storedInventory(cluster)).toBeNull();
      expect((await svc.prisma.agentCredential.findUniqueOrThrow({ where: { id: credential.id } })).firstUsedAt).toBeNull();
    });
  });
});
