// The health sweep against changes committed between its read and its write, on the real API and
// Postgres. The sweep decides from an unlocked snapshot (findSilent); its `beforeWrite` seam commits a
// heartbeat, a completed detach (DETACH heard and acknowledged) or the first inventory through the agent protocol right there, then the
// sweep's write runs. Every status write is a compare-and-set on the state it was decided from, so the
// later state stands and the sweep records and publishes nothing for that cluster. A last case holds a
// competing writer's row lock while the sweep's UPDATE waits for it, then commits.
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { type Cluster } from '../../src/generated/prisma/client';
import { PubSubGateway } from '../../src/infra/redis/pubsub.gateway';
import { ClusterHealthSweepJob } from '../../src/modules/cluster-status/cluster-health-sweep.job';
import { AgentPaths, type ReportItem, type ReportsResponse, ReportsResponseSchema } from '../../src/protocol';
import { makeHeartbeatItem, makeInventory, makeReportsRequest } from '../../src/protocol/testing/factories';
import { ApiFactory } from '../support/factories';
import { startApi, type TestApi } from '../support/api';

let api: TestApi;
let admin: string;
let make: ApiFactory;
let sweepJob: ClusterHealthSweepJob;
let published: jest.SpyInstance;

interface Agent {
  clusterId: string;
  credential: string;
  seq: number;
}

async function post(path: string, body: unknown, credential?: string): Promise<{ status: number; json: any }> {
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/** attachCluster through GraphQL, then the agent registers: ATTACHED / UNKNOWN. */
async function registeredAgent(): Promise<Agent> {
  const group = await make.group().create();
  const data = await api.gqlOk<{ attachCluster: { cluster: { id: string }; registrationToken: string } }>(
    admin,
    'mutation($in: AttachClusterInput!) { attachCluster(input: $in) { cluster { id } registrationToken } }',
    { in: { name: make.nextName('cluster'), groupId: group.id } },
  );
  const registered = await post(AgentPaths.register, {
    registrationToken: data.attachCluster.registrationToken,
    clusterUid: randomUUID(),
    agentVersion: '0.1.0',
    installationSecret: randomBytes(32).toString('base64url'),
  });
  expect(registered.status).toBe(200);
  return { clusterId: data.attachCluster.cluster.id, credential: registered.json.credential, seq: 0 };
}

async function report(agent: Agent, items: ReportItem[]): Promise<ReportsResponse> {
  const res = await post(AgentPaths.reports, makeReportsRequest(items, { clusterId: agent.clusterId }), agent.credential);
  expect(res.status).toBe(200);
  return ReportsResponseSchema.parse(res.json);
}
const heartbeat = (agent: Agent): ReportItem => makeHeartbeatItem(++agent.seq);
const snapshot = (agent: Agent): ReportItem => ({ seq: ++agent.seq, observedAt: '2026-11-26T10:00:30.000Z', kind: 'inventory.snapshot', payload: makeInventory() });

/** A registered agent that sent its first inventory and a heartbeat: READY / HEALTHY. */
async function healthyAgent(): Promise<Agent> {
  const agent = await registeredAgent();
  await report(agent, [snapshot(agent), heartbeat(agent)]);
  expect(await statusOf(agent.clusterId)).toMatchObject({ phase: 'READY', health: 'HEALTHY' });
  return agent;
}

const row = (id: string) => api.prisma.cluster.findUniqueOrThrow({ where: { id } });
const statusOf = async (id: string) => {
  const { phase, health, lastHeartbeatAt } = await row(id);
  return { phase, health, lastHeartbeatAt };
};
const eventsOf = (id: string) =>
  api.prisma.event.findMany({ where: { objectId: id, type: { in: ['ClusterPhaseChanged', 'ClusterHealthChanged'] } }, orderBy: { occurredAt: 'asc' } });
/** What was published for cluster `id` since the sweep started (including changes the seam committed). */
const publishedFor = (id: string) => published.mock.calls.filter(([, message]) => (message as { clusterId?: string }).clusterId === id).map(([, message]) => message);

/** Every registered cluster looks silent an hour from now, so the sweep picks up the cluster under test. */
const anHourFromNow = () => new Date(Date.now() + 3600_000);

/** Runs the sweep; `between` runs for `target` after the sweep read it and before its write. */
async function sweepWith(target: string, between: (snapshot: Cluster) => Promise<void> = async () => undefined) {
  const seen: Cluster[] = [];
  published.mockClear();
  const result = await sweepJob.sweep(anHourFromNow(), async (cluster) => {
    if (cluster.id !== target) {
      return;
    }
    seen.push(cluster);
    await between(cluster);
  });
  expect(seen).toHaveLength(1);
  return { result, snapshot: seen[0] };
}

beforeAll(async () => {
  api = await startApi();
  admin = await api.bootstrapOrg('race-org');
  make = new ApiFactory(api, admin);
  sweepJob = api.app.get(ClusterHealthSweepJob);
  published = jest.spyOn(api.app.get(PubSubGateway), 'publish');
}, 60_000);

afterAll(async () => {
  published?.mockRestore();
  await api?.close();
});

describe('ClusterHealthSweepJob with a change committed between its read and its write', () => {
  it('without one, marks a silent cluster DISCONNECTED, records it and publishes it (the baseline the other cases differ from)', async () => {
    const agent = await healthyAgent();
    const { result } = await sweepWith(agent.clusterId);
    expect(await statusOf(agent.clusterId)).toMatchObject({ phase: 'READY', health: 'DISCONNECTED' });
    expect((await eventsOf(agent.clusterId)).at(-1)).toMatchObject({ type: 'ClusterHealthChanged', actor: 'system:health-sweep', data: { from: 'HEALTHY', to: 'DISCONNECTED' } });
    expect(publishedFor(agent.clusterId)).toEqual([
      expect.objectContaining({ health: 'DISCONNECTED', previousHealth: 'HEALTHY', reason: expect.stringMatching(/^No heartbeat since /) }),
    ]);
    expect(result.disconnected).toBeGreaterThanOrEqual(1);
  });

  it('a heartbeat (same phase and health, newer lastHeartbeatAt) stands: the cluster stays HEALTHY', async () => {
    const agent = await healthyAgent();
    const events = (await eventsOf(agent.clusterId)).length;
    const { result, snapshot: read } = await sweepWith(agent.clusterId, async () => {
      await report(agent, [heartbeat(agent)]);
    });
    const after = await statusOf(agent.clusterId);
    expect(after).toMatchObject({ phase: 'READY', health: 'HEALTHY' });
    expect(after.lastHeartbeatAt!.getTime()).toBeGreaterThan(read.lastHeartbeatAt!.getTime());
    expect((await eventsOf(agent.clusterId)).length).toBe(events);
    expect(publishedFor(agent.clusterId)).toEqual([]);
    expect(result.skipped).toBeGreaterThanOrEqual(1);
  });

  it('a completed detach stands: the cluster stays DETACHED and does not go back to DETACHING', async () => {
    const agent = await healthyAgent();
    await api.gqlOk(admin, 'mutation($id: ID!) { detachCluster(id: $id) { phase } }', { id: agent.clusterId });
    const { snapshot: read } = await sweepWith(agent.clusterId, async () => {
      const answer = await report(agent, [heartbeat(agent)]);
      expect(answer.directives).toEqual([{ type: 'DETACH' }]);
      // The agent acknowledges: that completes the detach.
      expect((await post(AgentPaths.detachAck, { clusterId: agent.clusterId }, agent.credential)).status).toBe(200);
    });
    expect(read.phase).toBe('DETACHING');
    expect(await statusOf(agent.clusterId)).toMatchObject({ phase: 'DETACHED', health: 'UNKNOWN' });
    const changes = (await eventsOf(agent.clusterId)).map((e) => `${e.type}:${(e.data as { to: string }).to}`);
    expect(changes.slice(-2)).toEqual(['ClusterPhaseChanged:DETACHED', 'ClusterHealthChanged:UNKNOWN']);
    expect(changes).not.toContain('ClusterHealthChanged:DISCONNECTED');
    expect(publishedFor(agent.clusterId).map((m) => (m as { phase: string }).phase)).toEqual(['DETACHED']);
  });

  it('the first inventory (ATTACHED → READY) stands: the cluster is READY and HEALTHY', async () => {
    const agent = await registeredAgent();
    const { snapshot: read } = await sweepWith(agent.clusterId, async () => {
      await report(agent, [snapshot(agent), heartbeat(agent)]);
    });
    expect(read).toMatchObject({ phase: 'ATTACHED', health: 'UNKNOWN', lastHeartbeatAt: null });
    expect(await statusOf(agent.clusterId)).toMatchObject({ phase: 'READY', health: 'HEALTHY' });
    expect((await eventsOf(agent.clusterId)).map((e) => (e.data as { to: string }).to)).not.toContain('DISCONNECTED');
    expect(publishedFor(agent.clusterId).map((m) => (m as { phase: string }).phase)).toEqual(['READY']);
  });

  it('a writer holding the row lock when the sweep writes wins once it commits (Postgres re-checks the compare after the wait)', async () => {
    const agent = await healthyAgent();
    const competitor = new Client({ connectionString: api.db.url });
    const watcher = new Client({ connectionString: api.db.url });
    await Promise.all([competitor.connect(), watcher.connect()]);
    let committed: Promise<unknown> = Promise.resolve();
    try {
      const { result } = await sweepWith(agent.clusterId, async () => {
        // What a report does under its lock: a newer heartbeat, not yet committed.
        await competitor.query('BEGIN');
        await competitor.query(`UPDATE "Cluster" SET "lastHeartbeatAt" = now() WHERE "id" = $1`, [agent.clusterId]);
        // Commit only once the sweep's UPDATE is seen waiting for this row lock.
        committed = (async () => {
          for (;;) {
            const { rows } = await watcher.query(
              `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE%Cluster%'`,
            );
            if (rows[0].waiting > 0) {
              break;
            }
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          await competitor.query('COMMIT');
        })();
      });
      await committed;
      expect(result.skipped).toBeGreaterThanOrEqual(1);
    } finally {
      await committed.catch(() => undefined);
      await Promise.all([competitor.end(), watcher.end()]);
    }
    expect(await statusOf(agent.clusterId)).toMatchObject({ phase: 'READY', health: 'HEALTHY' });
    expect(publishedFor(agent.clusterId)).toEqual([]);
  });
});
