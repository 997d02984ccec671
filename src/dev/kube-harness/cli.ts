import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeHarness, type ClusterSpec } from './harness';
import { CLUSTER_PROFILES, type ClusterProfile } from './profiles';

const USAGE = `Starts real Kubernetes clusters (one etcd, one kube-apiserver and one kube-controller-manager per
cluster) and keeps them running until SIGTERM/SIGINT.

  node dist/src/dev/kube-harness/cli.js --out <dir> [--cluster <name>=<profile>]... [--count <n> [--profile <profile>]]

  --out        writes <dir>/<name>.kubeconfig and <dir>/clusters.json (removed again on exit)
  --cluster    a cluster to start; profiles: ${CLUSTER_PROFILES.join(', ')}
  --count      start edge-01 … edge-<n> (alternating profiles unless --profile is given)
  --state-dir  parent of the harness directories (default: $FARPOINT_KUBE_HARNESS_DIR or a tmp dir)
  --no-controllers  no kube-controller-manager (namespaces never finish deleting, Deployments make no Pods)
Without --cluster/--count: edge-tkg-01=tkg-3node and edge-k3s-01=k3s-1node.
Prints "ready <path of clusters.json>" on stdout once every cluster answers.`;

class UsageError extends Error {}

function isProfile(p: string): p is ClusterProfile {
  return (CLUSTER_PROFILES as readonly string[]).includes(p);
}

function parseCli(argv: string[]): { out: string; stateDir?: string; controllers: boolean; clusters: ClusterSpec[] } {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      cluster: { type: 'string', multiple: true },
      count: { type: 'string' },
      profile: { type: 'string' },
      'state-dir': { type: 'string' },
      'no-controllers': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    throw new UsageError('');
  }
  if (!values.out) {
    throw new UsageError('--out is required');
  }
  const clusters: ClusterSpec[] = [];
  for (const c of values.cluster ?? []) {
    const [name, profile = ''] = c.split('=');
    if (!isProfile(profile)) {
      throw new UsageError(`--cluster ${c}: expected <name>=<profile>, profile one of ${CLUSTER_PROFILES.join(', ')}`);
    }
    clusters.push({ name, profile });
  }
  if (values.profile !== undefined && !isProfile(values.profile)) {
    throw new UsageError(`--profile ${values.profile}: unknown profile`);
  }
  if (values.count !== undefined) {
    const n = Number(values.count);
    if (!Number.isInteger(n) || n < 1 || n > 50) {
      throw new UsageError('--count must be a whole number from 1 to 50');
    }
    for (let i = 1; i <= n; i++) {
      const profile = values.profile ?? CLUSTER_PROFILES[(i - 1) % CLUSTER_PROFILES.length];
      clusters.push({ name: `edge-${String(i).padStart(2, '0')}`, profile });
    }
  }
  if (clusters.length === 0) {
    clusters.push({ name: 'edge-tkg-01', profile: 'tkg-3node' }, { name: 'edge-k3s-01', profile: 'k3s-1node' });
  }
  return { out: resolve(values.out), stateDir: values['state-dir'], controllers: !values['no-controllers'], clusters };
}

/** Returns an exit code for usage errors, or 'running' once the clusters are up (exit comes from a signal). */
async function main(argv: string[]): Promise<number | 'running'> {
  let args: ReturnType<typeof parseCli>;
  try {
    args = parseCli(argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${message ? `${message}\n\n` : ''}${USAGE}\n`);
    return err instanceof UsageError && !message ? 0 : 2;
  }
  const log = (m: string) => process.stderr.write(`[kube-harness] ${m}\n`);
  const jsonPath = join(args.out, 'clusters.json');
  // Assigned once start() resolves; the signal handler below reads it before that, so it cannot be const.
  // eslint-disable-next-line prefer-const
  let harness: KubeHarness | undefined;
  let stopping = false;
  // Installed before start-up: a signal while servers start exits, and harness.ts's exit hook kills them.
  const stop = async (signal: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    log(`${signal}: stopping`);
    await rm(jsonPath, { force: true });
    await harness?.stop();
    process.exit(0);
  };
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(s, () => void stop(s));
  }

  await mkdir(args.out, { recursive: true });
  harness = await KubeHarness.start({ clusters: args.clusters, kubeconfigDir: args.out, stateRoot: args.stateDir, controllers: args.controllers, log });
  // Written then renamed, so a reader polling for the file never sees half of it.
  await writeFile(`${jsonPath}.tmp`, JSON.stringify({ pid: process.pid, ...harness.describe() }, null, 2) + '\n');
  await rename(`${jsonPath}.tmp`, jsonPath);
  process.stdout.write(`ready ${jsonPath}\n`);
  return 'running';
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => code !== 'running' && process.exit(code),
    (err) => {
      process.stderr.write(`[kube-harness] ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
