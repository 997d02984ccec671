// The harness clusters' kube-controller-manager: namespaces really go away, workloads get their Pods
// (Pending: no scheduler or kubelet runs), namespaces get their ServiceAccount, owners' dependants are
// garbage-collected, and the fake Nodes stay Ready because the node lifecycle controller is not run.
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { get } from 'node:https';
import { join } from 'node:path';
import { HARNESS_CONTROLLERS, KubeHarness, locateTools, processesMentioning, type HarnessCluster } from '../../../src/dev/kube-harness';
import { eventually } from '../../../src/dev/eventually';
import { errorText } from './support/kube-errors';

// A first tools/build.sh compiles Kubernetes from source: minutes, once per machine.
const FIRST_BUILD_MS = 20 * 60_000;
// The namespace controller waits a fixed 5 s before it deletes a namespace's content.
const SETTLE_MS = 60_000;
const TEST_MS = 2 * SETTLE_MS;

let harness: KubeHarness;
let tkg: HarnessCluster;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeAll(async () => {
  harness = await KubeHarness.start({ clusters: [{ name: 'edge-tkg-ctl', profile: 'tkg-3node' }], tools: await locateTools() });
  tkg = harness.cluster('edge-tkg-ctl');
  core = tkg.kubeConfig.makeApiClient(CoreV1Api);
  apps = tkg.kubeConfig.makeApiClient(AppsV1Api);
}, FIRST_BUILD_MS);

afterAll(async () => {
  await harness?.stop();
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: { code?: number }) => e.code,
  );

async function commandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
}

function flag(args: string[], name: string): string {
  const arg = args.find((a) => a.startsWith(`--${name}=`));
  if (!arg) {
    throw new Error(`no --${name} in ${args.join(' ')}`);
  }
  return arg.slice(name.length + 3);
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function createNamespace(name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } });
}

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'app', image: `registry.local/${app}:1.0.0` }] },
});

describe('KubeHarness controllers', () => {
  it('runs one kube-controller-manager per cluster with the harness controllers and no node lifecycle controller', async () => {
    const pid = tkg.controllerManagerPid!;
    expect(pid).toEqual(expect.any(Number));
    expect(harness.describe().clusters[0].controllerManagerPid).toBe(pid);
    const args = await commandLine(pid);
    const controllers = flag(args, 'controllers').split(',');
    expect(controllers).toEqual([...HARNESS_CONTROLLERS]);
    expect(controllers).not.toContain('*');
    expect(controllers).not.toContain('node-lifecycle-controller');
    expect(args).toEqual(expect.arrayContaining(['--use-service-account-credentials=false', '--leader-elect=false', '--bind-address=127.0.0.1']));

    // /healthz?verbose lists one check per controller that started.
    const { status, body } = await httpsGet(`https://127.0.0.1:${flag(args, 'secure-port')}/healthz?verbose`, tkg.caPem);
    expect(status).toBe(200);
    const running = [...body.matchAll(/^\[\+\](\S+) ok$/gm)].map((m) => m[1]);
    expect(running.sort()).toEqual([...HARNESS_CONTROLLERS].sort());

    const log = await readFile(join(harness.path, tkg.name, 'kube-controller-manager.log'), 'utf8');
    expect(log).toContain('"Warning: controller is disabled" controller="node-lifecycle-controller"');
  });

  it(
    'deletes a namespace with content for real: it ends NotFound',
    async () => {
      await createNamespace('doomed');
      await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'settings' }, data: { uplink: 'lte' } } });
      await core.deleteNamespace({ name: 'doomed' });
      await eventually(async () => expect(await codeOf(core.readNamespace({ name: 'doomed' }))).toBe(404), { timeoutMs: SETTLE_MS });
      expect(await codeOf(core.readNamespacedConfigMap({ name: 'settings', namespace: 'doomed' }))).toBe(404);
      // A namespace of that name can be made again, as after a real deletion.
      await createNamespace('doomed');
      await core.deleteNamespace({ name: 'doomed' });
    },
    TEST_MS,
  );

  it(
    'gives a new namespace its default ServiceAccount and kube-root-ca.crt',
    async () => {
      await createNamespace('fresh');
      const sa = await eventually(() => core.readNamespacedServiceAccount({ name: 'default', namespace: 'fresh' }), { timeoutMs: SETTLE_MS });
      expect(sa.metadata!.namespace).toBe('fresh');
      const rootCa = await eventually(() => core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: 'fresh' }), { timeoutMs: SETTLE_MS });
      expect(rootCa.data!['ca.crt']).toBe(tkg.caPem);
    },
    TEST_MS,
  );

  it(
    'fills a service-account token Secret with a token the apiserver accepts',
    async () => {
      await createNamespace('tokens');
      await eventually(() => core.readNamespacedServiceAccount({ name: 'default', namespace: 'tokens' }), { timeoutMs: SETTLE_MS });
      await core.createNamespacedSecret({
        namespace: 'tokens',
        body: {
          metadata: { name: 'default-token', annotations: { 'kubernetes.io/service-account.name': 'default' } },
          type: 'kubernetes.io/service-account-token',
        },
      });
      const secret = await eventually(
        async () => {
          const s = await core.readNamespacedSecret({ name: 'default-token', namespace: 'tokens' });
          expect(s.data?.token).toBeDefined();
          return s;
        },
        { timeoutMs: SETTLE_MS },
      );
      expect(Buffer.from(secret.data!['ca.crt'], 'base64').toString()).toBe(tkg.caPem);
      const asDefault = new KubeConfig();
      asDefault.loadFromOptions({
        clusters: [{ name: 'c', server: tkg.server, caData: Buffer.from(tkg.caPem).toString('base64') }],
        users: [{ name: 'sa', token: Buffer.from(secret.data!.token, 'base64').toString() }],
        contexts: [{ name: 'sa', cluster: 'c', user: 'sa' }],
        currentContext: 'sa',
      });
      // Authenticated (403 from RBAC, not 401): the controller signed it with the key the apiserver verifies.
      const denied = await asDefault
        .makeApiClient(CoreV1Api)
        .listNode()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((denied as { code?: number })?.code).toBe(403);
      expect(errorText(denied)).toContain('system:serviceaccount:tokens:default');
    },
    TEST_MS,
  );

  it(
    'gives a Deployment a ReplicaSet and Pending Pods, and garbage-collects them with it',
    async () => {
      await createNamespace('shop');
      await apps.createNamespacedDeployment({
        namespace: 'shop',
        body: {
          metadata: { name: 'storefront' },
          spec: { replicas: 2, selector: { matchLabels: { app: 'storefront' } }, template: podTemplate('storefront') },
        },
      });
      const rs = await eventually(
        async () => {
          const { items } = await apps.listNamespacedReplicaSet({ namespace: 'shop' });
          expect(items).toHaveLength(1);
          return items[0];
        },
        { timeoutMs: SETTLE_MS },
      );
      expect(rs.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'Deployment', name: 'storefront', controller: true })]);
      const pods = await eventually(
        async () => {
          const { items } = await core.listNamespacedPod({ namespace: 'shop' });
          expect(items).toHaveLength(2);
          return items;
        },
        { timeoutMs: SETTLE_MS },
      );
      for (const pod of pods) {
        expect(pod.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'ReplicaSet', name: rs.metadata!.name })]);
        expect(pod.status!.phase).toBe('Pending');
        expect(pod.spec!.nodeName).toBeUndefined();
        expect(pod.spec!.serviceAccountName).toBe('default');
      }
      await eventually(
        async () => {
          const d = await apps.readNamespacedDeployment({ name: 'storefront', namespace: 'shop' });
          expect(d.status?.replicas).toBe(2);
          expect(d.status?.availableReplicas).toBeUndefined();
        },
        { timeoutMs: SETTLE_MS },
      );

      // Deleted in the background, as kubectl does: the garbage collector removes the dependants.
      await apps.deleteNamespacedDeployment({ name: 'storefront', namespace: 'shop', propagationPolicy: 'Background' });
      await eventually(
        async () => {
          expect((await apps.listNamespacedReplicaSet({ namespace: 'shop' })).items).toEqual([]);
          expect((await core.listNamespacedPod({ namespace: 'shop' })).items).toEqual([]);
        },
        { timeoutMs: SETTLE_MS },
      );
    },
    3 * SETTLE_MS,
  );

  it(
    'gives a StatefulSet its ordinal Pod and a DaemonSet one Pod per untainted node',
    async () => {
      await createNamespace('edge-agents');
      await apps.createNamespacedStatefulSet({
        namespace: 'edge-agents',
        body: {
          metadata: { name: 'cache' },
          spec: { replicas: 1, serviceName: 'cache', selector: { matchLabels: { app: 'cache' } }, template: podTemplate('cache') },
        },
      });
      await apps.createNamespacedDaemonSet({
        namespace: 'edge-agents',
        body: { metadata: { name: 'collector' }, spec: { selector: { matchLabels: { app: 'collector' } }, template: podTemplate('collector') } },
      });
      const byApp = await eventually(
        async () => {
          const { items } = await core.listNamespacedPod({ namespace: 'edge-agents' });
          const group = (app: string) => items.filter((p) => p.metadata!.labels!.app === app);
          expect(group('cache')).toHaveLength(1);
          expect(group('collector')).toHaveLength(2);
          return { cache: group('cache'), collector: group('collector') };
        },
        { timeoutMs: SETTLE_MS },
      );
      expect(byApp.cache[0].metadata!.name).toBe('cache-0');
      expect(byApp.cache[0].status!.phase).toBe('Pending');
      // The control-plane node's NoSchedule taint keeps the DaemonSet off it; each Pod is pinned to a worker.
      const workers = tkg.nodeNames.filter((n) => !n.includes('control-plane'));
      const pinnedTo = (p: V1Pod) => p.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0].matchFields![0].values![0];
      expect(byApp.collector.map(pinnedTo).sort()).toEqual([...workers].sort());
      expect(byApp.collector.map((p) => p.status!.phase)).toEqual(['Pending', 'Pending']);

      // Pending Pods are not bound to a node, so deleting their namespace does not wait for a kubelet.
      await core.deleteNamespace({ name: 'edge-agents' });
      await eventually(async () => expect(await codeOf(core.readNamespace({ name: 'edge-agents' }))).toBe(404), { timeoutMs: SETTLE_MS });
    },
    3 * SETTLE_MS,
  );

  it(
    'runs no controller-manager when the harness is started with controllers: false',
    async () => {
      const bare = await KubeHarness.start({ clusters: [{ name: 'bare', profile: 'k3s-1node' }], tools: await locateTools(), controllers: false });
      try {
        expect(bare.cluster('bare').controllerManagerPid).toBeUndefined();
        expect(bare.describe().clusters[0]).not.toHaveProperty('controllerManagerPid');
        const mine = processesMentioning(bare.path);
        const commands = await Promise.all(mine.map(async (pid) => (await commandLine(pid).catch(() => []))[0] ?? ''));
        expect(commands.filter((c) => c.endsWith('kube-controller-manager'))).toEqual([]);
        expect(commands.filter((c) => c.endsWith('kube-apiserver'))).toHaveLength(1);
      } finally {
        await bare.stop();
      }
    },
    FIRST_BUILD_MS,
  );

  // Last on purpose: by now the controller-manager has run through everything above. Without a kubelet
  // nothing renews the nodes' Leases, so a node lifecycle controller would have marked them Unknown.
  it('leaves the Nodes Ready and untainted by the controllers', async () => {
    const { items } = await core.listNode();
    expect(items.map((n) => n.metadata!.name).sort()).toEqual([...tkg.nodeNames].sort());
    for (const node of items) {
      expect(node.status!.conditions!.find((c) => c.type === 'Ready')?.status).toBe('True');
      const taints = (node.spec!.taints ?? []).map((t) => t.key);
      expect(taints.filter((k) => k !== 'node-role.kubernetes.io/control-plane')).toEqual([]);
    }
    expect(processesMentioning(harness.path)).toContain(tkg.controllerManagerPid);
  });
});
