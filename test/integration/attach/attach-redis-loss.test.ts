// Postgres is the source of truth for operations (issue 11 item 8): an attach asked for while Redis is
// down is recorded with its sealed job payload (the outbox) and answered normally; when a Redis that
// lost everything comes back, the worker's reconciler queues the job again and the attach completes
// exactly once. Against a real redis-server of this test's own (SIGKILLed, then started empty), a real
// kube-apiserver, the worker as an OS process and the real agent.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { KubeHarness, locateTools } from '../../../src/dev/kube-harness';
import { JobName } from '../../../src/infra/queue/jobs';
import { QueueGateway } from '../../../src/infra/queue/queue.gateway';
import { eventually } from '../../../src/dev/eventually';
import { attachByQueue, createGroup, createSite, type Farpoint, freePort, operation, startFarpoint, waitFor, waitForCluster } from './support/farpoint';
import { type AgentHandle, killAllChildren, type Proc, removeAgentState, startAgent } from './support/processes';

const SETUP_MS = 20 * 60_000;
const TEST_MS = 5 * 60_000;
const NAME = 'edge-k3s-redis-loss';

/** A redis-server of this test's own, configured as scripts/services.sh runs it (append-only file, noeviction). */
class PrivateRedis {
  private child?: ChildProcess;
  constructor(
    readonly port: number,
    private dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(dir = this.dir): Promise<void> {
    this.dir = dir;
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await eventually(
        async () => {
          await client.connect().catch(() => undefined);
          return (await client.ping().catch(() => '')) === 'PONG';
        },
        { what: `redis-server on ${this.port}` },
      );
    } finally {
      client.disconnect();
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
}

let harness: KubeHarness;
let fp: Farpoint;
let redis: PrivateRedis;
let scratch: string;
let agent: AgentHandle | undefined;
const workers: Proc[] = [];
const logs = () => [...workers.map((w) => `--- ${w.name}\n${w.tail(30)}`), `--- agent\n${agent?.proc.tail(30) ?? '(not started)'}`].join('\n');

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'farpoint-redis-loss-'));
  redis = new PrivateRedis(await freePort(), join(scratch, 'first'));
  await Promise.all([mkdir(join(scratch, 'first')), mkdir(join(scratch, 'empty'))]);
  await redis.start();
  [harness, fp] = await Promise.all([KubeHarness.start({ clusters: [{ name: NAME, profile: 'k3s-1node' }], tools: await locateTools() }), startFarpoint({ REDIS_URL: redis.url })]);
}, SETUP_MS);

afterAll(async () => {
  await killAllChildren();
  await removeAgentState(agent);
  await harness?.stop();
  await fp?.close();
  await redis?.kill();
  if (scratch) {
    await rm(scratch, { recursive: true, force: true });
  }
}, 60_000);

const hasAttachJob = (operationId: string) => fp.api.app.get(QueueGateway).hasJob(JobName.ATTACH_CLUSTER, operationId);

it(
  'an attach asked for while Redis is down is answered and recorded with its sealed payload, not an error',
  async () => {
    const k3s = harness.cluster(NAME);
    const group = await createGroup(fp, 'offline-shops');
    await redis.kill();
    try {
      const queued = await attachByQueue(fp, { name: `${NAME}-offline`, groupId: group.id, kubeconfig: await readFile(k3s.kubeconfigPath, 'utf8') });
      expect(queued).toMatchObject({ phase: 'ATTACHING', operationState: 'QUEUED' });
      const row = await fp.api.prisma.clusterOperation.findUniqueOrThrow({ where: { id: queued.operationId } });
      // Sealed for its operation (SealedBox v2), never the kubeconfig in clear.
      expect(row.sealedPayload).toMatch(/^v2\./);
      expect(row.sealedPayload).not.toContain('BEGIN');
      // Removed again so it does not install a second agent into the same cluster below.
      await fp.api.gqlOk(fp.token, 'mutation($id: ID!) { detachCluster(id: $id, force: true) { id } }', { id: queued.clusterId });
    } finally {
      await redis.start();
    }
  },
  TEST_MS,
);

it(
  'a Redis that comes back empty loses the queued attach; the reconciler queues it again and it completes exactly once',
  async () => {
    const k3s = harness.cluster(NAME);
    const site = await createSite(fp, 'shop-0815');
    const group = await createGroup(fp, 'shops');
    const queued = await attachByQueue(fp, { name: NAME, groupId: group.id, siteId: site.id, kubeconfig: await readFile(k3s.kubeconfigPath, 'utf8') });
    expect(queued.operationState).toBe('QUEUED');
    expect(await hasAttachJob(queued.operationId)).toBe(true);

    // SIGKILL, and back with a fresh data directory: every job Redis had is gone.
    await redis.kill();
    await redis.start(join(scratch, 'empty'));
    await eventually(async () => expect(await hasAttachJob(queued.operationId)).toBe(false), { what: 'the API to reconnect to the empty Redis' });

    const worker = await fp.startWorker({ OPERATIONS_RECONCILE_EVERY_SECONDS: '1' }, 'worker');
    workers.push(worker);
    await waitFor(
      'the reconciler to queue the attach again and the worker to install the agent',
      () => operation(fp, queued.operationId),
      (o) => o.state === 'WAITING_FOR_AGENT',
      {
        timeoutMs: 90_000,
        context: logs,
      },
    );
    expect(worker.output).toContain('whose job Redis no longer had');

    agent = await startAgent(fp.build, k3s);
    await waitForCluster(fp, queued.clusterId, 'READY', 'HEALTHY', { timeoutMs: 120_000, context: logs });
    const done = await waitFor(
      'the operation to succeed',
      () => operation(fp, queued.operationId),
      (o) => o.state === 'SUCCEEDED',
      { context: logs },
    );
    // Exactly once: one run of the job, and the payload is gone with the open operation.
    expect(done.attempts).toBe(1);
    const finished = await fp.api.prisma.clusterOperation.findUniqueOrThrow({ where: { id: queued.operationId } });
    expect(finished.sealedPayload).toBeNull();
  },
  TEST_MS,
);
