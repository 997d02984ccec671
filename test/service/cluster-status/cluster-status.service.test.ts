// ClusterStatusService on the real Postgres: every transition writes the row and one Event per changed
// field in the caller's transaction, and is a compare-and-set on the state it was decided from, so a
// decision made on a stale read is skipped and leaves no trace. Publishing (Redis) is recorded, not sent.
import { ClusterStatusService } from '../../../src/modules/cluster-status/cluster-status.service';
import { ClusterRepository } from '../../../src/modules/clusters/cluster.repository';
import { TransactionRunner } from '../../../src/infra/database/transaction';
import { PubSubGateway } from '../../../src/infra/redis/pubsub.gateway';
import { TestData, type TestOrganization } from '../support/factories';
import { RecordingPubSub } from '../support/fakes';
import { createServiceModule, type ServiceModule } from '../support/service-module';

/** The channel subscribers of an organization listen on (API replicas fan it out to GraphQL subscriptions). */
const channelOf = (organizationId: string) => `cluster-status:${organizationId}`;

let svc: ServiceModule;
let status: ClusterStatusService;
let transactions: TransactionRunner;
let data: TestData;
let org: TestOrganization;
const pubsub = new RecordingPubSub();

beforeAll(async () => {
  svc = await createServiceModule({ providers: [ClusterStatusService, ClusterRepository], fakes: [{ provide: PubSubGateway, useValue: pubsub }] });
  status = svc.get(ClusterStatusService);
  transactions = svc.get(TransactionRunner);
  data = new TestData(svc.prisma);
  org = await data.organization();
}, 30_000);

afterAll(async () => {
  await svc?.close();
});

beforeEach(() => pubsub.clear());

describe(ClusterStatusService.name, () => {
  describe('transition', () => {
    it('writes phase and health and records one Event per changed field, with the severity of the new state', async () => {
      const cluster = await data.cluster(org).phase('READY').health('HEALTHY').create();
      const change = await transactions.run((tx) => status.transition(tx, cluster, { phase: 'ERROR', health: 'UNHEALTHY', reason: 'kubelet down' }, 'system:test'));

      expect(change).toMatchObject({
        clusterId: cluster.id,
        clusterName: cluster.name,
        organizationId: org.id,
        phase: 'ERROR',
        previousPhase: 'READY',
        health: 'UNHEALTHY',
        previousHealth: 'HEALTHY',
        reason: 'kubelet down',
        actor: 'system:test',
      });
      expect(await data.reload(cluster)).toMatchObject({ phase: 'ERROR', health: 'UNHEALTHY', phaseReason: 'kubelet down' });
      const events = (await data.eventsOf(cluster.id)).map(({ type, severity, actor, data: d }) => ({ type, severity, actor, data: d }));
      expect(events.sort((a, b) => a.type.localeCompare(b.type))).toEqual([
        { type: 'ClusterHealthChanged', severity: 'WARNING', actor: 'system:test', data: { from: 'HEALTHY', to: 'UNHEALTHY' } },
        { type: 'ClusterPhaseChanged', severity: 'ERROR', actor: 'system:test', data: { from: 'READY', to: 'ERROR', reason: 'kubelet down' } },
      ]);
    });

    it('records only ClusterHealthChanged when only the health changes, and keeps the phase reason', async () => {
      const cluster = await data.cluster(org).phase('READY').health('WARNING').with({ phaseReason: 'The agent reported the first full inventory' }).create();
      const change = await transactions.run((tx) => status.transition(tx, cluster, { health: 'HEALTHY' }, 'agent:x'));

      expect(change).toMatchObject({ phase: 'READY', previousPhase: 'READY', health: 'HEALTHY', reason: 'The agent reported the first full inventory' });
      expect(await data.reload(cluster)).toMatchObject({ phase: 'READY', health: 'HEALTHY', phaseReason: 'The agent reported the first full inventory' });
      expect((await data.eventsOf(cluster.id)).map((e) => [e.type, e.severity])).toEqual([['ClusterHealthChanged', 'INFO']]);
    });

    it('changes and records nothing when the next state is the current one', async () => {
      const cluster = await data.cluster(org).phase('READY').health('HEALTHY').create();
      const change = await transactions.run((tx) => status.transition(tx, cluster, { phase: 'READY', health: 'HEALTHY', reason: 'again' }, 'system:test'));

      expect(change).toBeNull();
      expect((await data.reload(cluster)).updatedAt).toEqual(cluster.updatedAt);
      expect(await data.eventsOf(cluster.id)).toEqual([]);
    });

    it('skips a transition decided from a stale state: the state committed since stands and nothing is recorded', async () => {
      const read = await data.cluster(org).phase('DETACHING').health('HEALTHY').create();
      // Committed after `read` was taken: the agent finished the detach.
      await svc.prisma.cluster.update({ where: { id: read.id }, data: { phase: 'DETACHED', health: 'UNKNOWN' } });

      const change = await transactions.run((tx) => status.transition(tx, read, { health: 'DISCONNECTED', reason: 'No heartbeat' }, 'system:health-sweep'));

      expect(change).toBeNull();
      expect(await data.reload(read)).toMatchObject({ phase: 'DETACHED', health: 'UNKNOWN' });
      expect(await data.eventsOf(read.id)).toEqual([]);
    });

    it('with sameHeartbeat, loses to a heartbeat committed since the read (same phase and health, newer lastHeartbeatAt)', async () => {
      const read = await data
        .cluster(org)
        .phase('READY')
        .health('HEALTHY')
        .with({ lastHeartbeatAt: new Date('2026-01-01T10:00:00Z') })
        .create();
      await svc.prisma.cluster.update({ where: { id: read.id }, data: { lastHeartbeatAt: new Date('2026-01-01T10:05:00Z') } });

      const skipped = await transactions.run((tx) => status.transition(tx, read, { health: 'DISCONNECTED' }, 'system:health-sweep', { sameHeartbeat: true }));
      expect(skipped).toBeNull();
      expect(await data.reload(read)).toMatchObject({ health: 'HEALTHY' });
      expect(await data.eventsOf(read.id)).toEqual([]);

      // Without the option the heartbeat is not part of the compare: the same decision is applied.
      const applied = await transactions.run((tx) => status.transition(tx, read, { health: 'DISCONNECTED' }, 'system:health-sweep'));
      expect(applied).toMatchObject({ health: 'DISCONNECTED', previousHealth: 'HEALTHY' });
    });

    it('leaves neither the change nor its Events when the caller rolls back', async () => {
      const cluster = await data.cluster(org).phase('ATTACHED').health('UNKNOWN').create();
      const failed = transactions.run(async (tx) => {
        await status.transition(tx, cluster, { phase: 'READY', health: 'HEALTHY' }, 'agent:x');
        throw new Error('a later write of the same request failed');
      });

      await expect(failed).rejects.toThrow('a later write of the same request failed');
      expect(await data.reload(cluster)).toMatchObject({ phase: 'ATTACHED', health: 'UNKNOWN' });
      expect(await data.eventsOf(cluster.id)).toEqual([]);
    });

    it('publishes nothing itself: the caller publishes after commit', async () => {
      const cluster = await data.cluster(org).phase('ATTACHED').create();
      await transactions.run((tx) => status.transition(tx, cluster, { phase: 'READY' }, 'agent:x'));
      expect(pubsub.published).toEqual([]);
    });
  });

  describe('publish', () => {
    it("publishes each change on its organization's channel and skips the nulls of transitions that changed nothing", async () => {
      const other = await data.organization();
      const [a, b] = [await data.cluster(org).phase('ATTACHED').create(), await data.cluster(other).phase('DETACHING').create()];
      const changes = await transactions.run(async (tx) => [
        await status.transition(tx, a, { phase: 'READY' }, 'agent:a'),
        await status.transition(tx, a, { phase: 'READY' }, 'agent:a'), // stale now: null
        await status.transition(tx, b, { phase: 'DETACHED' }, 'agent:b'),
      ]);
      expect(changes[1]).toBeNull();

      await status.publish(changes);

      expect(pubsub.published.map((p) => p.channel)).toEqual([channelOf(org.id), channelOf(other.id)]);
      expect(pubsub.on(channelOf(org.id))).toEqual([expect.objectContaining({ clusterId: a.id, phase: 'READY', previousPhase: 'ATTACHED' })]);
      expect(pubsub.on(channelOf(other.id))).toEqual([expect.objectContaining({ clusterId: b.id, phase: 'DETACHED', previousPhase: 'DETACHING' })]);
    });

    it('does not throw when Redis refuses: the committed change stands, only the live notification is lost', async () => {
      const cluster = await data.cluster(org).phase('ATTACHED').create();
      const change = await transactions.run((tx) => status.transition(tx, cluster, { phase: 'READY' }, 'agent:x'));
      pubsub.failWith = new Error('connect ECONNREFUSED');

      await expect(status.publish([change])).resolves.toBeUndefined();
      expect(await data.reload(cluster)).toMatchObject({ phase: 'READY' });
    });
  });
});
