// Issue 10 item 3, agent side: admission at the edge from a desired state on disk. Against a real
// kube-apiserver from the kube harness and Rego compiled by the real opa: the agent's webhook server
// (its own CA and serving certificate, made without openssl) and its admission loop, which writes the
// agent's ValidatingWebhookConfiguration with the agent ServiceAccount's own token (install RBAC).
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Ingress,
  type V1Pod,
} from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AdmissionLoop } from '../../../src/agent/admission/admission-loop';
import type { AdmissionDecision } from '../../../src/agent/admission/admission-review';
import { writeDesiredState } from '../../../src/agent/desired-state-store';
import { createInventorySync, type InventorySync } from '../../../src/agent/admission/inventory-sync';
import { loadOrCreateServingTls } from '../../../src/agent/admission/serving-tls';
import { CONFIG_HASH_ANNOTATION, WEBHOOK_NAME } from '../../../src/agent/admission/webhook-configuration';
import { WebhookServer } from '../../../src/agent/admission/webhook-server';
import { createJsonLogger } from '../../../src/agent/logger';
import { renderAgentManifests } from '../../../src/agent-install/manifests';
import { AgentObjectNames } from '../../../src/agent-install/names';
import { eventually } from '../../../src/dev/eventually';
import { KubeHarness, locateTools, type HarnessCluster, type ToolPaths } from '../../../src/dev/kube-harness';
import { writeAgentKubeconfig } from '../../../src/dev/local-agent';
import { OpaCliGateway } from '../../../src/infra/opa/opa-cli.gateway';
import { PolicyEngine, bundleSha256, type ConstraintForEvaluation } from '../../../src/policy-engine';
import { TEST_CLUSTER_ID, TEST_REGISTRATION_TOKEN } from '../../../src/protocol/testing/factories';
import { errorText } from '../kube-harness/support/kube-errors';

const run = promisify(execFile);
const SETUP_MS = 20 * 60_000;
const TEST_MS = 3 * 60_000;

const NO_LATEST = `package k8snolatesttag

violation contains {"msg": msg} if {
	some c in input.review.object.spec.containers
	endswith(c.image, ":latest")
	msg := sprintf("container %s uses the latest tag: %s", [c.name, c.image])
}
`;
const REQUIRE_TEAM = `package k8srequiredteam

violation contains {"msg": msg} if {
	not input.review.object.metadata.labels.team
	msg := sprintf("%s %s has no team label", [input.review.object.kind, input.review.object.metadata.name])
}
`;

// Referential: reads the other Ingresses from data.inventory, which the agent's informers fill in.
const UNIQUE_HOST = `package k8suniquehost

violation contains {"msg": msg} if {
	input.review.object.kind == "Ingress"
	some rule in input.review.object.spec.rules
	some ns, name
	other := data.inventory.namespace[ns]["networking.k8s.io/v1"].Ingress[name]
	[ns, name] != [input.review.object.metadata.namespace, input.review.object.metadata.name]
	some used in other.spec.rules
	used.host == rule.host
	msg := sprintf("host %s is taken by Ingress %s/%s", [rule.host, ns, name])
}
`;

let tools: ToolPaths;
let kubeHarness: KubeHarness;
let cluster: HarnessCluster;
let scratch: string;
let server: WebhookServer;
let loop: AdmissionLoop;
let inventory: InventorySync;
let stateDir: string;
let bundle: { sha: string; wasm: Uint8Array };
let constraints: ConstraintForEvaluation[];
const decisions: AdmissionDecision[] = [];

async function apply(obj: KubernetesObject): Promise<void> {
  await KubernetesObjectApi.makeApiClient(cluster.kubeConfig).patch(obj, undefined, undefined, 'farpoint-test', true, PatchStrategy.ServerSideApply);
}

const pod = (name: string, namespace: string, image: string, labels: Record<string, string> = { team: 'shop' }): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { automountServiceAccountToken: false, containers: [{ name: 'web', image }] },
});

/** kubectl create, for what client-node does not show: the apiserver's Warning headers (stderr). */
async function kubectlCreate(obj: V1Pod): Promise<{ stdout: string; stderr: string }> {
  const file = join(scratch, `${obj.metadata!.name}.json`);
  await writeFile(file, JSON.stringify(obj));
  return run(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, 'create', '-f', file]);
}

beforeAll(async () => {
  tools = await locateTools();
  kubeHarness = await KubeHarness.start({ clusters: [{ name: 'edge-admission', profile: 'k3s-1node' }], tools });
  cluster = kubeHarness.cluster('edge-admission');
  scratch = await mkdtemp(join(tmpdir(), 'farpoint-edge-admission-'));
  for (const obj of renderAgentManifests({
    clusterId: TEST_CLUSTER_ID,
    clusterName: 'edge-admission',
    apiUrl: 'https://farpoint.example.com',
    registrationToken: TEST_REGISTRATION_TOKEN,
    image: 'registry.example.com/farpoint/agent:0.1.0',
    agentVersion: '0.1.0',
  })) {
    await apply(obj);
  }
  for (const ns of ['shop', 'kube-system']) {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
  }

  const opa = new OpaCliGateway({ opaPath: tools.opa });
  const { wasm } = await opa.buildWasm(
    [
      { path: 'no_latest.rego', source: NO_LATEST },
      { path: 'required_team.rego', source: REQUIRE_TEAM },
    ],
    ['k8snolatesttag/violation', 'k8srequiredteam/violation'],
  );
  const sha = bundleSha256(wasm);
  const podsOnly = { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] };
  bundle = { sha, wasm };
  constraints = [
    { name: 'no-latest', kind: 'K8sNoLatestTag', bundleSha256: sha, entrypoint: 'k8snolatesttag/violation', parameters: {}, match: podsOnly, enforcementAction: 'deny' },
    { name: 'require-team', kind: 'K8sRequiredTeam', bundleSha256: sha, entrypoint: 'k8srequiredteam/violation', parameters: {}, match: podsOnly, enforcementAction: 'warn' },
  ];
  stateDir = join(scratch, 'agent-state');
  await writeDesiredState(stateDir, { generation: 1, constraints, bundles: [sha] }, new Map([[sha, wasm]]));

  const log = createJsonLogger('error');
  const tls = await loadOrCreateServingTls(stateDir, ['127.0.0.1']);
  const engine = new PolicyEngine();
  // The loop's policies are read per request; the server starts before the loop's first step.
  let policies: AdmissionLoop['policies'] = () => ({ constraints: [], evaluate: () => [] });
  server = new WebhookServer({ certPem: tls.certPem, keyPem: tls.keyPem, log, policies: () => policies(), onDecision: (d) => decisions.push(d) });
  const port = await server.listen(0, '127.0.0.1');

  const agentKubeconfig = join(scratch, 'agent.kubeconfig');
  await writeAgentKubeconfig(cluster, agentKubeconfig);
  const asAgent = new KubeConfig();
  asAgent.loadFromFile(agentKubeconfig);
  // As the agent: its RBAC must allow the watches referential policies need.
  inventory = createInventorySync(asAgent, log);
  loop = new AdmissionLoop({
    stateDir,
    engine,
    admissionApi: asAgent.makeApiClient(AdmissionregistrationV1Api),
    configurationName: AgentObjectNames.validatingWebhookConfiguration,
    // Fail closed with a long timeout here: a call that cannot be made then shows the apiserver's reason
    // (TLS, timeout) instead of being admitted silently, and a loaded CI machine has time to answer.
    webhook: { endpoint: { url: `https://127.0.0.1:${port}/validate` }, caBundlePem: tls.caPem, failurePolicy: 'Fail', timeoutSeconds: 10 },
    log,
    backoff: { initialMs: 100, maxMs: 1000 },
    intervalMs: 1000,
    inventory,
  });
  policies = loop.policies;
  await loop.step();
}, SETUP_MS);

afterAll(async () => {
  await inventory?.stop();
  await server?.close();
  await kubeHarness?.stop();
  if (scratch) {
    await rm(scratch, { recursive: true, force: true });
  }
}, 60_000);

describe('admission at the edge', () => {
  it('writes its webhook configuration: the CA bundle, a rule for pods, spared namespaces, the failure policy and timeout given', async () => {
    const config = await cluster.kubeConfig.makeApiClient(AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: AgentObjectNames.validatingWebhookConfiguration });
    expect(config.metadata?.annotations?.[CONFIG_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    expect(config.webhooks).toHaveLength(1);
    const [webhook] = config.webhooks!;
    expect(webhook).toMatchObject({
      name: WEBHOOK_NAME,
      failurePolicy: 'Fail',
      timeoutSeconds: 10,
      rules: [{ apiGroups: [''], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['pods'], scope: '*' }],
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['farpoint-system', 'kube-system'] }] },
    });
    expect(Buffer.from(webhook.clientConfig.caBundle!, 'base64').toString()).toContain('-----BEGIN CERTIFICATE-----');
    // A second pass over the same state writes nothing (same resourceVersion).
    await loop.step();
    const again = await cluster.kubeConfig.makeApiClient(AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: AgentObjectNames.validatingWebhookConfiguration });
    expect(again.metadata?.resourceVersion).toBe(config.metadata?.resourceVersion);
  });

  it(
    'refuses nginx:latest with the policy message, admits nginx:1.27, warns for WARN, and never sees kube-system',
    async () => {
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      // The apiserver picks up webhook configurations through an informer; until then it admits (fail open).
      let probe = 0;
      await eventually(async () => {
        const refused = await core.createNamespacedPod({ namespace: 'shop', body: pod(`probe-${probe++}`, 'shop', 'nginx:latest'), dryRun: 'All' }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(errorText(refused)).toContain('[no-latest]');
      });

      const denied = await core.createNamespacedPod({ namespace: 'shop', body: pod('latest', 'shop', 'nginx:latest') }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((denied as { code?: number })?.code).toBe(403);
      expect(errorText(denied)).toBe(`admission webhook "${WEBHOOK_NAME}" denied the request: [no-latest] container web uses the latest tag: nginx:latest`);
      const gone = await core.readNamespacedPod({ name: 'latest', namespace: 'shop' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((gone as { code?: number })?.code).toBe(404);

      const pinned = await core.createNamespacedPod({ namespace: 'shop', body: pod('pinned', 'shop', 'nginx:1.27') });
      expect(pinned.spec?.containers[0]?.image).toBe('nginx:1.27');

      const warned = await kubectlCreate(pod('no-team', 'shop', 'nginx:1.27', {}));
      expect(warned.stdout.trim()).toBe('pod/no-team created');
      expect(warned.stderr).toContain('Warning: [require-team] Pod no-team has no team label');

      const system = await core.createNamespacedPod({ namespace: 'kube-system', body: pod('system-latest', 'kube-system', 'nginx:latest', {}) });
      expect(system.metadata?.name).toBe('system-latest');

      const seen = decisions.filter((d) => !d.name?.startsWith('probe-'));
      expect(seen.map((d) => [d.namespace, d.name, d.allowed])).toEqual([
        ['shop', 'latest', false],
        ['shop', 'pinned', true],
        ['shop', 'no-team', true],
      ]);
      expect(decisions.some((d) => d.namespace === 'kube-system')).toBe(false);
    },
    TEST_MS,
  );

  it(
    'refuses a tampered bundle and keeps deciding with the running state; a valid new generation in DRYRUN admits',
    async () => {
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      const tampered = new Uint8Array([...bundle.wasm, 0]);
      // The file keeps the listed name but not its bytes: loading verifies the hash.
      await writeDesiredState(stateDir, { generation: 2, constraints, bundles: [bundle.sha] }, new Map([[bundle.sha, tampered]]));
      await loop.step();
      expect(loop.generation).toBe(1);
      const stillDenied = await core.createNamespacedPod({ namespace: 'shop', body: pod('latest-2', 'shop', 'nginx:latest'), dryRun: 'All' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(errorText(stillDenied)).toBe(`admission webhook "${WEBHOOK_NAME}" denied the request: [no-latest] container web uses the latest tag: nginx:latest`);

      const dryrun = constraints.map((c) => (c.name === 'no-latest' ? { ...c, enforcementAction: 'dryrun' as const } : c));
      await writeDesiredState(stateDir, { generation: 3, constraints: dryrun, bundles: [bundle.sha] }, new Map([[bundle.sha, bundle.wasm]]));
      await loop.step();
      expect(loop.generation).toBe(3);
      const admitted = await core.createNamespacedPod({ namespace: 'shop', body: pod('latest-3', 'shop', 'nginx:latest') });
      expect(admitted.metadata?.name).toBe('latest-3');
      expect(decisions.find((d) => d.name === 'latest-3')).toMatchObject({ allowed: true, dryrun: ['[no-latest] container web uses the latest tag: nginx:latest'] });
    },
    TEST_MS,
  );

  it(
    'decides a referential policy from the inventory it watches: a second Ingress with a taken host is refused',
    async () => {
      const opa = new OpaCliGateway({ opaPath: tools.opa });
      const { wasm } = await opa.buildWasm([{ path: 'unique_host.rego', source: UNIQUE_HOST }], ['k8suniquehost/violation']);
      const sha = bundleSha256(wasm);
      const unique: ConstraintForEvaluation = {
        name: 'unique-host',
        kind: 'K8sUniqueHost',
        bundleSha256: sha,
        entrypoint: 'k8suniquehost/violation',
        parameters: {},
        match: { kinds: [{ apiGroups: ['networking.k8s.io'], kinds: ['Ingress'] }] },
        enforcementAction: 'deny',
      };
      const ingressKind = { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' };
      await writeDesiredState(stateDir, { generation: 4, constraints: [unique], bundles: [sha], inventoryKinds: [ingressKind] }, new Map([[sha, wasm]]));
      await loop.step();
      expect(loop.generation).toBe(4);
      expect(inventory.kinds()).toEqual([ingressKind]);

      const networking = cluster.kubeConfig.makeApiClient(NetworkingV1Api);
      const ingress = (name: string, host: string): V1Ingress => ({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name, namespace: 'shop' },
        spec: { rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
      });
      const first = await networking.createNamespacedIngress({ namespace: 'shop', body: ingress('storefront', 'shop.example.com') });
      expect(first.metadata?.name).toBe('storefront');
      // The first Ingress reaches the inventory through the agent's watch.
      await eventually(() => Object.keys(inventory.current().namespace?.shop?.['networking.k8s.io/v1']?.Ingress ?? {}).includes('storefront'), {
        what: 'storefront in data.inventory',
      });

      // The apiserver's informer picks up the webhook's new rule for Ingresses shortly after it is written.
      await eventually(async () => {
        const probe = await networking.createNamespacedIngress({ namespace: 'shop', body: ingress('impostor-probe', 'shop.example.com'), dryRun: 'All' }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(errorText(probe)).toContain('[unique-host]');
      });
      const taken = await networking.createNamespacedIngress({ namespace: 'shop', body: ingress('impostor', 'shop.example.com') }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(errorText(taken)).toBe(`admission webhook "${WEBHOOK_NAME}" denied the request: [unique-host] host shop.example.com is taken by Ingress shop/storefront`);
      // Another host is free, and the first Ingress may still be updated (it does not conflict with itself).
      const other = await networking.createNamespacedIngress({ namespace: 'shop', body: ingress('blog', 'blog.example.com') });
      expect(other.metadata?.name).toBe('blog');
      const relabelled = await networking.patchNamespacedIngress(
        { name: 'storefront', namespace: 'shop', body: [{ op: 'add', path: '/metadata/labels', value: { team: 'shop' } }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      expect(relabelled.metadata?.labels).toEqual({ team: 'shop' });
    },
    TEST_MS,
  );
});
