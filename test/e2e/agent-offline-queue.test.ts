// Lossless offline operation, end to end: the agent's own queue (QueueLog on a real directory), outbox
// and sender talk HTTP to the real API through a TCP proxy this test cuts. While the uplink is down
// items pile up on disk; the "pod" is replaced (every agent object built again from the same state
// directory and the same seq reservation, as the Secret outlives the pod); when the uplink returns,
// every item reaches the API once and in order, and GraphQL shows the backlog it came back with.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { type AgentApi, HttpAgentApi } from '../../src/agent/api-client';
import { CredentialHolder } from '../../src/agent/identity/credential-holder';
import { createJsonLogger } from '../../src/agent/logger';
import { ReportOutbox } from '../../src/agent/reporting/outbox';
import { QUEUE_DIR_NAME, QueueLog } from '../../src/agent/reporting/queue-log';
import { SenderLoop } from '../../src/agent/reporting/sender-loop';
import { ServerClock } from '../../src/agent/server-clock';
import { Session } from '../../src/agent/session';
import { eventually } from '../../src/dev/eventually';
import { AgentPaths } from '../../src/protocol';
import { makeHeartbeatPayload, makeInventory, makeNamespace } from '../../src/protocol/testing/factories';
import { ApiFactory } from '../support/factories';
import { startApi, type TestApi } from '../support/api';
import { CuttableLink } from '../support/cuttable-link';

let api: TestApi;
let admin: string;
let make: ApiFactory;

/** What the sender sent and what came back, attempt by attempt. */
type Attempt = { seqs: number[]; ackedSeq: number } | { seqs: number[]; failed: string };

class RecordingApi implements Pick<AgentApi, 'sendReports'> {
  readonly attempts: Attempt[] = [];
  constructor(private readonly inner: HttpAgentApi) {}
  async sendReports(...args: Parameters<AgentApi['sendReports']>): ReturnType<AgentApi['sendReports']> {
    const seqs = args[1].items.map((i) => i.seq);
    try {
      const result = await this.inner.sendReports(...args);
      this.attempts.push({ seqs, ackedSeq: result.body.ackedSeq });
      return result;
    } catch (error) {
      this.attempts.push({ seqs, failed: (error as Error).message });
      throw error;
    }
  }
}

/** One agent pod: its queue opened from `stateDir`, its outbox and its sender, in a session of their own. */
async function startPod(
  stateDir: string,
  credential: { clusterId: string; credential: string },
  uplink: CuttableLink,
  recorder: { api?: RecordingApi },
  reservations: { until: number },
) {
  const log = createJsonLogger('error', () => undefined);
  const { queue, log: queueLog, recovery } = await QueueLog.open(stateDir, { limits: { maxItems: 10_000, maxBytes: 16 * 1024 * 1024 }, segmentBytes: 4096 });
  const outbox = new ReportOutbox({
    queue,
    saveQueue: () => queueLog.save(),
    reservations: {
      saveSeqReservation: async (until) => {
        reservations.until = Math.max(reservations.until, until);
      },
    },
    log,
    now: Date.now,
  });
  outbox.continueAbove(reservations.until);
  const httpApi = new HttpAgentApi({ apiUrl: `http://127.0.0.1:${uplink.port}`, agentVersion: '0.1.0', timeoutMs: 5000 });
  recorder.api ??= new RecordingApi(httpApi);
  const recording = recorder.api;
  const sender = new SenderLoop({
    api: { sendReports: (...args) => recording.sendReports(...args) },
    outbox,
    clock: new ServerClock(),
    log,
    backoff: { initialMs: 20, maxMs: 200 },
    agentVersion: '0.1.0',
    now: Date.now,
    onSnapshotRequested: () => undefined,
  });
  const stop = new AbortController();
  const now = Date.now();
  const session = new Session(
    {
      credential: new CredentialHolder({ clusterId: credential.clusterId, credential: credential.credential, issuedAt: now, expiresAt: now + 3_600_000 }),
      heartbeatIntervalMs: 1000,
      reportIntervalMs: 1000,
    },
    stop.signal,
  );
  const running = sender.run(session);
  return {
    queue,
    outbox,
    queueLog,
    recovery,
    /** The pod goes away: the loops stop, nothing more is written. */
    async remove() {
      stop.abort();
      await running;
      await queueLog.flush();
      await queueLog.close();
    },
  };
}

beforeAll(async () => {
  api = await startApi();
  admin = await api.bootstrapOrg('offline-fleet');
  make = new ApiFactory(api, admin);
}, 60_000);

afterAll(async () => {
  await api?.close();
});

it('queues on disk while the API is unreachable, survives a replaced pod, then delivers every item once and in order', async () => {
  const site = await make.site().connectivity('INTERMITTENT', 30, 120).create();
  const group = await make.group().create();
  const attached = await api.gqlOk<{ attachCluster: { cluster: { id: string }; registrationToken: string } }>(
    admin,
    'mutation($input: AttachClusterInput!) { attachCluster(input: $input) { cluster { id } registrationToken } }',
    { input: { name: make.nextName('cluster'), groupId: group.id, siteId: site.id } },
  );
  const clusterId = attached.attachCluster.cluster.id;
  const registered = await fetch(`${api.url}${AgentPaths.register}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      registrationToken: attached.attachCluster.registrationToken,
      clusterUid: randomUUID(),
      agentVersion: '0.1.0',
      installationSecret: randomBytes(32).toString('base64url'),
    }),
  });
  expect(registered.status).toBe(200);
  const credential = { clusterId, credential: ((await registered.json()) as { credential: string }).credential };

  const stateDir = await mkdtemp(join(tmpdir(), 'farpoint-offline-agent-'));
  const uplink = new CuttableLink();
  await uplink.start('127.0.0.1', Number(new URL(api.url).port));
  const recorder: { api?: RecordingApi } = {};
  const reservations = { until: 0 };
  const enqueued: number[] = [];
  const namespaces: string[] = [];
  let pod = await startPod(stateDir, credential, uplink, recorder, reservations);
  const heartbeat = () => {
    pod.outbox.enqueue(
      'heartbeat',
      makeHeartbeatPayload({
        queueDepth: pod.queue.depth + 1,
        droppedByKind: pod.queue.droppedByKind,
        ...(pod.queue.oldestObservedAt ? { oldestQueuedAt: pod.queue.oldestObservedAt } : {}),
      }),
    );
    enqueued.push(pod.queue.upcomingSeq - 1);
  };
  const namespaceAdded = () => {
    const name = `ns-${namespaces.length}`;
    namespaces.push(name);
    pod.outbox.enqueue('inventory.delta', { namespaces: { upserts: [makeNamespace({ name })], deletions: [] } });
    enqueued.push(pod.queue.upcomingSeq - 1);
  };
  const storedAckedSeq = async () => (await api.prisma.clusterInventory.findUnique({ where: { clusterId } }))?.ackedSeq ?? 0;

  try {
    // Online: a snapshot and a heartbeat go through.
    pod.outbox.enqueue('inventory.snapshot', makeInventory({ namespaces: [] }));
    enqueued.push(pod.queue.upcomingSeq - 1);
    heartbeat();
    await eventually(() => pod.queue.depth === 0, { what: 'the online items delivered' });

    // The uplink goes down: items queue on disk, the sender keeps failing.
    uplink.down();
    const offlineFrom = enqueued.length;
    for (let i = 0; i < 30; i++) {
      namespaceAdded();
      heartbeat();
    }
    const firstOfflineObservedAt = pod.queue.oldestObservedAt;
    await pod.queueLog.flush();
    await eventually(() => recorder.api!.attempts.some((a) => 'failed' in a), { what: 'a failed send while the uplink is down' });
    expect(pod.queue.depth).toBe(enqueued.length - offlineFrom);
    const segments = (await readdir(join(stateDir, QUEUE_DIR_NAME))).filter((n) => n.endsWith('.log'));
    expect(segments.length).toBeGreaterThan(1);

    // The pod is replaced while the uplink is still down; the new one reads the same queue.
    const queuedBefore = pod.queue.peekBatch(10_000, 1e12);
    await pod.remove();
    pod = await startPod(stateDir, credential, uplink, recorder, reservations);
    expect(pod.recovery).toMatchObject({ items: queuedBefore.length, truncatedBytes: 0, corruptSegments: 0 });
    expect(pod.queue.peekBatch(10_000, 1e12)).toEqual(queuedBefore);
    for (let i = 0; i < 5; i++) {
      namespaceAdded();
      heartbeat();
    }
    const lastHeartbeatDepth = pod.queue.depth;

    // The uplink returns: the backlog drains.
    uplink.up();
    await eventually(async () => pod.queue.depth === 0 && (await storedAckedSeq()) === enqueued.at(-1), { what: 'the backlog delivered and acknowledged', timeoutMs: 30_000 });

    // Every item was stored by exactly one successful send, in seq order; nothing acknowledged was sent again.
    const acknowledged = recorder.api!.attempts.filter((a): a is { seqs: number[]; ackedSeq: number } => 'ackedSeq' in a);
    expect(acknowledged.flatMap((a) => a.seqs)).toEqual(enqueued);
    for (const attempt of acknowledged) {
      expect(attempt.ackedSeq).toBe(attempt.seqs.at(-1));
    }
    const inventory = await api.prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId } });
    expect((inventory.snapshot as { namespaces: Array<{ name: string }> }).namespaces.map((n) => n.name).sort()).toEqual([...namespaces].sort());

    // GraphQL shows what the last heartbeat carried: the backlog it was queued behind, and since when.
    const { cluster } = await api.gqlOk<{ cluster: { connectivity: Record<string, unknown> } }>(
      admin,
      'query($id: ID!) { cluster(id: $id) { connectivity { state backlogItems droppedByKind { kind count } oldestQueuedAt } } }',
      { id: clusterId },
    );
    expect(cluster.connectivity).toEqual({ state: 'ONLINE', backlogItems: lastHeartbeatDepth, droppedByKind: [], oldestQueuedAt: firstOfflineObservedAt });

    // Acknowledged segments are gone from disk.
    await pod.queueLog.flush();
    const left = (await readdir(join(stateDir, QUEUE_DIR_NAME))).filter((n) => n.endsWith('.log'));
    expect(left.length).toBe(1);
    expect((await stat(join(stateDir, QUEUE_DIR_NAME, left[0]))).size).toBeLessThanOrEqual(4096 + 2048);
  } finally {
    await pod.remove();
    await uplink.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}, 60_000);
