import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { accessSync, constants } from 'node:fs';
import { readFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dump as toYaml } from 'js-yaml';
import { createCertificateAuthority, createServiceAccountKey, issueCertificate } from './pki';
import { HarnessDir, type ManagedProcess } from './processes';
import { CLUSTER_PROFILES, nodesForProfile, type ClusterProfile } from './profiles';
import { locateTools, type ToolPaths } from './tools';
import { freePort } from '../free-port';

export interface ClusterSpec {
  /** DNS label: names the kubeconfig context, the files and the etcd prefix. */
  readonly name: string;
  readonly profile: ClusterProfile;
}

export interface KubeHarnessOptions {
  readonly clusters: readonly ClusterSpec[];
  /** Binaries to run; default: locateTools() (FARPOINT_TOOLS_BIN or tools/build.sh). */
  readonly tools?: ToolPaths;
  /** Parent of the per-harness directories; default $FARPOINT_KUBE_HARNESS_DIR or <tmp>/farpoint-kube-harness-<uid>. */
  readonly stateRoot?: string;
  /** Where to write <name>.kubeconfig; default: inside the harness directory. Removed again on stop(). */
  readonly kubeconfigDir?: string;
  /** Per-server start deadline; default 120 s (two apiservers starting on two cores take ~10–20 s). */
  readonly startTimeoutMs?: number;
  /**
   * Run a kube-controller-manager per cluster (HARNESS_CONTROLLERS): namespaces get deleted for real,
   * Deployments get ReplicaSets and (Pending) Pods, namespaces get their `default` ServiceAccount, owner
   * references are garbage-collected. Default true; false saves ~2 s of start and its memory per cluster.
   */
  readonly controllers?: boolean;
  readonly log?: (message: string) => void;
}

export interface HarnessCluster {
  readonly name: string;
  readonly profile: ClusterProfile;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly kubeconfigPath: string;
  /** Admin (system:masters) client for this cluster. */
  readonly kubeConfig: KubeConfig;
  /** PEM of the cluster's own CA (serving and client certificates). */
  readonly caPem: string;
  /** e.g. v1.37.2, as reported by /version. */
  readonly kubernetesVersion: string;
  readonly nodeNames: readonly string[];
  readonly apiserverPid: number;
  /** undefined when the harness runs without controllers. */
  readonly controllerManagerPid: number | undefined;
  /** Stops this cluster's controller-manager and apiserver (its data stays in etcd until the harness stops). */
  stop(): Promise<void>;
}

export interface HarnessDescription {
  readonly dir: string;
  readonly etcd: { readonly url: string; readonly pid: number };
  readonly clusters: ReadonlyArray<{
    readonly name: string;
    readonly profile: ClusterProfile;
    readonly server: string;
    readonly kubeconfigPath: string;
    readonly kubernetesVersion: string;
    readonly nodes: readonly string[];
    readonly apiserverPid: number;
    readonly controllerManagerPid?: number;
  }>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;

/**
 * The controllers kube-controller-manager runs in harness clusters: what makes the API behave like a
 * real cluster's without a kubelet or scheduler. Left out on purpose:
 *  - node-lifecycle-controller: no kubelet renews the nodes' Leases, so after the grace period (40 s) it
 *    would mark every node Unknown and taint it unreachable/not-ready (then evict pods);
 *  - taint-eviction-controller, ttl-controller, node-ipam-controller: they act on nodes and have nothing to do;
 *  - attach/detach, binder, expander, ephemeral-volume, resourceclaim, device-taint: no storage or devices;
 *  - certificate signing/approving/cleaning, bootstrap and token cleaners, horizontal-pod-autoscaler (no
 *    metrics API), storage-version and service-CIDR housekeeping, and the alpha/beta extras.
 */
export const HARNESS_CONTROLLERS: readonly string[] = [
  'namespace-controller',
  'garbage-collector-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'clusterrole-aggregation-controller',
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'daemonset-controller',
  'job-controller',
  'cronjob-controller',
  'replicationcontroller-controller',
  'ttl-after-finished-controller',
  'disruption-controller',
  'pod-garbage-collector-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  // Without it a namespace with a ResourceQuota rejects every create (the quota's status stays unknown).
  'resourcequota-controller',
  // The StorageObjectInUseProtection admission plugin puts finalizers on PVCs and PVs that only these remove.
  'persistentvolumeclaim-protection-controller',
  'persistentvolume-protection-controller',
  'validatingadmissionpolicy-status-controller',
];

/** Servers started by this process, killed synchronously if it exits without stop() (e.g. process.exit). */
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of liveGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

function track(p: ManagedProcess): ManagedProcess {
  liveGroups.add(p.pid);
  void p.exited.then(() => liveGroups.delete(p.pid));
  return p;
}

/** The error lines of a klog-style log (E/F prefixed) when there are some, else its last lines. */
async function logTail(path: string): Promise<string> {
  const lines = (await readFile(path, 'utf8').catch(() => '')).trim().split('\n');
  const errors = lines.filter((l) => /^[EF]\d{4} |"level":"(error|fatal|panic)"/.test(l));
  return (errors.length ? errors : lines).slice(-15).join('\n');
}

class PortInUse extends Error {}

/**
 * Waits until `probe` says the server is up. Fails early when the process exits, with the end of its
 * log; a port taken between freePort() and the server's bind becomes PortInUse so the caller retries.
 */
async function waitUntilUp(proc: ManagedProcess, what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      const tail = await logTail(proc.logPath);
      if (/address already in use/i.test(tail)) {
        throw new PortInUse(tail);
      }
      throw new Error(`${what} exited during start-up; end of ${proc.logPath}:\n${tail}`);
    }
    if (await probe().catch(() => false)) {
      return;
    }
    if (Date.now() > deadline) {
      await proc.stop(2_000);
      throw new Error(`${what} was not ready within ${timeoutMs} ms; end of ${proc.logPath}:\n${await logTail(proc.logPath)}`);
    }
    await sleep(200);
  }
}

async function withPortRetry<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof PortInUse) || attempt >= 3) {
        throw err;
      }
    }
  }
}

function get(url: string, tls?: { ca: string; cert: string; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = (tls ? httpsRequest : httpRequest)(url, { ...tls, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

class Cluster implements HarnessCluster {
  private stopped?: Promise<void>;

  constructor(
    readonly name: string,
    readonly profile: ClusterProfile,
    readonly server: string,
    readonly kubeconfigPath: string,
    readonly kubeConfig: KubeConfig,
    readonly caPem: string,
    readonly kubernetesVersion: string,
    readonly nodeNames: readonly string[],
    private readonly apiserver: ManagedProcess,
    private readonly controllerManager: ManagedProcess | undefined,
    private readonly ownsKubeconfig: boolean,
  ) {}

  get apiserverPid(): number {
    return this.apiserver.pid;
  }

  get controllerManagerPid(): number | undefined {
    return this.controllerManager?.pid;
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      // Controller-manager first: without its apiserver it would only log connection errors until killed.
      await this.controllerManager?.stop();
      await this.apiserver.stop();
      if (this.ownsKubeconfig) {
        await rm(this.kubeconfigPath, { force: true });
      }
    })();
    return this.stopped;
  }
}

/**
 * Real Kubernetes API servers for tests, dev scripts and benchmarks: one etcd per harness (each
 * cluster under its own --etcd-prefix, which is all the isolation an apiserver needs, and saves an
 * etcd process per cluster), and one kube-apiserver per cluster with its own CA, port and
 * service-account keys, plus (unless controllers: false) one kube-controller-manager per cluster.
 * Node objects are written to look like the profile's edge cluster.
 */
export class KubeHarness {
  private stopping?: Promise<void>;

  private constructor(
    private readonly dir: HarnessDir,
    private readonly etcd: ManagedProcess,
    readonly etcdUrl: string,
    readonly clusters: readonly HarnessCluster[],
  ) {}

  static async start(options: KubeHarnessOptions): Promise<KubeHarness> {
    validate(options.clusters);
    const log = options.log ?? (() => undefined);
    const timeoutMs = options.startTimeoutMs ?? 120_000;
    const tools = options.tools ?? (await locateTools());
    const controllers = options.controllers ?? true;
    if (controllers) {
      try {
        accessSync(tools.kubeControllerManager, constants.X_OK);
      } catch {
        throw new Error(
          `${tools.kubeControllerManager} is missing: run tools/build.sh (or point FARPOINT_TOOLS_BIN at a folder with kube-controller-manager), or start the harness with controllers: false`,
        );
      }
    }
    const root = options.stateRoot ?? process.env.FARPOINT_KUBE_HARNESS_DIR ?? join(tmpdir(), `farpoint-kube-harness-${process.getuid?.() ?? 0}`);
    const dir = await HarnessDir.create(resolve(root));
    const started: ManagedProcess[] = [];
    const clusters: Cluster[] = [];
    try {
      await dir.startWatchdog();
      const { proc: etcd, url } = await withPortRetry(() => startEtcd(dir, tools, timeoutMs));
      started.push(etcd);
      log(`etcd ready at ${url}`);
      const kubeconfigDir = options.kubeconfigDir ? resolve(options.kubeconfigDir) : undefined;
      if (kubeconfigDir) {
        await mkdir(kubeconfigDir, { recursive: true });
      }
      const results = await Promise.allSettled(options.clusters.map((spec) => startCluster(dir, tools, url, spec, { kubeconfigDir, timeoutMs, controllers, log })));
      for (const r of results) {
        if (r.status === 'fulfilled') {
          clusters.push(r.value);
        }
      }
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        throw failed.reason;
      }
      return new KubeHarness(dir, etcd, url, clusters);
    } catch (err) {
      await Promise.all(clusters.map((c) => c.stop()));
      await Promise.all(started.map((p) => p.stop()));
      await dir.remove();
      throw err;
    }
  }

  /** The harness directory (certificates, logs, etcd data); removed by stop(). */
  get path(): string {
    return this.dir.path;
  }

  cluster(name: string): HarnessCluster {
    const c = this.clusters.find((x) => x.name === name);
    if (!c) {
      throw new Error(`no cluster ${name} in this harness (have ${this.clusters.map((x) => x.name).join(', ')})`);
    }
    return c;
  }

  describe(): HarnessDescription {
    return {
      dir: this.dir.path,
      etcd: { url: this.etcdUrl, pid: this.etcd.pid },
      clusters: this.clusters.map((c) => ({
        name: c.name,
        profile: c.profile,
        server: c.server,
        kubeconfigPath: c.kubeconfigPath,
        kubernetesVersion: c.kubernetesVersion,
        nodes: c.nodeNames,
        apiserverPid: c.apiserverPid,
        ...(c.controllerManagerPid !== undefined ? { controllerManagerPid: c.controllerManagerPid } : {}),
      })),
    };
  }

  /** Stops every cluster (controller-manager, apiserver), then etcd, then removes the directory. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.clusters.map((c) => c.stop()));
      await this.etcd.stop();
      await this.dir.remove();
    })();
    return this.stopping;
  }
}

function validate(clusters: readonly ClusterSpec[]): void {
  if (clusters.length === 0) {
    throw new Error('KubeHarness.start: give at least one cluster');
  }
  const seen = new Set<string>();
  for (const c of clusters) {
    if (!DNS_LABEL.test(c.name)) {
      throw new Error(`cluster name "${c.name}" must be a DNS label of at most 40 characters`);
    }
    if (seen.has(c.name)) {
      throw new Error(`cluster name "${c.name}" is given twice`);
    }
    if (!CLUSTER_PROFILES.includes(c.profile)) {
      throw new Error(`cluster "${c.name}": unknown profile "${c.profile}" (known: ${CLUSTER_PROFILES.join(', ')})`);
    }
    seen.add(c.name);
  }
}

async function startEtcd(dir: HarnessDir, tools: ToolPaths, timeoutMs: number): Promise<{ proc: ManagedProcess; url: string }> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const dataDir = join(dir.path, 'etcd');
  await rm(dataDir, { recursive: true, force: true });
  const proc = track(
    await dir.spawn({
      name: 'etcd',
      command: tools.etcd,
      args: [
        '--name=farpoint',
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=farpoint=${peer}`,
        // Test data is disposable: skipping fsync makes writes ~10x faster on a plain disk.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      logPath: join(dir.path, 'etcd.log'),
    }),
  );
  await waitUntilUp(proc, 'etcd', timeoutMs, async () => {
    const res = await get(`${url}/health`);
    return res.status === 200 && (JSON.parse(res.body) as { health?: unknown }).health === 'true';
  });
  return { proc, url };
}

interface ClusterStartOptions {
  readonly kubeconfigDir: string | undefined;
  readonly timeoutMs: number;
  readonly controllers: boolean;
  readonly log: (m: string) => void;
}

async function startCluster(
  dir: HarnessDir,
  tools: ToolPaths,
  etcdUrl: string,
  spec: ClusterSpec,
  { kubeconfigDir, timeoutMs, controllers, log }: ClusterStartOptions,
): Promise<Cluster> {
  const t0 = Date.now();
  const cdir = join(dir.path, spec.name);
  const pki = join(cdir, 'pki');
  const ca = await createCertificateAuthority(pki, `farpoint-${spec.name}-ca`);
  const [serving, admin, sa, kcmClient, kcmServing] = await Promise.all([
    issueCertificate(ca, pki, {
      file: 'apiserver',
      commonName: 'kube-apiserver',
      usage: 'server',
      altNames: [
        'IP:127.0.0.1',
        'IP:10.0.0.1',
        'DNS:localhost',
        'DNS:kubernetes',
        'DNS:kubernetes.default',
        'DNS:kubernetes.default.svc',
        'DNS:kubernetes.default.svc.cluster.local',
      ],
    }),
    issueCertificate(ca, pki, { file: 'admin', commonName: 'farpoint-admin', organizations: ['system:masters'], usage: 'client' }),
    createServiceAccountKey(pki),
    // Its own user, so its writes are told apart from the tests' (audit, events, RBAC reviews); in
    // system:masters because with --use-service-account-credentials=false every controller uses this one
    // client, and the built-in system:kube-controller-manager role covers only the controller-manager's
    // own housekeeping, not what the controllers write.
    controllers
      ? issueCertificate(ca, pki, {
          file: 'controller-manager',
          commonName: 'system:kube-controller-manager',
          organizations: ['system:masters'],
          usage: 'client',
        })
      : undefined,
    controllers ? issueCertificate(ca, pki, { file: 'controller-manager-serving', commonName: 'kube-controller-manager', altNames: ['IP:127.0.0.1'], usage: 'server' }) : undefined,
  ]);
  const tls = { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem };

  const { proc, server } = await withPortRetry(async () => {
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const proc = track(
      await dir.spawn({
        name: `kube-apiserver-${spec.name}`,
        command: tools.kubeApiserver,
        args: [
          `--etcd-servers=${etcdUrl}`,
          `--etcd-prefix=/clusters/${spec.name}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          // 1.37 refuses a loopback advertise address for the default (lease) endpoint reconciler; with
          // one apiserver per cluster there is nothing to reconcile.
          '--endpoint-reconciler-type=none',
          `--secure-port=${port}`,
          `--cert-dir=${join(cdir, 'certs')}`,
          `--tls-cert-file=${serving.certPath}`,
          `--tls-private-key-file=${serving.keyPath}`,
          `--client-ca-file=${ca.certPath}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${sa.pubPath}`,
          `--service-account-signing-key-file=${sa.keyPath}`,
          '--service-cluster-ip-range=10.0.0.0/24',
          '--authorization-mode=Node,RBAC',
          // On top of the defaults (ValidatingAdmissionWebhook among them), as kubeadm-built clusters do.
          '--enable-admission-plugins=NodeRestriction',
          '--allow-privileged=true',
          '--profiling=false',
        ],
        logPath: join(cdir, 'kube-apiserver.log'),
      }),
    );
    await waitUntilUp(proc, `kube-apiserver ${spec.name}`, timeoutMs, async () => (await get(`${server}/readyz`, tls)).status === 200);
    return { proc, server };
  });

  let kcm: ManagedProcess | undefined;
  try {
    const kubeconfigPath = kubeconfigDir ? join(kubeconfigDir, `${spec.name}.kubeconfig`) : join(cdir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(spec.name, server, ca.certPem, admin.certPem, admin.keyPem), { mode: 0o600 });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const version = (JSON.parse((await get(`${server}/version`, tls)).body) as { gitVersion: string }).gitVersion;
    const kubernetesVersion = version.replace(/\+.*$/, '');
    // The controller-manager starts (~2 s) while the nodes are written; its informers pick them up either way.
    // Known from its spawn on, so a createNodes failure while it is still starting stops it too.
    const spawned = (p: ManagedProcess) => (kcm = p);
    const kcmStart =
      kcmClient && kcmServing
        ? withPortRetry(() =>
            startControllerManager(dir, tools, spec, cdir, spawned, {
              server,
              ca,
              client: kcmClient,
              serving: kcmServing,
              saKeyPath: sa.keyPath,
              tls,
              timeoutMs,
            }),
          )
        : undefined;
    const [nodeNames] = await Promise.all([createNodes(kubeConfig, spec, kubernetesVersion), kcmStart]);
    log(`cluster ${spec.name} (${spec.profile}) ready at ${server}${kcm ? ' with kube-controller-manager' : ''} in ${Date.now() - t0} ms`);
    return new Cluster(spec.name, spec.profile, server, kubeconfigPath, kubeConfig, ca.certPem, kubernetesVersion, nodeNames, proc, kcm, !!kubeconfigDir);
  } catch (err) {
    await kcm?.stop();
    await proc.stop();
    throw err;
  }
}

interface ControllerManagerConfig {
  readonly server: string;
  readonly ca: { certPath: string; certPem: string };
  readonly client: { certPem: string; keyPem: string };
  readonly serving: { certPath: string; keyPath: string };
  readonly saKeyPath: string;
  readonly tls: { ca: string; cert: string; key: string };
  readonly timeoutMs: number;
}

/**
 * Starts the cluster's kube-controller-manager and waits until its controllers work: its /healthz
 * answers and the serviceaccount controller has given the `default` namespace its `default`
 * ServiceAccount (without which the ServiceAccount admission plugin rejects Pods there).
 */
async function startControllerManager(
  dir: HarnessDir,
  tools: ToolPaths,
  spec: ClusterSpec,
  cdir: string,
  spawned: (proc: ManagedProcess) => void,
  cfg: ControllerManagerConfig,
): Promise<ManagedProcess> {
  const kubeconfigPath = join(cdir, 'controller-manager.kubeconfig');
  await writeFile(kubeconfigPath, kubeconfigYaml(spec.name, cfg.server, cfg.ca.certPem, cfg.client.certPem, cfg.client.keyPem), { mode: 0o600 });
  const port = await freePort();
  const proc = track(
    await dir.spawn({
      name: `kube-controller-manager-${spec.name}`,
      command: tools.kubeControllerManager,
      args: [
        `--kubeconfig=${kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--tls-cert-file=${cfg.serving.certPath}`,
        `--tls-private-key-file=${cfg.serving.keyPath}`,
        `--controllers=${HARNESS_CONTROLLERS.join(',')}`,
        '--use-service-account-credentials=false',
        '--leader-elect=false',
        `--cluster-name=${spec.name}`,
        // Signs the legacy token Secrets of the serviceaccount-token controller with the apiserver's key.
        `--service-account-private-key-file=${cfg.saKeyPath}`,
        // ca.crt in those Secrets and the kube-root-ca.crt ConfigMap of every namespace.
        `--root-ca-file=${cfg.ca.certPath}`,
        // Namespace deletion walks every resource type; the default 20 QPS makes it take seconds.
        '--kube-api-qps=100',
        '--kube-api-burst=200',
        '--profiling=false',
      ],
      logPath: join(cdir, 'kube-controller-manager.log'),
    }),
  );
  spawned(proc);
  const healthz = `https://127.0.0.1:${port}/healthz`;
  const defaultSa = `${cfg.server}/api/v1/namespaces/default/serviceaccounts/default`;
  await waitUntilUp(proc, `kube-controller-manager ${spec.name}`, cfg.timeoutMs, async () => {
    const res = await get(healthz, { ca: cfg.ca.certPem, cert: cfg.tls.cert, key: cfg.tls.key });
    return res.status === 200 && (await get(defaultSa, cfg.tls)).status === 200;
  });
  return proc;
}

function kubeconfigYaml(name: string, server: string, caPem: string, certPem: string, keyPem: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user = `${name}-admin`;
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(certPem), 'client-key-data': b64(keyPem) } }],
    contexts: [{ name, context: { cluster: name, user } }],
    'current-context': name,
    preferences: {},
  });
}

/**
 * Writes the profile's nodes as a kubelet would: create, then status through the status
 * subresource, then drop the not-ready taint the TaintNodesByCondition admission plugin puts on
 * every new node (the node lifecycle controller would remove it once the node reports Ready).
 */
async function createNodes(kubeConfig: KubeConfig, spec: ClusterSpec, kubernetesVersion: string): Promise<string[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const fixtures = nodesForProfile(spec.profile, spec.name, kubernetesVersion);
  await Promise.all(
    fixtures.map(async ({ node, status }) => {
      const name = node.metadata!.name!;
      const created = await core.createNode({ body: node });
      await core.replaceNodeStatus({ name, body: { ...created, status } });
      const current = await core.readNode({ name });
      current.spec!.taints = (current.spec?.taints ?? []).filter((t) => t.key !== 'node.kubernetes.io/not-ready');
      await core.replaceNode({ name, body: current });
    }),
  );
  return fixtures.map((f) => f.node.metadata!.name!);
}
