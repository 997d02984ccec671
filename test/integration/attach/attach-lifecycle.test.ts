// Issue 4, "attach clusters through installed agents", end to end against real clusters: three
// kube-apiservers (+ controller-managers) from the kube harness, the real API (in this process, over
// HTTP and WebSocket), the real worker and real agents as child processes, real Postgres and Redis.
//
// One harness is shared by the whole file (each cluster costs ~400 MB and a few seconds), so the tests
// run in order and build on each other: attach (by link and by queue) → inventory → a credential
// presented for another cluster → measurements → disconnect and reconnect → detach → force detach.
//
// No pod ever starts in these clusters (there is no kubelet), so the agent Deployment the manifests
// install stays Pending; a local agent process stands in for its pod, configured from that
// Deployment and authenticated as its ServiceAccount (see support/processes.ts).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { KubeHarness, locateTools, type HarnessCluster, type ToolPaths } from '../../../src/dev/kube-harness';
import { AgentPaths } from '../../../src/protocol';
import { makeHeartbeatItem, makeReportsRequest } from '../../../src/protocol/testing/factories';
import { attachByLink, attachByQueue, clusterDetail, createGroup, createSite, type Farpoint, http, median, startFarpoint, waitFor, waitForCluster } from './support/farpoint';
import { AGENT_CLUSTER_RULES } from '../../../src/agent-install/rbac';
import { agentRbac, agentSecret, deploymentExists, installedObjects, kubeSystemUid, namespaceNames, namespaceState, nodesOf, ONE_OF_EACH, podRequests } from './support/kube';
import { AGENT_NAMESPACE, type AgentHandle, killAllChildren, type Proc, removeAgentState, rssKiB, startAgent } from './support/processes';
import { subscribeClusterStatus } from './support/subscription';

const run = promisify(execFile);

// A first tools/build.sh compiles Kubernetes (minutes, once per machine); later starts take seconds.
const SETUP_MS = 20 * 60_000;
const TEST_MS = 4 * 60_000;
// Bounds for polls: generous, because two cores are shared with three clusters and everything else.
const READY_WITHIN_MS = 120_000;

const LINK = 'edge-tkg-link';
const QUEUE_TKG = 'edge-tkg-queue';
const QUEUE_K3S = 'edge-k3s-queue';

let tools: ToolPaths;
let harness: KubeHarness;
let fp: Farpoint;
let worker: Proc;
let site: { id: string };
let group: { id: string };

/** Per cluster: its Farpoint id, its agent, and how it was attached. */
const attached = new Map<string, { clusterId: string; agent?: AgentHandle; mode: 'LINK' | 'QUEUE'; msToReady?: number; operationId?: string; registrationToken?: string }>();
const measurements: Record<string, unknown> = {};

const cluster = (name: string): HarnessCluster => harness.cluster(name);
const entry = (name: string) => {
  const e = attached.get(name);
  if (!e) {
    throw new Error(`${name} was not attached by an earlier test`);
  }
  return e;
};
/** Logs of the worker and of every agent, for failure messages. */
const logs = () => [`--- worker\n${worker?.tail(30)}`, ...[...attached].map(([name, e]) => `--- agent ${name}\n${e.agent?.proc.tail(30) ?? '(not started)'}`)].join('\n');

beforeAll(async () => {
  tools = await locateTools();
  [harness, fp] = await Promise.all([
    KubeHarness.start({
      clusters: [
        { name: LINK, profile: 'tkg-3node' },
        { name: QUEUE_TKG, profile: 'tkg-3node' },
        { name: QUEUE_K3S, profile: 'k3s-1node' },
      ],
      tools,
    }),
    startFarpoint(),
  ]);
  // The health sweep every second, so DISCONNECTED follows the site's 10 s grace closely.
  worker = await fp.startWorker({ HEALTH_SWEEP_EVERY_SECONDS: '1' });
  // ALWAYS_ON with the smallest intervals the API allows: heartbeat 5 s, disconnected after 10 s.
  site = await createSite(fp, 'muc-store-0412', 5, 10);
  group = await createGroup(fp, 'point-of-sale');
}, SETUP_MS);

afterAll(async () => {
  console.log(`attach measurements (${LINK}, ${QUEUE_TKG}, ${QUEUE_K3S}):\n${JSON.stringify(measurements, null, 2)}`);
  await killAllChildren();
  for (const e of attached.values()) {
    await removeAgentState(e.agent);
  }
  await harness?.stop();
  await fp?.close();
}, 60_000);

/** Polls the cluster every 100 ms until READY; returns ms since `startedAt` (a measurement, never asserted on). */
async function msUntilReady(clusterId: string, startedAt: number): Promise<number> {
  await waitFor(
    `cluster ${clusterId} READY`,
    () => clusterDetail(fp, clusterId),
    (c) => c.phase === 'READY',
    { timeoutMs: READY_WITHIN_MS, intervalMs: 100, context: logs },
  );
  return Date.now() - startedAt;
}

async function events(
  clusterId: string,
  type?: string,
): Promise<{ type: string; severity: string; actor: string; message: string; data: Record<string, unknown>; occurredAt: Date }[]> {
  const rows = await fp.api.prisma.event.findMany({ where: { objectKind: 'Cluster', objectId: clusterId, ...(type ? { type } : {}) }, orderBy: { occurredAt: 'asc' } });
  return rows.map((r) => ({ type: r.type, severity: r.severity, actor: r.actor, message: r.message, data: r.data as Record<string, unknown>, occurredAt: r.occurredAt }));
}

describe('attaching clusters through installed agents', () => {
  it(
    'by link: kubectl applies the registration link, the agent registers, and clusterStatusChanged streams PENDING → ATTACHED → READY',
    async () => {
      const startedAt = Date.now();
      const link = await attachByLink(fp, { name: LINK, groupId: group.id, siteId: site.id });
      expect(link.phase).toBe('PENDING');
      expect(link.manifestUrl).toBe(`${fp.api.url}${AgentPaths.manifests(link.registrationToken)}`);
      expect(link.installCommand).toBe(`kubectl apply -f ${link.manifestUrl}`);
      attached.set(LINK, { clusterId: link.clusterId, mode: 'LINK', registrationToken: link.registrationToken });

      const stream = await subscribeClusterStatus(fp, link.clusterId);
      try {
        // What the operator runs at the site: kubectl fetches the YAML from the API over HTTP and applies it.
        const applied = await run(tools.kubectl, ['--kubeconfig', cluster(LINK).kubeconfigPath, 'apply', '-f', link.manifestUrl]);
        expect(applied.stdout).toContain(`namespace/${AGENT_NAMESPACE} created`);
        expect(applied.stdout).toContain('deployment.apps/farpoint-agent created');
        expect(await installedObjects(cluster(LINK).kubeConfig)).toEqual(ONE_OF_EACH);

        entry(LINK).agent = await startAgent(fp.build, cluster(LINK));
        entry(LINK).msToReady = await msUntilReady(link.clusterId, startedAt);

        await waitFor(
          'ATTACHED and READY on the subscription',
          async () => stream.received.map((c) => c.phase),
          (phases) => phases.includes('READY'),
          { timeoutMs: 30_000, context: () => JSON.stringify(stream) },
        );
        expect(stream.errors).toEqual([]);
        const phaseChanges = stream.received.filter((c) => c.phase !== c.previousPhase).map((c) => `${c.previousPhase}→${c.phase}`);
        expect(phaseChanges).toEqual(['PENDING→ATTACHED', 'ATTACHED→READY']);
        expect(stream.received.every((c) => c.clusterId === link.clusterId && c.clusterName === LINK && c.actor === `agent:${LINK}`)).toBe(true);
        expect(stream.received.at(-1)).toMatchObject({ phase: 'READY', health: 'HEALTHY' });
      } finally {
        await stream.close();
      }
      const detail = await clusterDetail(fp, link.clusterId);
      expect(detail.attachMode).toBe('LINK');
      expect(detail.operations).toEqual([]);
    },
    TEST_MS,
  );

  it(
    'by queue: a worker installs the agent with each kubeconfig, and each operation SUCCEEDS once its agent registers',
    async () => {
      const started = await Promise.all(
        [QUEUE_TKG, QUEUE_K3S].map(async (name) => {
          const startedAt = Date.now();
          const queued = await attachByQueue(fp, { name, groupId: group.id, siteId: site.id, kubeconfig: await readFile(cluster(name).kubeconfigPath, 'utf8') });
          expect(queued.phase).toBe('ATTACHING');
          expect(queued.operationState).toBe('QUEUED');
          attached.set(name, { clusterId: queued.clusterId, mode: 'QUEUE', operationId: queued.operationId });
          return { name, startedAt };
        }),
      );
      await Promise.all(
        started.map(async ({ name, startedAt }) => {
          // The worker's server-side apply creates the Deployment; its stand-in pod starts then.
          await waitFor(`the agent Deployment in ${name}`, () => deploymentExists(cluster(name).kubeConfig), Boolean, {
            timeoutMs: READY_WITHIN_MS,
            intervalMs: 100,
            context: logs,
          });
          entry(name).agent = await startAgent(fp.build, cluster(name));
          entry(name).msToReady = await msUntilReady(entry(name).clusterId, startedAt);
        }),
      );
      for (const name of [QUEUE_TKG, QUEUE_K3S]) {
        const detail = await waitFor(
          `the attach operation of ${name} to finish`,
          () => clusterDetail(fp, entry(name).clusterId),
          (c) => c.operations[0]?.state === 'SUCCEEDED',
          { context: logs },
        );
        expect(detail.attachMode).toBe('QUEUE');
        expect(detail.operations).toHaveLength(1);
        expect(detail.operations[0]).toMatchObject({ id: entry(name).operationId, kind: 'ATTACH', state: 'SUCCEEDED', attempts: 1, lastError: null });
        expect(await installedObjects(cluster(name).kubeConfig)).toEqual(ONE_OF_EACH);
      }
      // Finished attach jobs are removed, so the sealed kubeconfigs do not linger in Redis.
      const keys = await scanKeys(`${fp.api.config.QUEUE_PREFIX}:attach:*`);
      expect(keys.filter((k) => /:attach:[0-9a-f-]{36}$/.test(k))).toEqual([]);
    },
    TEST_MS,
  );

  it.each([
    [LINK, 'TKG', 3],
    [QUEUE_TKG, 'TKG', 3],
    [QUEUE_K3S, 'K3S', 1],
  ])(
    '%s is READY with what its apiserver holds: %s, %i node(s), every namespace, allocatable capacity summed over its Nodes',
    async (name, distribution, nodeCount) => {
      const kc = cluster(name).kubeConfig;
      const nodes = await nodesOf(kc);
      const namespaces = await namespaceNames(kc);
      expect(nodes).toHaveLength(nodeCount);
      const detail = await clusterDetail(fp, entry(name).clusterId);
      expect(detail).toMatchObject({ phase: 'READY', health: 'HEALTHY', distribution, nodeCount, kubernetesVersion: cluster(name).kubernetesVersion });
      expect(detail.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(detail.nodes.map((n) => n.name).sort()).toEqual([...cluster(name).nodeNames].sort());
      expect(detail.nodes.every((n) => n.ready)).toBe(true);
      expect(detail.discoveredNamespaces.map((n) => n.name).sort()).toEqual(namespaces);
      expect(namespaces).toContain(AGENT_NAMESPACE);
      expect(detail.capacity.allocatableCpuMillis).toBe(nodes.reduce((sum, n) => sum + n.cpuMillis, 0));
      expect(detail.capacity.allocatableMemoryMiB).toBe(nodes.reduce((sum, n) => sum + n.memoryMiB, 0));
      // Per node as well, so two errors cannot cancel out in the sum.
      expect(
        detail.nodes.map((n) => ({ name: n.name, cpuMillis: n.allocatable.cpuMillis, memoryMiB: n.allocatable.memoryMiB })).sort((a, b) => a.name.localeCompare(b.name)),
      ).toEqual(nodes);
      // Requests of the Pods that are not finished: here the agent's own Pod (Pending: nothing schedules it).
      const requested = await podRequests(kc);
      expect(requested.pods).toBeGreaterThanOrEqual(1);
      expect(detail.capacity).toMatchObject({ requestedCpuMillis: requested.cpuMillis, requestedMemoryMiB: requested.memoryMiB });

      const secret = await agentSecret(kc);
      expect(secret).toBeDefined();
      expect(secret!['cluster-id']).toBe(entry(name).clusterId);
      expect(secret!.credential).toMatch(/^fpc_/);
      expect(secret).not.toHaveProperty('registration-token');
      const cluster_ = await fp.api.prisma.cluster.findUniqueOrThrow({ where: { id: entry(name).clusterId } });
      expect(cluster_.kubeSystemUid).toBe(await kubeSystemUid(kc));
      expect((await events(entry(name).clusterId, 'AgentRegistered')).length).toBe(1);
      // Both install paths (kubectl apply, server-side apply) end with the ClusterRole adopted by its binding.
      const rbac = await agentRbac(kc);
      expect(rbac.clusterRole.rules).toEqual(AGENT_CLUSTER_RULES);
      expect(rbac.clusterRole.ownerReferences).toEqual([expect.objectContaining({ kind: 'ClusterRoleBinding', uid: rbac.clusterRoleBinding.uid })]);
    },
    TEST_MS,
  );

  it(
    "refuses an agent's credential presented for another cluster (CREDENTIAL_WRONG_CLUSTER) and records a SECURITY event",
    async () => {
      const own = entry(LINK);
      const other = entry(QUEUE_K3S);
      const credential = (await agentSecret(cluster(LINK).kubeConfig))!.credential;
      const otherBefore = await fp.api.prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId: other.clusterId } });

      const refused = await http(fp, 'POST', AgentPaths.reports, {
        credential,
        body: makeReportsRequest([makeHeartbeatItem(2_000_000_000, new Date().toISOString())], { clusterId: other.clusterId, sentAt: new Date().toISOString() }),
      });
      expect(refused.status).toBe(403);
      expect(refused.json.error.code).toBe('CREDENTIAL_WRONG_CLUSTER');

      const security = await events(own.clusterId, 'CrossClusterReportRefused');
      expect(security).toHaveLength(1);
      expect(security[0]).toMatchObject({
        severity: 'SECURITY',
        actor: `agent:${LINK}`,
        data: expect.objectContaining({ claimedClusterId: other.clusterId, operation: 'reports' }),
      });
      expect(await events(other.clusterId, 'CrossClusterReportRefused')).toEqual([]);
      // Nothing was stored for the other cluster: its acknowledged seq is still its own agent's.
      const otherAfter = await fp.api.prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId: other.clusterId } });
      expect(otherAfter.ackedSeq).toBeLessThan(2_000_000_000);
      expect(otherAfter.ackedSeq).toBeGreaterThanOrEqual(otherBefore.ackedSeq);
      // The same credential with its own cluster id is accepted (seq 1 is a duplicate by now, so the
      // agent's own sequence is not disturbed): the refusal was about the cluster, not the credential.
      const accepted = await http(fp, 'POST', AgentPaths.reports, {
        credential,
        body: makeReportsRequest([makeHeartbeatItem(1, new Date().toISOString())], { clusterId: own.clusterId, sentAt: new Date().toISOString() }),
      });
      expect(accepted.status).toBe(200);
      expect(accepted.json.ackedSeq).toBeGreaterThanOrEqual(1);
    },
    TEST_MS,
  );

  it(
    'measures time to READY per mode, agent RSS at rest and the size of the 3-node snapshot (printed, not asserted on time)',
    async () => {
      // "At rest": READY and at least three heartbeats (5 s apart, the site's interval) stored since.
      const tkg = entry(QUEUE_TKG);
      const seqAtStart = (await fp.api.prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId: tkg.clusterId } })).ackedSeq;
      await waitFor(
        'three more heartbeats',
        () => fp.api.prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId: tkg.clusterId } }),
        (i) => i.ackedSeq >= seqAtStart + 3,
        { timeoutMs: 60_000, context: logs },
      );
      const rss: Record<string, number> = {};
      for (const [name, e] of attached) {
        expect(e.agent!.proc.running).toBe(true);
        rss[name] = Math.round((await rssKiB(e.agent!.proc.pid)) / 1024);
      }
      const inventory = await fp.api.prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId: entry(LINK).clusterId } });
      const snapshot = inventory.snapshot as { nodes: unknown[]; namespaces: unknown[] };
      expect(snapshot.nodes).toHaveLength(3);
      const byMode = (mode: string) => [...attached.values()].filter((e) => e.mode === mode).map((e) => e.msToReady!);
      Object.assign(measurements, {
        msToReadyLink: byMode('LINK'),
        msToReadyQueue: byMode('QUEUE'),
        medianMsToReadyLink: median(byMode('LINK')),
        medianMsToReadyQueue: median(byMode('QUEUE')),
        agentRssMiB: rss,
        snapshotBytes3NodeTkg: Buffer.byteLength(JSON.stringify(snapshot)),
        snapshotBytes1NodeK3s: Buffer.byteLength(
          JSON.stringify((await fp.api.prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId: entry(QUEUE_K3S).clusterId } })).snapshot),
        ),
      });
      for (const value of Object.values(rss)) {
        expect(value).toBeGreaterThan(0);
      }
    },
    TEST_MS,
  );

  it(
    'a stopped agent makes its cluster DISCONNECTED after the site grace; restarted, it reports with its stored credential and the cluster is READY/HEALTHY again',
    async () => {
      const e = entry(QUEUE_K3S);
      const exit = await e.agent!.proc.stop('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      const stoppedAt = Date.now();

      const disconnected = await waitForCluster(fp, e.clusterId, 'READY', 'DISCONNECTED', { timeoutMs: 90_000, context: logs });
      const change = (await events(e.clusterId, 'ClusterHealthChanged')).at(-1)!;
      expect(change).toMatchObject({ actor: 'system:health-sweep', data: { from: 'HEALTHY', to: 'DISCONNECTED' } });
      // The verdict respects the site's threshold: not before 10 s of silence after the last heartbeat.
      expect(change.occurredAt.getTime() - new Date(disconnected.lastHeartbeatAt!).getTime()).toBeGreaterThanOrEqual(10_000);
      expect(change.occurredAt.getTime()).toBeGreaterThan(stoppedAt - 1_000);

      // The Secret the agent was installed with now holds its credential and no registration token.
      const secret = (await agentSecret(cluster(QUEUE_K3S).kubeConfig))!;
      expect(secret).not.toHaveProperty('registration-token');
      expect(secret.credential).toMatch(/^fpc_/);
      expect(secret['cluster-id']).toBe(e.clusterId);

      e.agent = await startAgent(fp.build, cluster(QUEUE_K3S), { previous: e.agent });
      const back = await waitForCluster(fp, e.clusterId, 'READY', 'HEALTHY', { timeoutMs: 90_000, context: logs });
      expect(new Date(back.lastHeartbeatAt!).getTime()).toBeGreaterThan(new Date(disconnected.lastHeartbeatAt!).getTime());
      expect(e.agent.proc.output).toContain('using the stored credential');
      expect(e.agent.proc.output).not.toMatch(/"msg":"registered"/);
      expect(await events(e.clusterId, 'AgentRegistered')).toHaveLength(1);
      expect((await events(e.clusterId, 'ClusterHealthChanged')).at(-1)).toMatchObject({ actor: `agent:${QUEUE_K3S}`, data: { from: 'DISCONNECTED', to: 'HEALTHY' } });
      expect((await agentSecret(cluster(QUEUE_K3S).kubeConfig))!.credential).toBe(secret.credential);
    },
    TEST_MS,
  );

  it(
    'detach: the agent removes farpoint-system and everything it installed, the cluster is DETACHED, and its old credential is refused',
    async () => {
      const e = entry(LINK);
      const kc = cluster(LINK).kubeConfig;
      const credential = (await agentSecret(kc))!.credential;

      const detaching = await fp.api.gqlOk<{ detachCluster: { phase: string } }>(fp.token, 'mutation($id: ID!) { detachCluster(id: $id) { phase } }', { id: e.clusterId });
      expect(detaching.detachCluster.phase).toBe('DETACHING');

      const detached = await waitForCluster(fp, e.clusterId, 'DETACHED', undefined, { timeoutMs: 90_000, context: logs });
      expect(detached.operations[0]).toMatchObject({ kind: 'DETACH', state: 'SUCCEEDED' });
      // The agent removed itself and exited 0 (as its pod would, to be deleted with its namespace).
      expect(await e.agent!.proc.exited).toEqual({ code: 0, signal: null });
      await waitFor(
        `namespace ${AGENT_NAMESPACE} to be gone`,
        () => namespaceState(kc, AGENT_NAMESPACE),
        (s) => s === 'gone',
        { timeoutMs: 120_000, context: logs },
      );
      await waitFor(
        'every installed object to be gone',
        () => installedObjects(kc),
        (objects) => Object.values(objects).every((names) => names.length === 0),
        { timeoutMs: 60_000 },
      );

      const refused = await http(fp, 'POST', AgentPaths.reports, {
        credential,
        body: makeReportsRequest([makeHeartbeatItem(2_000_000_000, new Date().toISOString())], { clusterId: e.clusterId, sentAt: new Date().toISOString() }),
      });
      expect(refused.status).toBe(401);
      expect(refused.json.error.code).toBe('CREDENTIAL_REVOKED');
      const credentials = await fp.api.prisma.agentCredential.findMany({ where: { clusterId: e.clusterId } });
      expect(credentials.length).toBeGreaterThan(0);
      expect(credentials.every((c) => c.revokedAt !== null)).toBe(true);
    },
    TEST_MS,
  );

  it(
    'force detach of a dead cluster removes its record at once, and its credential stops working',
    async () => {
      const e = entry(QUEUE_TKG);
      const kc = cluster(QUEUE_TKG).kubeConfig;
      const credential = (await agentSecret(kc))!.credential;
      expect(await e.agent!.proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });

      const forced = await fp.api.gqlOk<{ detachCluster: { id: string; phase: string } }>(fp.token, 'mutation($id: ID!) { detachCluster(id: $id, force: true) { id phase } }', {
        id: e.clusterId,
      });
      expect(forced.detachCluster).toEqual({ id: e.clusterId, phase: 'DETACHED' });
      const gone = await fp.api.gql(fp.token, 'query($id: ID!) { cluster(id: $id) { id } }', { id: e.clusterId });
      expect(gone.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(await fp.api.prisma.cluster.count({ where: { id: e.clusterId } })).toBe(0);
      expect(await fp.api.prisma.agentCredential.count({ where: { clusterId: e.clusterId } })).toBe(0);
      expect((await fp.api.prisma.event.findMany({ where: { objectId: e.clusterId, type: 'ClusterForceDetached' } })).length).toBe(1);

      const refused = await http(fp, 'POST', AgentPaths.reports, {
        credential,
        body: makeReportsRequest([makeHeartbeatItem(2_000_000_000, new Date().toISOString())], { clusterId: e.clusterId, sentAt: new Date().toISOString() }),
      });
      expect(refused.status).toBe(401);
      expect(refused.json.error.code).toBe('CREDENTIAL_INVALID');

      // Should the dead cluster come back, its agent is refused and stops reporting instead of retrying.
      e.agent = await startAgent(fp.build, cluster(QUEUE_TKG), { previous: e.agent });
      await e.agent.proc.waitForOutput(/reporting stopped/, 60_000);
      expect(e.agent.proc.logLines().some((l) => l.level === 'error' && l.code === 'CREDENTIAL_INVALID')).toBe(true);
      expect(await fp.api.prisma.cluster.count({ where: { id: e.clusterId } })).toBe(0);
      await e.agent.proc.stop();
    },
    TEST_MS,
  );
});

async function scanKeys(pattern: string): Promise<string[]> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(fp.api.config.REDIS_URL);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  } finally {
    redis.disconnect();
  }
}
