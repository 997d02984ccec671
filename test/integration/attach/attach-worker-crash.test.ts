// A queue-driven attach survives its worker dying: worker A (a real OS process) is SIGKILLed while the
// operation waits for the agent; worker B takes the stalled job over, applies the same manifests again
// (server-side apply: nothing is duplicated) and completes the attach exactly once.
//
// The workers run `node <compiled src>/worker.js` (see support/build.ts: src/ is compiled with swc for
// this run, so no `npm run build` is needed and the working tree is what runs).
import { AppsV1Api } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { KubeHarness, locateTools } from '../../../src/dev/kube-harness';
import { attachByQueue, clusterDetail, createGroup, createSite, type Farpoint, operation, startFarpoint, waitFor, waitForCluster } from './support/farpoint';
import { deploymentExists, installedObjects, ONE_OF_EACH } from './support/kube';
import { AGENT_NAME, AGENT_NAMESPACE, type AgentHandle, killAllChildren, type Proc, removeAgentState, startAgent } from './support/processes';

const SETUP_MS = 20 * 60_000;
const TEST_MS = 4 * 60_000;
const NAME = 'edge-tkg-crash';

let harness: KubeHarness;
let fp: Farpoint;
let agent: AgentHandle | undefined;
const workers: Proc[] = [];
const logs = () => [...workers.map((w) => `--- ${w.name}\n${w.tail(30)}`), `--- agent\n${agent?.proc.tail(30) ?? '(not started)'}`].join('\n');

beforeAll(async () => {
  [harness, fp] = await Promise.all([KubeHarness.start({ clusters: [{ name: NAME, profile: 'tkg-3node' }], tools: await locateTools() }), startFarpoint()]);
}, SETUP_MS);

afterAll(async () => {
  await killAllChildren();
  await removeAgentState(agent);
  await harness?.stop();
  await fp?.close();
}, 60_000);

it(
  'SIGKILL of the worker while the attach waits for the agent: a new worker completes it exactly once, with one of each object in the cluster',
  async () => {
    const tkg = harness.cluster(NAME);
    const site = await createSite(fp, 'rtm-plant-02');
    const group = await createGroup(fp, 'factory-lines');
    const workerA = await fp.startWorker({}, 'worker A');
    workers.push(workerA);

    const queued = await attachByQueue(fp, { name: NAME, groupId: group.id, siteId: site.id, kubeconfig: await readFile(tkg.kubeconfigPath, 'utf8') });
    // No agent runs yet, so the operation stays WAITING_FOR_AGENT (up to ATTACH_AGENT_WAIT_SECONDS, 180 s).
    const waiting = await waitFor(
      'worker A to install the agent and wait for it',
      () => operation(fp, queued.operationId),
      (o) => o.state === 'WAITING_FOR_AGENT',
      { intervalMs: 50, context: logs },
    );
    expect(waiting.attempts).toBe(1);
    expect(await installedObjects(tkg.kubeConfig)).toEqual(ONE_OF_EACH);

    expect(await workerA.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const killedAt = new Date();
    // Nobody finishes the operation for a dead worker.
    expect((await operation(fp, queued.operationId)).state).toBe('WAITING_FOR_AGENT');

    const workerB = await fp.startWorker({}, 'worker B');
    workers.push(workerB);
    // Worker B finds the job stalled (its lock expired with worker A), runs it again from the start and
    // is back to waiting once it has applied the manifests again.
    await waitFor(
      'worker B to take the attach over',
      () => fp.api.prisma.clusterOperation.findUniqueOrThrow({ where: { id: queued.operationId } }),
      (o) => o.state === 'WAITING_FOR_AGENT' && o.updatedAt > killedAt,
      { timeoutMs: 90_000, context: logs },
    );
    expect(await installedObjects(tkg.kubeConfig)).toEqual(ONE_OF_EACH);

    expect(await deploymentExists(tkg.kubeConfig)).toBe(true);
    agent = await startAgent(fp.build, tkg);
    await waitForCluster(fp, queued.clusterId, 'READY', 'HEALTHY', { timeoutMs: 120_000, context: logs });
    const done = await waitFor(
      'the operation to succeed',
      () => operation(fp, queued.operationId),
      (o) => o.state !== 'WAITING_FOR_AGENT' && o.state !== 'RUNNING',
      { context: logs },
    );
    expect(done).toMatchObject({ state: 'SUCCEEDED', lastError: null });
    // Both runs are recorded: the one that died with worker A and the one worker B finished.
    expect(done.attempts).toBe(2);
    expect(done.finishedAt).not.toBeNull();

    // Exactly once: one operation, one registration, one transition to each phase.
    const detail = await clusterDetail(fp, queued.clusterId);
    expect(detail.operations.map((o) => o.id)).toEqual([queued.operationId]);
    const events = await fp.api.prisma.event.findMany({ where: { objectId: queued.clusterId }, orderBy: { occurredAt: 'asc' } });
    expect(events.filter((e) => e.type === 'AgentRegistered')).toHaveLength(1);
    const phases = events.filter((e) => e.type === 'ClusterPhaseChanged').map((e) => `${(e.data as { from: string }).from}→${(e.data as { to: string }).to}`);
    expect(phases).toEqual(['ATTACHING→ATTACHED', 'ATTACHED→READY']);

    // In the cluster: one of each object, one Deployment, and one ReplicaSet (applying again changed
    // nothing in the pod template), all written by the attach field manager through server-side apply.
    expect(await installedObjects(tkg.kubeConfig)).toEqual(ONE_OF_EACH);
    const apps = tkg.kubeConfig.makeApiClient(AppsV1Api);
    expect((await apps.listNamespacedDeployment({ namespace: AGENT_NAMESPACE })).items.map((d) => d.metadata!.name)).toEqual([AGENT_NAME]);
    expect((await apps.listNamespacedReplicaSet({ namespace: AGENT_NAMESPACE })).items).toHaveLength(1);
    const deployment = await apps.readNamespacedDeployment({ name: AGENT_NAME, namespace: AGENT_NAMESPACE });
    expect(deployment.metadata!.generation).toBe(1);
    expect(deployment.metadata!.managedFields!.filter((f) => f.operation === 'Apply').map((f) => f.manager)).toEqual(['farpoint-attach']);

    // The finished job is gone from Redis (with its sealed kubeconfig), and worker B is still healthy.
    const { Queue } = await import('bullmq');
    const { Redis } = await import('ioredis');
    const connection = new Redis(fp.api.config.REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('attach', { connection, prefix: fp.api.config.QUEUE_PREFIX });
    try {
      expect(await queue.getJob(queued.operationId)).toBeUndefined();
      expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed')).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 });
    } finally {
      await queue.close();
      connection.disconnect();
    }
    expect(workerB.running).toBe(true);
  },
  TEST_MS,
);
