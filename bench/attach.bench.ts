import 'reflect-metadata';
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createApiApp } from '../src/api.app';
import { AgentObjectNames } from '../src/agent-install/names';
import { KubeHarness, locateTools, type HarnessCluster } from '../src/dev/kube-harness';
import { prepareLocalAgent } from '../src/dev/local-agent';
import { loadConfig } from '../src/infra/config/app-config';
import { PrismaService } from '../src/infra/database/prisma.service';
import { findProjectRoot } from '../src/infra/database/migrator';
import { freePort } from '../src/dev/free-port';
import { Child, createBenchDatabase, graphqlClient, percentile, until } from './support';
import { createRootLogger } from '../src/infra/logging/logger';
import { OrganizationService } from '../src/modules/organizations/organization.service';

/**
 * Attach, end to end, against real clusters: BENCH_ATTACH_RUNS attaches per mode (by registration
 * link applied with kubectl, and by queue through the worker), alternating a 3-node TKG-style and a
 * 1-node k3s-style kube harness cluster, one at a time so the samples do not compete for the CPU.
 * Each sample is the time from the attach mutation to the cluster being READY (first full inventory
 * stored), as a client polling every 100 ms sees it; between samples the cluster is detached and the
 * agent's namespace is gone. Also the agent's RSS at rest (READY + 3 heartbeats) and the size of the
 * first full snapshot per profile. The agent runs as a local process standing in for its pod (no
 * kubelet in the harness; see src/dev/local-agent.ts), the worker as its own process, both from dist/.
 *
 *   npm run bench          (prepare: build, tools, Postgres/Redis), or after npm run build:
 *   DATABASE_URL=… REDIS_URL=… FARPOINT_TOOLS_BIN=… node dist/bench/attach.bench.js
 */
const RUNS = Number(process.env.BENCH_ATTACH_RUNS ?? 6);
const run = promisify(execFile);
const N = AgentObjectNames;

type Mode = 'LINK' | 'QUEUE';
interface Sample {
  mode: Mode;
  profile: string;
  msToReady: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
};

const notFound = (error: unknown) => (error as { code?: number }).code === 404;
async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (error) {
    if (notFound(error)) {
      return true;
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const root = findProjectRoot();
  const dist = join(__dirname, '..', 'src');
  const stamp = Date.now();
  const prefix = `bench-attach-${stamp}`;
  const db = await createBenchDatabase('attach');

  const port = await freePort();
  // The harness clusters listen on loopback, which a queued attach may only reach when listed.
  const ATTACH_ALLOWED_CIDRS = '127.0.0.0/8';
  const config = loadConfig({ ...process.env, DATABASE_URL: db.url, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'silent', QUEUE_PREFIX: prefix, ATTACH_ALLOWED_CIDRS });
  const tools = await locateTools();
  const [app, harness] = await Promise.all([
    createApiApp(config, createRootLogger('silent', 'bench')),
    KubeHarness.start({
      clusters: [
        { name: 'bench-tkg', profile: 'tkg-3node' },
        { name: 'bench-k3s', profile: 'k3s-1node' },
      ],
      tools,
    }),
  ]);
  const children: Child[] = [];
  const scratch: string[] = [];
  try {
    await app.listen({ port, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${port}`;
    const prisma = app.get(PrismaService);
    const { adminToken } = await app.get(OrganizationService).bootstrap(`bench-attach-${stamp}`, 'Bench', 'system:bench');
    const gql = graphqlClient(base, adminToken);

    const worker = new Child(
      spawn(process.execPath, [join(dist, 'worker.js')], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          // A worker without NODE_ENV runs as production (SECRETS_KEY, https PUBLIC_URL required).
          NODE_ENV: process.env.NODE_ENV ?? 'development',
          DATABASE_URL: config.DATABASE_URL,
          REDIS_URL: config.REDIS_URL,
          QUEUE_PREFIX: prefix,
          PUBLIC_URL: base,
          LOG_LEVEL: 'info',
          ATTACH_ALLOWED_CIDRS,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    children.push(worker);
    await until(
      'the worker',
      async () => worker.output,
      (out) => {
        if (!worker.running) {
          throw new Error(`worker exited:\n${out}`);
        }
        return out.includes('Farpoint worker running');
      },
    );

    const { createSite } = await gql<{ createSite: { id: string } }>('mutation($in: CreateSiteInput!) { createSite(input: $in) { id } }', {
      in: { name: 'bench-site', tier: 'FAR_EDGE', region: 'eu-central', connectivity: { mode: 'ALWAYS_ON', heartbeatIntervalSeconds: 5, disconnectGraceSeconds: 10 } },
    });
    const { createClusterGroup } = await gql<{ createClusterGroup: { id: string } }>('mutation($in: CreateClusterGroupInput!) { createClusterGroup(input: $in) { id } }', {
      in: { name: 'bench' },
    });
    const phaseOf = async (id: string) => (await prisma.cluster.findUniqueOrThrow({ where: { id } })).phase;

    const startAgent = async (cluster: HarnessCluster): Promise<Child> => {
      const stateDir = await mkdtemp(join(tmpdir(), `farpoint-bench-agent-`));
      scratch.push(stateDir);
      const local = await prepareLocalAgent(cluster, stateDir);
      const agent = new Child(
        spawn(process.execPath, [join(dist, 'agent', 'main.js')], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...local.env }, stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      children.push(agent);
      return agent;
    };

    const removed = async (kc: KubeConfig) => {
      const core = kc.makeApiClient(CoreV1Api);
      const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
      return (
        (await gone(() => core.readNamespace({ name: N.namespace }))) &&
        (await gone(() => rbac.readClusterRoleBinding({ name: N.clusterRoleBinding }))) &&
        (await gone(() => rbac.readClusterRole({ name: N.clusterRole })))
      );
    };

    const samples: Sample[] = [];
    const rssMiB: Record<string, number> = {};
    const snapshotBytes: Record<string, number> = {};
    let n = 0;
    for (let i = 0; i < RUNS; i++) {
      for (const mode of ['LINK', 'QUEUE'] as Mode[]) {
        const cluster = harness.cluster(i % 2 === 0 ? 'bench-tkg' : 'bench-k3s');
        const input = { name: `${cluster.name}-${mode.toLowerCase()}-${++n}`, groupId: createClusterGroup.id, siteId: createSite.id };
        const startedAt = Date.now();
        let clusterId: string;
        let agent: Child;
        if (mode === 'LINK') {
          const { attachCluster } = await gql<{ attachCluster: { cluster: { id: string }; manifestUrl: string } }>(
            'mutation($in: AttachClusterInput!) { attachCluster(input: $in) { cluster { id } manifestUrl } }',
            { in: input },
          );
          clusterId = attachCluster.cluster.id;
          await run(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, 'apply', '-f', attachCluster.manifestUrl]);
          agent = await startAgent(cluster);
        } else {
          const kubeconfig = await readFile(cluster.kubeconfigPath, 'utf8');
          const { attachClusterWithKubeconfig } = await gql<{ attachClusterWithKubeconfig: { cluster: { id: string } } }>(
            'mutation($in: AttachClusterWithKubeconfigInput!) { attachClusterWithKubeconfig(input: $in) { cluster { id } } }',
            { in: { ...input, kubeconfig } },
          );
          clusterId = attachClusterWithKubeconfig.cluster.id;
          const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
          await until('the worker to install the agent', () => apps.readNamespacedDeployment({ name: N.deployment, namespace: N.namespace }), Boolean);
          agent = await startAgent(cluster);
        }
        await until(
          `${input.name} READY`,
          () => phaseOf(clusterId),
          (phase) => {
            if (!agent.running) {
              throw new Error(`agent exited:\n${agent.output}`);
            }
            return phase === 'READY';
          },
        );
        const msToReady = Date.now() - startedAt;
        samples.push({ mode, profile: cluster.profile, msToReady });
        console.log(`${input.name}: READY after ${msToReady} ms`);

        if (snapshotBytes[cluster.profile] === undefined) {
          const inventory = await prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId } });
          snapshotBytes[cluster.profile] = Buffer.byteLength(JSON.stringify(inventory.snapshot));
        }
        if (rssMiB[cluster.profile] === undefined) {
          const seq = (await prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId } })).ackedSeq;
          await until(
            'three heartbeats',
            () => prisma.clusterInventory.findUniqueOrThrow({ where: { clusterId } }),
            (inv) => inv.ackedSeq >= seq + 3,
            60_000,
            500,
          );
          const status = await readFile(`/proc/${agent.child.pid}/status`, 'utf8');
          rssMiB[cluster.profile] = Math.round(Number(/^VmRSS:\s+(\d+)/m.exec(status)![1]) / 1024);
        }

        await gql('mutation($id: ID!) { detachCluster(id: $id) { id } }', { id: clusterId });
        await until(
          `${input.name} DETACHED`,
          () => phaseOf(clusterId),
          (phase) => phase === 'DETACHED',
        );
        if ((await agent.exited) !== 0) {
          throw new Error(`the agent did not exit 0 after detach:\n${agent.output}`);
        }
        await until(`${input.name}'s agent objects to be gone`, () => removed(cluster.kubeConfig), Boolean, 120_000, 250);
      }
    }

    const rows = (['LINK', 'QUEUE'] as Mode[]).map((mode) => {
      const ms = samples.filter((s) => s.mode === mode).map((s) => s.msToReady);
      return { mode, n: ms.length, medianMs: median(ms), p95Ms: percentile(ms, 95), minMs: Math.min(...ms), maxMs: Math.max(...ms) };
    });
    console.log(`\nAttach benchmark — ${RUNS} attaches per mode, alternating tkg-3node / k3s-1node, one at a time (time from the mutation to READY)\n`);
    console.table(rows);
    console.table(Object.keys(snapshotBytes).map((profile) => ({ profile, agentRssMiB: rssMiB[profile], firstSnapshotBytes: snapshotBytes[profile] })));
    const out = join(root, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, 'attach.json'),
      JSON.stringify({ at: new Date().toISOString(), runsPerMode: RUNS, rows, samples, agentRssMiB: rssMiB, firstSnapshotBytes: snapshotBytes }, null, 2) + '\n',
    );
  } finally {
    await Promise.all(children.map((c) => c.stop('SIGKILL')));
    await harness.stop();
    await app.close();
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
    const redis = new Redis(config.REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) {
        await redis.unlink(...keys);
      }
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
