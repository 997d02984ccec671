import 'reflect-metadata';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createApiApp } from '../src/api.app';
import { freePort } from '../src/dev/free-port';
import { KubeHarness, locateTools, type HarnessCluster } from '../src/dev/kube-harness';
import { prepareLocalAgent } from '../src/dev/local-agent';
import { loadConfig } from '../src/infra/config/app-config';
import { findProjectRoot } from '../src/infra/database/migrator';
import { PrismaService } from '../src/infra/database/prisma.service';
import { createRootLogger } from '../src/infra/logging/logger';
import { OrganizationService } from '../src/modules/organizations/organization.service';
import { Child, createBenchDatabase, graphqlClient, percentile, until } from './support';

/**
 * Publish-to-enforced at the edge, end to end: the built-in "no latest tag" recipe (compiled by the
 * worker with the real opa) assigned as DENY to a cluster group over GraphQL, until the kube-apiserver
 * of each of the group's two harness clusters refuses a `nginx:latest` Pod (dryRun creates every
 * 50 ms, as a client sees it) — the agents pull the desired state, verify and write it, admission
 * applies it and writes the webhook configuration, the apiserver's informer picks it up. Then the
 * reverse: unassign until the Pod is admitted again. BENCH_ROLLOUT_RUNS samples of each, one after
 * the other. The agents poll the desired state every BENCH_DESIRED_STATE_INTERVAL_SECONDS (default 1).
 *
 *   npm run bench    or, after npm run build:   DATABASE_URL=… REDIS_URL=… FARPOINT_TOOLS_BIN=… node dist/bench/policy-rollout.bench.js
 */
const RUNS = Number(process.env.BENCH_ROLLOUT_RUNS ?? 8);
const POLL_SECONDS = process.env.BENCH_DESIRED_STATE_INTERVAL_SECONDS ?? '1';
const CLUSTERS = ['bench-rollout-a', 'bench-rollout-b'];
const run = promisify(execFile);

const latestPod = (name: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop' },
  spec: { automountServiceAccountToken: false, containers: [{ name: 'web', image: 'nginx:latest' }] },
});

async function main(): Promise<void> {
  const dist = join(__dirname, '..', 'src');
  const stamp = Date.now();
  const prefix = `bench-rollout-${stamp}`;
  const db = await createBenchDatabase('rollout');
  const port = await freePort();
  const tools = await locateTools();
  const config = loadConfig({ ...process.env, DATABASE_URL: db.url, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'silent', QUEUE_PREFIX: prefix, OPA_PATH: tools.opa });
  const [app, harness] = await Promise.all([
    createApiApp(config, createRootLogger('silent', 'bench')),
    KubeHarness.start({ clusters: CLUSTERS.map((name) => ({ name, profile: 'k3s-1node' as const })), tools }),
  ]);
  const children: Child[] = [];
  const scratch: string[] = [];
  try {
    await app.listen({ port, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${port}`;
    const prisma = app.get(PrismaService);
    const { adminToken } = await app.get(OrganizationService).bootstrap(`bench-rollout-${stamp}`, 'Bench', 'system:bench');
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
          OPA_PATH: tools.opa,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    children.push(worker);
    await until(
      'the worker',
      async () => worker.output,
      (out) => out.includes('Farpoint worker running'),
    );

    const { createClusterGroup } = await gql<{ createClusterGroup: { id: string } }>('mutation($in: CreateClusterGroupInput!) { createClusterGroup(input: $in) { id } }', {
      in: { name: 'bench-rollout', admissionFailurePolicy: 'FAIL', admissionTimeoutSeconds: 10 },
    });
    const groupId = createClusterGroup.id;
    const clusters: HarnessCluster[] = CLUSTERS.map((name) => harness.cluster(name));
    for (const cluster of clusters) {
      const { attachCluster } = await gql<{ attachCluster: { cluster: { id: string }; manifestUrl: string } }>(
        'mutation($in: AttachClusterInput!) { attachCluster(input: $in) { cluster { id } manifestUrl } }',
        { in: { name: cluster.name, groupId } },
      );
      await run(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, 'apply', '-f', attachCluster.manifestUrl]);
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'shop' } } });
      await core.createNamespacedServiceAccount({ namespace: 'shop', body: { metadata: { name: 'default' } } }).catch(() => undefined);
      const stateDir = await mkdtemp(join(tmpdir(), 'farpoint-bench-rollout-agent-'));
      scratch.push(stateDir);
      const local = await prepareLocalAgent(cluster, stateDir);
      const webhookPort = await freePort();
      children.push(
        new Child(
          spawn(process.execPath, [join(dist, 'agent', 'main.js')], {
            env: {
              PATH: process.env.PATH,
              HOME: process.env.HOME,
              ...local.env,
              FARPOINT_ADMISSION: 'on',
              FARPOINT_ADMISSION_URL: `https://127.0.0.1:${webhookPort}/validate`,
              FARPOINT_ADMISSION_LISTEN_HOST: '127.0.0.1',
              FARPOINT_ADMISSION_PORT: String(webhookPort),
              FARPOINT_ADMISSION_INTERVAL_SECONDS: '0.5',
              FARPOINT_DESIRED_STATE_INTERVAL_SECONDS: POLL_SECONDS,
              FARPOINT_AGENT_FORCE_INTERVALS: 'true',
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        ),
      );
      await until(
        `${cluster.name} READY`,
        async () => (await prisma.cluster.findUniqueOrThrow({ where: { id: attachCluster.cluster.id } })).phase,
        (p) => p === 'READY',
      );
    }

    const version = await until(
      'the no-latest-tag recipe to be published',
      () => prisma.policyTemplateVersion.findFirst({ where: { template: { organizationId: null, name: 'farpointnolatesttag' }, lifecycle: 'PUBLISHED' } }),
      (v) => v !== null && v.bundleSha256 !== null,
      180_000,
    );
    const { createConstraint } = await gql<{ createConstraint: { id: string } }>('mutation($in: CreateConstraintInput!) { createConstraint(input: $in) { id } }', {
      in: { name: 'no-latest', templateVersionId: version!.id, match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } },
    });

    let probe = 0;
    /** ms from t0 until the apiserver of the cluster answers the dryRun create as wanted. */
    const untilRefused = async (cluster: HarnessCluster, refused: boolean, t0: number): Promise<number> => {
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      await until(
        `${cluster.name} to ${refused ? 'refuse' : 'admit'} nginx:latest`,
        () =>
          core.createNamespacedPod({ namespace: 'shop', body: latestPod(`probe-${probe++}`), dryRun: 'All' }).then(
            () => false,
            (e: { body?: string }) => String(e.body ?? '').includes('[no-latest]'),
          ),
        (wasRefused) => wasRefused === refused,
        120_000,
        50,
      );
      return Date.now() - t0;
    };

    const enforce: number[] = [];
    const lift: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t0 = Date.now();
      const { assignPolicy } = await gql<{ assignPolicy: { id: string } }>('mutation($in: AssignPolicyInput!) { assignPolicy(input: $in) { id } }', {
        in: { constraintId: createConstraint.id, scope: 'CLUSTER_GROUP', scopeId: groupId, enforcementAction: 'DENY' },
      });
      enforce.push(...(await Promise.all(clusters.map((c) => untilRefused(c, true, t0)))));
      t0 = Date.now();
      await gql('mutation($id: ID!) { unassignPolicy(id: $id) { id } }', { id: assignPolicy.id });
      lift.push(...(await Promise.all(clusters.map((c) => untilRefused(c, false, t0)))));
    }

    const row = (name: string, ms: number[]) => ({ case: name, samples: ms.length, 'median ms': percentile(ms, 50), 'p95 ms': percentile(ms, 95), 'max ms': Math.max(...ms) });
    const rows = [row('assign DENY → refused at the edge (per cluster)', enforce), row('unassign → admitted again (per cluster)', lift)];
    const load1m = loadavg()[0];
    console.log(
      `\nPolicy rollout benchmark — ${clusters.length} harness clusters, agents polling every ${POLL_SECONDS} s; ${cpus().length} CPUs, load average ${load1m.toFixed(2)}\n`,
    );
    console.table(rows);
    const targets = { publishToEnforcedP95Below2s: percentile(enforce, 95) < 2000 };
    console.log(`targets: ${JSON.stringify(targets)}`);
    const out = join(findProjectRoot(), 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, 'policy-rollout.json'),
      JSON.stringify(
        { at: new Date().toISOString(), pollSeconds: Number(POLL_SECONDS), cpus: cpus().length, loadAverage1m: load1m, enforceMs: enforce, liftMs: lift, rows, targets },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await Promise.all(children.map((c) => c.stop('SIGKILL')));
    await app.close();
    await harness.stop();
    await db.drop();
    await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
