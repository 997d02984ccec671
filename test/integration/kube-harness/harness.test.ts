// Self-test of the kube harness against the real binaries (tools/build.sh): two clusters shaped like a
// TKG and a k3s edge cluster, exercised through @kubernetes/client-node and the built kubectl.
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  Watch,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Deployment,
} from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCertificateAuthority, issueCertificate, KubeHarness, locateTools, type HarnessCluster, type ToolPaths } from '../../../src/dev/kube-harness';
import { eventually } from '../../../src/dev/eventually';
import { errorText } from './support/kube-errors';

const run = promisify(execFile);
// A first tools/build.sh compiles Kubernetes from source: minutes, once per machine.
const FIRST_BUILD_MS = 20 * 60_000;

let tools: ToolPaths;
let harness: KubeHarness;
let tkg: HarnessCluster;
let k3s: HarnessCluster;
let scratch: string;

beforeAll(async () => {
  tools = await locateTools();
  scratch = await mkdtemp(join(tmpdir(), 'farpoint-harness-test-'));
  harness = await KubeHarness.start({
    clusters: [
      { name: 'edge-tkg-01', profile: 'tkg-3node' },
      { name: 'edge-k3s-01', profile: 'k3s-1node' },
    ],
    tools,
  });
  tkg = harness.cluster('edge-tkg-01');
  k3s = harness.cluster('edge-k3s-01');
}, FIRST_BUILD_MS);

afterAll(async () => {
  await harness?.stop();
  if (scratch) {
    await rm(scratch, { recursive: true, force: true });
  }
});

async function apply(cluster: HarnessCluster, obj: KubernetesObject): Promise<KubernetesObject> {
  return KubernetesObjectApi.makeApiClient(cluster.kubeConfig).patch(obj, undefined, undefined, 'farpoint-test', true, PatchStrategy.ServerSideApply);
}

describe('KubeHarness', () => {
  it('serves the pinned Kubernetes version from each cluster', async () => {
    const { stdout } = await run(tools.kubeApiserver, ['--version']);
    expect(stdout.trim()).toBe(`Kubernetes ${tkg.kubernetesVersion}`);
    const kcm = await run(tools.kubeControllerManager, ['--version']);
    expect(kcm.stdout.trim()).toBe(`Kubernetes ${tkg.kubernetesVersion}`);
    expect(tkg.kubernetesVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(k3s.kubernetesVersion).toBe(tkg.kubernetesVersion);
  });

  it('gives every cluster its own apiserver, CA and storage', async () => {
    expect(tkg.server).not.toBe(k3s.server);
    expect(tkg.caPem).not.toBe(k3s.caPem);
    await apply(tkg, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'only-on-tkg' } });
    await tkg.kubeConfig.makeApiClient(CoreV1Api).readNamespace({ name: 'only-on-tkg' });
    const err = await k3s.kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespace({ name: 'only-on-tkg' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((err as { code?: number })?.code).toBe(404);
  });

  it('shapes tkg-3node as one tainted control plane and two workers, all Ready, with TKG metadata', async () => {
    const { items } = await tkg.kubeConfig.makeApiClient(CoreV1Api).listNode();
    expect(items.map((n) => n.metadata!.name).sort()).toEqual([...tkg.nodeNames].sort());
    expect(items).toHaveLength(3);
    const controlPlanes = items.filter((n) => n.metadata!.labels!['node-role.kubernetes.io/control-plane'] !== undefined);
    expect(controlPlanes).toHaveLength(1);
    expect(controlPlanes[0].spec!.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    for (const node of items) {
      const labels = node.metadata!.labels!;
      const annotations = node.metadata!.annotations!;
      expect(labels['kubernetes.io/hostname']).toBe(node.metadata!.name);
      expect(labels['kubernetes.io/os']).toBe('linux');
      expect(labels['kubernetes.io/arch']).toBe('amd64');
      expect(labels['run.tanzu.vmware.com/tkr']).toBe(`${tkg.kubernetesVersion}---vmware.1-tkg.1`);
      expect(annotations['cluster.x-k8s.io/cluster-name']).toBe('edge-tkg-01');
      expect(node.spec!.providerID).toMatch(/^vsphere:\/\//);
      expect(node.status!.nodeInfo!.kubeletVersion).toBe(`${tkg.kubernetesVersion}+vmware.1`);
      expect(node.status!.conditions!.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(Number(node.status!.capacity!.cpu)).toBeGreaterThan(0);
      expect(node.status!.allocatable!.pods).toBe('110');
      // The harness removes the taint the admission plugin adds to new nodes, as the node controller would.
      expect((node.spec!.taints ?? []).map((t) => t.key)).not.toContain('node.kubernetes.io/not-ready');
    }
    const { stdout } = await run(tools.kubectl, ['--kubeconfig', tkg.kubeconfigPath, 'get', 'nodes', '--no-headers']);
    const rows = stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    expect(rows.map((r) => r[1])).toEqual(['Ready', 'Ready', 'Ready']);
    expect(rows.map((r) => r[2]).sort()).toEqual(['<none>', '<none>', 'control-plane']);
  });

  it('shapes k3s-1node as a single arm64 k3s server node', async () => {
    const { items } = await k3s.kubeConfig.makeApiClient(CoreV1Api).listNode();
    expect(items).toHaveLength(1);
    const [node] = items;
    expect(node.metadata!.name).toBe(k3s.nodeNames[0]);
    expect(node.metadata!.labels!['node.kubernetes.io/instance-type']).toBe('k3s');
    expect(node.metadata!.labels!['node-role.kubernetes.io/control-plane']).toBe('true');
    expect(node.metadata!.labels!['kubernetes.io/arch']).toBe('arm64');
    expect(node.metadata!.annotations!['k3s.io/hostname']).toBe(node.metadata!.name);
    expect(node.metadata!.annotations!['k3s.io/node-args']).toContain('server');
    expect(node.spec!.providerID).toBe(`k3s://${node.metadata!.name}`);
    expect(node.status!.nodeInfo!.kubeletVersion).toBe(`${k3s.kubernetesVersion}+k3s1`);
    expect(node.status!.conditions!.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('server-side applies a Deployment and streams its changes to a watch', async () => {
    await apply(tkg, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    const apps = tkg.kubeConfig.makeApiClient(AppsV1Api);
    const list = await apps.listNamespacedDeployment({ namespace: 'shop' });
    const seen: Array<{ phase: string; replicas?: number; generation?: number }> = [];
    let watchError: unknown;
    // From the list's resourceVersion, so no event between list and watch is missed.
    const watch = await new Watch(tkg.kubeConfig).watch(
      '/apis/apps/v1/namespaces/shop/deployments',
      { resourceVersion: list.metadata!.resourceVersion },
      (phase, obj: V1Deployment) => seen.push({ phase, replicas: obj.spec?.replicas, generation: obj.metadata?.generation }),
      (err) => (watchError = err),
    );
    try {
      const deployment = (replicas: number): V1Deployment => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'storefront', namespace: 'shop', labels: { app: 'storefront' } },
        spec: {
          replicas,
          selector: { matchLabels: { app: 'storefront' } },
          template: {
            metadata: { labels: { app: 'storefront' } },
            spec: { containers: [{ name: 'web', image: 'registry.local/storefront:1.0.0' }] },
          },
        },
      });
      await apply(tkg, deployment(1));
      const applied = (await apply(tkg, deployment(3))) as V1Deployment;
      expect(applied.spec!.replicas).toBe(3);
      expect(applied.metadata!.managedFields!.some((f) => f.manager === 'farpoint-test' && f.operation === 'Apply')).toBe(true);
      await eventually(() => expect(seen.map((e) => e.generation)).toContain(2));
      expect(seen[0]).toEqual({ phase: 'ADDED', replicas: 1, generation: 1 });
      // The deployment controller's status writes arrive as MODIFIED events too; the spec change is the
      // one that bumps the generation.
      expect(seen.slice(1).every((e) => e.phase === 'MODIFIED')).toBe(true);
      expect(seen.find((e) => e.generation === 2)).toEqual({ phase: 'MODIFIED', replicas: 3, generation: 2 });
      expect(seen.filter((e) => e.generation === 1).every((e) => e.replicas === 1)).toBe(true);
      expect(watchError).toBeUndefined();
    } finally {
      watch.abort();
    }
  });

  it('calls a registered validating webhook over TLS and honours its deny', async () => {
    const ca = await createCertificateAuthority(join(scratch, 'webhook'), 'farpoint-test-webhook-ca');
    const cert = await issueCertificate(ca, join(scratch, 'webhook'), {
      file: 'webhook',
      commonName: '127.0.0.1',
      altNames: ['IP:127.0.0.1'],
      usage: 'server',
    });
    const reviews: Array<{ uid: string; name: string; operation: string; dryRun: boolean }> = [];
    const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        const review = JSON.parse(body);
        const { uid, operation, object, dryRun } = review.request;
        reviews.push({ uid, name: object.metadata.name, operation, dryRun: !!dryRun });
        const deny = object.metadata.labels?.['farpoint.dev/deny'] === 'true';
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: { uid, allowed: !deny, ...(deny ? { status: { code: 403, message: 'denied by the farpoint test webhook' } } : {}) },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const admission = tkg.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const core = tkg.kubeConfig.makeApiClient(CoreV1Api);
    try {
      await apply(tkg, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'guarded', labels: { 'farpoint.dev/webhook-test': 'true' } } });
      await admission.createValidatingWebhookConfiguration({
        body: {
          metadata: { name: 'farpoint-test' },
          webhooks: [
            {
              name: 'deny.farpoint.dev',
              clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: Buffer.from(ca.certPem).toString('base64') },
              rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], scope: 'Namespaced' }],
              namespaceSelector: { matchLabels: { 'farpoint.dev/webhook-test': 'true' } },
              failurePolicy: 'Fail',
              sideEffects: 'None',
              admissionReviewVersions: ['v1'],
              timeoutSeconds: 10,
            },
          ],
        },
      });
      const configMap = (name: string, deny: boolean): V1ConfigMap => ({
        metadata: { name, namespace: 'guarded', labels: deny ? { 'farpoint.dev/deny': 'true' } : {} },
        data: { site: 'edge' },
      });
      // The apiserver picks up new webhook configurations through an informer: wait until it calls ours.
      let probe = 0;
      await eventually(async () => {
        const name = `probe-${probe++}`;
        await core.createNamespacedConfigMap({ namespace: 'guarded', body: configMap(name, false), dryRun: 'All' });
        expect(reviews.map((r) => r.name)).toContain(name);
      });

      const denied = await core.createNamespacedConfigMap({ namespace: 'guarded', body: configMap('forbidden', true) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((denied as { code?: number })?.code).toBe(403);
      expect(errorText(denied)).toBe('admission webhook "deny.farpoint.dev" denied the request: denied by the farpoint test webhook');
      const gone = await core.readNamespacedConfigMap({ name: 'forbidden', namespace: 'guarded' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((gone as { code?: number })?.code).toBe(404);

      const allowed = await core.createNamespacedConfigMap({ namespace: 'guarded', body: configMap('permitted', false) });
      expect(allowed.data).toEqual({ site: 'edge' });
      const calls = reviews.filter((r) => r.name === 'forbidden' || r.name === 'permitted');
      expect(calls.map((r) => [r.name, r.operation, r.dryRun])).toEqual([
        ['forbidden', 'CREATE', false],
        ['permitted', 'CREATE', false],
      ]);
      expect(new Set(calls.map((r) => r.uid)).size).toBe(2);
    } finally {
      await admission.deleteValidatingWebhookConfiguration({ name: 'farpoint-test' }).catch(() => undefined);
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('authenticates service-account tokens and enforces RBAC on them', async () => {
    const core = k3s.kubeConfig.makeApiClient(CoreV1Api);
    await apply(k3s, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'farpoint-system' } });
    await apply(k3s, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'agent', namespace: 'farpoint-system' } });
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: 'agent',
      namespace: 'farpoint-system',
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const agent = new KubeConfig();
    agent.loadFromOptions({
      clusters: [{ name: 'c', server: k3s.server, caData: Buffer.from(k3s.caPem).toString('base64') }],
      users: [{ name: 'agent', token: tokenRequest.status!.token }],
      contexts: [{ name: 'agent', cluster: 'c', user: 'agent' }],
      currentContext: 'agent',
    });
    const asAgent = agent.makeApiClient(CoreV1Api);
    const before = await asAgent.listNode().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((before as { code?: number })?.code).toBe(403);
    expect(errorText(before)).toContain('system:serviceaccount:farpoint-system:agent');

    const rbac = k3s.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({ body: { metadata: { name: 'farpoint-agent' }, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'farpoint-agent' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'farpoint-agent' },
        subjects: [{ kind: 'ServiceAccount', name: 'agent', namespace: 'farpoint-system' }],
      },
    });
    // RBAC reads bindings through an informer: allowed once it has seen the new binding.
    const nodes = await eventually(() => asAgent.listNode());
    expect(nodes.items.map((n) => n.metadata!.name)).toEqual([...k3s.nodeNames]);
  });

  it('applies a manifest with the built kubectl', async () => {
    const manifest = join(scratch, 'edge-settings.yaml');
    await writeFile(
      manifest,
      [
        'apiVersion: v1',
        'kind: Namespace',
        'metadata:',
        '  name: edge-config',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: edge-settings',
        '  namespace: edge-config',
        'data:',
        '  uplink: lte',
        '',
      ].join('\n'),
    );
    const { stdout } = await run(tools.kubectl, ['--kubeconfig', k3s.kubeconfigPath, 'apply', '--server-side', '--field-manager=farpoint-test', '-f', manifest]);
    expect(stdout).toContain('namespace/edge-config serverside-applied');
    expect(stdout).toContain('configmap/edge-settings serverside-applied');
    const cm = await k3s.kubeConfig.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'edge-settings', namespace: 'edge-config' });
    expect(cm.data).toEqual({ uplink: 'lte' });
  });
});
