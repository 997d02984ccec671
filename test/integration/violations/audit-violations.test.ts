// Issue 10 items 5 and 6 end to end: the agent's audit loop against a real kube-apiserver from the kube
// harness (listing as the agent's own ServiceAccount, install RBAC), the desired state on disk with Rego
// compiled by the real opa, and the real API ingesting the agent's reports with a real agent credential.
// A Pod with nginx:latest that exists before the policy is found by the audit, appears over GraphQL with
// its impact (1 object, 1 namespace, 1 cluster, 1 site) and resolves once the Pod is deleted. A Pod the
// webhook admits in DRYRUN comes back as an admission summary Event.
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionLoop } from '../../../src/agent/admission/admission-loop';
import { AdmissionSummaryAggregator } from '../../../src/agent/admission/admission-summary';
import { writeDesiredState } from '../../../src/agent/desired-state-store';
import { loadOrCreateServingTls } from '../../../src/agent/admission/serving-tls';
import { WebhookServer } from '../../../src/agent/admission/webhook-server';
import { HttpAgentApi } from '../../../src/agent/api-client';
import { KubernetesAuditKube } from '../../../src/agent/audit/audit-kube';
import { AuditLoop } from '../../../src/agent/audit/audit-loop';
import { createJsonLogger } from '../../../src/agent/logger';
import { ReportQueue } from '../../../src/agent/reporting/report-queue';
import { renderAgentManifests } from '../../../src/agent-install/manifests';
import { AgentObjectNames } from '../../../src/agent-install/names';
import { eventually } from '../../../src/dev/eventually';
import { KubeHarness, locateTools, type HarnessCluster } from '../../../src/dev/kube-harness';
import { writeAgentKubeconfig } from '../../../src/dev/local-agent';
import { OpaCliGateway } from '../../../src/infra/opa/opa-cli.gateway';
import { PolicyEngine, bundleSha256 } from '../../../src/policy-engine';
import { TEST_REGISTRATION_TOKEN } from '../../../src/protocol/testing/factories';
import { startApi, type TestApi } from '../../support/api';
import { ApiFactory } from '../../support/factories';

const SETUP_MS = 20 * 60_000;
const TEST_MS = 3 * 60_000;
const NO_LATEST = `package k8snolatesttag

violation contains {"msg": msg} if {
	some c in input.review.object.spec.containers
	endswith(c.image, ":latest")
	msg := sprintf("container %s uses the latest tag: %s", [c.name, c.image])
}
`;

let api: TestApi;
let admin: string;
let kubeHarness: KubeHarness;
let cluster: HarnessCluster;
let scratch: string;
let server: WebhookServer;
let clusterId: string;
let siteId: string;
let assignmentId: string;
let credential: string;
const stop = new AbortController();
const running: Promise<void>[] = [];
const queue = new ReportQueue({ maxItems: 1000, maxBytes: 8 * 1024 * 1024 });
let agentApi: HttpAgentApi;

async function apply(obj: KubernetesObject): Promise<void> {
  await KubernetesObjectApi.makeApiClient(cluster.kubeConfig).patch(obj, undefined, undefined, 'farpoint-test', true, PatchStrategy.ServerSideApply);
}

const pod = (name: string, image: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop' },
  spec: { automountServiceAccountToken: false, containers: [{ name: 'web', image }] },
});

/** What the sender loop does, in one pass: the queued items to the API, acknowledged. */
async function drain(): Promise<void> {
  const items = queue.peekBatch(500, 4 * 1024 * 1024);
  if (items.length === 0) {
    return;
  }
  const result = await agentApi.sendReports(credential, { clusterId, agentVersion: '0.1.0', sentAt: new Date().toISOString(), items });
  queue.acknowledge(result.body.ackedSeq);
}

const VIOLATIONS = `query($a: ID!) {
  violations(filter: { assignmentId: $a }) { totalCount edges { node { kind namespace name state action message clusterId objectUid } } }
  policyAssignments(filter: { scope: CLUSTER }) { edges { node { id impact { objects namespaces clusters sites reportedViolations } } } }
}`;

beforeAll(async () => {
  const tools = await locateTools();
  api = await startApi();
  admin = await api.bootstrapOrg('audit-org');
  const make = new ApiFactory(api, admin);
  kubeHarness = await KubeHarness.start({ clusters: [{ name: 'audit-edge', profile: 'k3s-1node' }], tools });
  cluster = kubeHarness.cluster('audit-edge');
  scratch = await mkdtemp(join(tmpdir(), 'farpoint-audit-'));

  // The cluster in Farpoint, and its agent registered with the real kube-system UID.
  const site = await make.site().create();
  const group = await make.group().create();
  siteId = site.id;
  const attached = await api.gqlOk<{ attachCluster: { cluster: { id: string }; registrationToken: string } }>(
    admin,
    'mutation($input: AttachClusterInput!) { attachCluster(input: $input) { cluster { id } registrationToken } }',
    { input: { name: 'audit-edge', groupId: group.id, siteId: site.id } },
  );
  clusterId = attached.attachCluster.cluster.id;
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const clusterUid = (await core.readNamespace({ name: 'kube-system' })).metadata!.uid!;
  agentApi = new HttpAgentApi({ apiUrl: api.url, agentVersion: '0.1.0', timeoutMs: 10_000 });
  const registered = await agentApi.register({
    registrationToken: attached.attachCluster.registrationToken,
    clusterUid,
    agentVersion: '0.1.0',
    installationSecret: randomBytes(32).toString('base64url'),
  });
  credential = registered.body.credential;

  // The install manifests (the agent's RBAC), then the Pod that violates, before any policy exists.
  for (const obj of renderAgentManifests({
    clusterId,
    clusterName: 'audit-edge',
    apiUrl: api.url,
    registrationToken: TEST_REGISTRATION_TOKEN,
    image: 'registry.example.com/farpoint/agent:0.1.0',
    agentVersion: '0.1.0',
  })) {
    await apply(obj);
  }
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'shop' } });
  await core.createNamespacedPod({ namespace: 'shop', body: pod('web', 'nginx:latest') });
  await core.createNamespacedPod({ namespace: 'shop', body: pod('pinned', 'nginx:1.27') });

  // The policy: a template compiled by the real opa, a constraint, assigned DRYRUN to the cluster.
  const opa = new OpaCliGateway({ opaPath: tools.opa });
  const { wasm } = await opa.buildWasm([{ path: 'no_latest.rego', source: NO_LATEST }], ['k8snolatesttag/violation']);
  const sha = bundleSha256(wasm);
  const org = await api.prisma.organization.findFirstOrThrow({ where: { name: 'audit-org' } });
  const template = await api.prisma.policyTemplate.create({ data: { organizationId: org.id, name: 'k8snolatesttag', kind: 'K8sNoLatestTag', createdBy: 'test' } });
  const version = await api.prisma.policyTemplateVersion.create({
    data: { templateId: template.id, version: 1, kind: 'K8sNoLatestTag', title: 'No latest', rego: NO_LATEST, sourceHash: sha, lifecycle: 'PUBLISHED', createdBy: 'test' },
  });
  const constraint = await api.prisma.constraint.create({
    data: { organizationId: org.id, name: 'no-latest', kind: 'K8sNoLatestTag', templateVersionId: version.id, enforcementAction: 'DENY', createdBy: 'test' },
  });
  const assigned = await api.gqlOk<{ assignPolicy: { id: string } }>(admin, 'mutation($in: AssignPolicyInput!) { assignPolicy(input: $in) { id } }', {
    in: { constraintId: constraint.id, scope: 'CLUSTER', scopeId: clusterId, enforcementAction: 'DRYRUN' },
  });
  assignmentId = assigned.assignPolicy.id;

  // The desired state as the sync would write it.
  const stateDir = join(scratch, 'agent-state');
  const match = { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], excludedNamespaces: ['farpoint-system', 'kube-system'] };
  await writeDesiredState(
    stateDir,
    {
      generation: 1,
      constraints: [
        { assignmentId, name: 'no-latest', kind: 'K8sNoLatestTag', bundleSha256: sha, entrypoint: 'k8snolatesttag/violation', parameters: {}, match, enforcementAction: 'dryrun' },
      ],
      bundles: [sha],
    },
    new Map([[sha, wasm]]),
  );

  // The agent's admission side as EdgeAdmission wires it, with the ServiceAccount's own token.
  const log = createJsonLogger('error');
  const agentKubeconfig = join(scratch, 'agent.kubeconfig');
  await writeAgentKubeconfig(cluster, agentKubeconfig);
  const asAgent = new KubeConfig();
  asAgent.loadFromFile(agentKubeconfig);
  const tls = await loadOrCreateServingTls(stateDir, ['127.0.0.1']);
  const sink = { enqueue: (kind: 'audit.result' | 'admission.summary', payload: never) => void queue.enqueue(kind, payload, new Date()) };
  const summaries = new AdmissionSummaryAggregator({ sink, log, backoff: { initialMs: 100, maxMs: 1000 }, windowMs: 1000, now: Date.now });
  let policies: AdmissionLoop['policies'] = () => ({ constraints: [], evaluate: () => [] });
  server = new WebhookServer({ certPem: tls.certPem, keyPem: tls.keyPem, log, policies: () => policies(), onDecision: summaries.record });
  const port = await server.listen(0, '127.0.0.1');
  const admission = new AdmissionLoop({
    stateDir,
    engine: new PolicyEngine(),
    admissionApi: asAgent.makeApiClient(AdmissionregistrationV1Api),
    configurationName: AgentObjectNames.validatingWebhookConfiguration,
    webhook: { endpoint: { url: `https://127.0.0.1:${port}/validate` }, caBundlePem: tls.caPem, failurePolicy: 'Fail', timeoutSeconds: 10 },
    log,
    backoff: { initialMs: 100, maxMs: 1000 },
    intervalMs: 1000,
  });
  policies = admission.policies;
  await admission.step();
  const audit = new AuditLoop({
    kube: new KubernetesAuditKube(asAgent),
    policies: admission.auditPolicies,
    sink,
    log,
    backoff: { initialMs: 100, maxMs: 1000 },
    intervalMs: 1000,
    minGapMs: 0,
    resendMs: 60_000,
    now: Date.now,
  });
  running.push(admission.run(stop.signal), audit.run(stop.signal), summaries.run(stop.signal));
}, SETUP_MS);

afterAll(async () => {
  stop.abort();
  await Promise.all(running);
  await server?.close();
  await kubeHarness?.stop();
  await api?.close();
  if (scratch) {
    await rm(scratch, { recursive: true, force: true });
  }
}, 60_000);

describe('audit at the edge', () => {
  it(
    'finds the Pod that existed before the policy, shows it over GraphQL with its impact, and resolves it once the Pod is gone',
    async () => {
      const open = await eventually(async () => {
        await drain();
        const data = await api.gqlOk(admin, VIOLATIONS, { a: assignmentId });
        return data.violations.totalCount === 1 && data;
      });
      expect(open.violations.edges[0].node).toEqual({
        kind: 'Pod',
        namespace: 'shop',
        name: 'web',
        state: 'OPEN',
        action: 'DRYRUN',
        message: 'container web uses the latest tag: nginx:latest',
        clusterId,
        objectUid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(open.policyAssignments.edges).toEqual([{ node: { id: assignmentId, impact: { objects: 1, namespaces: 1, clusters: 1, sites: 1, reportedViolations: 1 } } }]);
      const compliance = await api.gqlOk(
        admin,
        'query($c: ID, $s: ID) { complianceSummary(clusterId: $c, siteId: $s) { scope clusters clustersWithViolations openByAction { dryrun } } }',
        {
          s: siteId,
        },
      );
      expect(compliance.complianceSummary).toEqual({ scope: 'SITE', clusters: 1, clustersWithViolations: 1, openByAction: { dryrun: 1 } });

      await cluster.kubeConfig.makeApiClient(CoreV1Api).deleteNamespacedPod({ name: 'web', namespace: 'shop', gracePeriodSeconds: 0 });
      const resolved = await eventually(async () => {
        await drain();
        const data = await api.gqlOk(admin, VIOLATIONS, { a: assignmentId });
        return data.violations.edges[0]?.node.state === 'RESOLVED' && data;
      });
      expect(resolved.policyAssignments.edges[0].node.impact).toEqual({ objects: 0, namespaces: 0, clusters: 0, sites: 0, reportedViolations: 0 });
    },
    TEST_MS,
  );

  it(
    'reports what the webhook admitted in DRYRUN as an admission summary Event of the cluster',
    async () => {
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      // The apiserver picks the webhook configuration up through an informer; a DRYRUN decision admits either way.
      let n = 0;
      const event = await eventually(async () => {
        await core.createNamespacedPod({ namespace: 'shop', body: pod(`trial-${n++}`, 'nginx:latest'), dryRun: 'All' });
        await drain();
        const events = await api.prisma.event.findMany({ where: { objectId: clusterId, type: 'PolicyAdmissionSummary' } });
        return events[0] ?? false;
      });
      expect(event.data).toMatchObject({
        entries: [expect.objectContaining({ assignmentId, constraint: 'no-latest', action: 'DRYRUN', namespace: 'shop', kind: 'Pod' })],
        droppedEntries: 0,
      });
      expect(event.message).toMatch(/would have been refused by admission/);
      const listed = await api.gqlOk(admin, 'query($id: ID!) { events(objectId: $id, type: "PolicyAdmissionSummary") { totalCount edges { node { objectKind message } } } }', {
        id: clusterId,
      });
      expect(listed.events.edges[0].node).toEqual({ objectKind: 'Cluster', message: event.message });
    },
    TEST_MS,
  );
});
