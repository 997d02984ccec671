// Security issue 7, item 2: the agent's RBAC cannot be turned into access for anyone else. Against a
// real kube-apiserver (+ controller-manager) from the kube harness, the real API and a real agent
// process authenticated as its ServiceAccount (src/dev/local-agent.ts):
//   - what `kubectl apply -f <link>` installs is the documented list (src/agent-install/rbac.ts) plus
//     the one-time adoption rule, and even with that rule the ServiceAccount cannot add a rule to its
//     ClusterRole nor touch its binding;
//   - once the agent ran, the RBAC the apiserver holds is exactly the documented list, the ClusterRole
//     is owned by its binding (so detach only deletes the binding), and the ServiceAccount is refused
//     every write on its ClusterRole and ClusterRoleBinding, checked by making the calls with its token
//     and by SubjectAccessReviews of the documented rules in both directions.
// Detach removing everything is proven by attach-lifecycle.test.ts.
import { ApiException, AuthorizationV1Api, KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AGENT_ADOPTION_RULE, AGENT_CLUSTER_RULE_DOCS, AGENT_CLUSTER_RULES, AGENT_NAMESPACE_RULE_DOCS, AGENT_NAMESPACE_RULES } from '../../../src/agent-install/rbac';
import { writeAgentKubeconfig } from '../../../src/dev/local-agent';
import { KubeHarness, locateTools, type HarnessCluster, type ToolPaths } from '../../../src/dev/kube-harness';
import { attachByLink, createGroup, type Farpoint, startFarpoint, waitFor, waitForCluster } from './support/farpoint';
import { agentRbac } from './support/kube';
import { AGENT_NAME, AGENT_NAMESPACE, type AgentHandle, killAllChildren, removeAgentState, startAgent } from './support/processes';

const run = promisify(execFile);
const SETUP_MS = 20 * 60_000;
const TEST_MS = 3 * 60_000;
const NAME = 'edge-k3s-rbac';
const SERVICE_ACCOUNT = `system:serviceaccount:${AGENT_NAMESPACE}:${AGENT_NAME}`;
const RBAC = 'rbac.authorization.k8s.io';

let tools: ToolPaths;
let harness: HarnessCluster;
let kubeHarness: KubeHarness;
let fp: Farpoint;
let agent: AgentHandle | undefined;
let tokenDir: string;
/** The agent ServiceAccount's own client (a TokenRequest token, as its pod would have). */
let asAgent: RbacAuthorizationV1Api;
const logs = () => `--- agent\n${agent?.proc.tail(40) ?? '(not started)'}`;

beforeAll(async () => {
  tools = await locateTools();
  [kubeHarness, fp] = await Promise.all([KubeHarness.start({ clusters: [{ name: NAME, profile: 'k3s-1node' }], tools }), startFarpoint()]);
  harness = kubeHarness.cluster(NAME);
  tokenDir = await mkdtemp(join(tmpdir(), 'farpoint-agent-rbac-'));
}, SETUP_MS);

afterAll(async () => {
  await killAllChildren();
  await removeAgentState(agent);
  await kubeHarness?.stop();
  await fp?.close();
  if (tokenDir) {
    await rm(tokenDir, { recursive: true, force: true });
  }
}, 60_000);

/** The HTTP status and Status message of a call the test expects the apiserver to refuse (0 when it succeeded). */
async function refusal(call: () => Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await call();
    return { status: 0, message: '' };
  } catch (error) {
    if (!(error instanceof ApiException)) {
      throw error;
    }
    let message = typeof error.body === 'string' ? error.body : JSON.stringify(error.body);
    try {
      message = (JSON.parse(message) as { message: string }).message;
    } catch {
      // not a Status body: keep it as it is
    }
    return { status: error.code, message };
  }
}

const jsonPatch = (ops: unknown[]) => ops as object;
const everyone = { apiGroup: RBAC, kind: 'Group', name: 'system:authenticated' };

/** What the agent ServiceAccount tries against its binding; every one must be 403. */
async function bindingWritesAreRefused(): Promise<void> {
  const binding = await harness.kubeConfig.makeApiClient(RbacAuthorizationV1Api).readClusterRoleBinding({ name: AGENT_NAME });
  const attempts = {
    'patch: add system:authenticated': () => asAgent.patchClusterRoleBinding({ name: AGENT_NAME, body: jsonPatch([{ op: 'add', path: '/subjects/-', value: everyone }]) }),
    'update: add system:authenticated': () => asAgent.replaceClusterRoleBinding({ name: AGENT_NAME, body: { ...binding, subjects: [...(binding.subjects ?? []), everyone] } }),
    'create another binding to the role': () =>
      asAgent.createClusterRoleBinding({
        body: { metadata: { name: 'farpoint-agent-everyone' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: AGENT_NAME }, subjects: [everyone] },
      }),
  };
  for (const [what, call] of Object.entries(attempts)) {
    const result = await refusal(call);
    expect({ what, status: result.status }).toEqual({ what, status: 403 });
  }
  const after = await harness.kubeConfig.makeApiClient(RbacAuthorizationV1Api).readClusterRoleBinding({ name: AGENT_NAME });
  expect(after.subjects).toEqual([{ kind: 'ServiceAccount', name: AGENT_NAME, namespace: AGENT_NAMESPACE }]);
}

/** The ServiceAccount adds a rule it does not hold to its ClusterRole: refused by RBAC's escalation check or for lack of patch. */
async function addingRulesIsRefused(expected: RegExp): Promise<void> {
  const secrets: V1PolicyRule = { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] };
  const aggregation = { clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } }] };
  const attempts = {
    'add a rule (secrets)': () => asAgent.patchClusterRole({ name: AGENT_NAME, body: jsonPatch([{ op: 'add', path: '/rules/-', value: secrets }]) }),
    'add a wildcard rule': () =>
      asAgent.patchClusterRole({ name: AGENT_NAME, body: jsonPatch([{ op: 'add', path: '/rules/-', value: { apiGroups: ['*'], resources: ['*'], verbs: ['*'] } }]) }),
    'set an aggregationRule': () => asAgent.patchClusterRole({ name: AGENT_NAME, body: jsonPatch([{ op: 'add', path: '/aggregationRule', value: aggregation }]) }),
  };
  for (const [what, call] of Object.entries(attempts)) {
    const result = await refusal(call);
    expect({ what, status: result.status, refusedFor: expected.test(result.message) || result.message }).toEqual({ what, status: 403, refusedFor: true });
  }
}

/** SubjectAccessReview as the agent ServiceAccount, through the real authorizer. */
async function allowed(attributes: { verb: string; group: string; resource: string; subresource?: string; name?: string; namespace?: string }): Promise<boolean> {
  const review = await harness.kubeConfig.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: SERVICE_ACCOUNT,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${AGENT_NAMESPACE}`, 'system:authenticated'],
        resourceAttributes: { ...attributes },
      },
    },
  });
  return review.status?.allowed === true;
}

/** Every (verb, group, resource, name) a rule grants. */
function accessesOf(rule: V1PolicyRule, namespace?: string) {
  return rule.verbs.flatMap((verb) =>
    (rule.apiGroups ?? ['']).flatMap((group) =>
      (rule.resources ?? []).flatMap((resource) => (rule.resourceNames?.length ? rule.resourceNames : [undefined]).map((name) => ({ verb, group, resource, name, namespace }))),
    ),
  );
}

describe('the agent RBAC, installed by a link and adopted by a running agent', () => {
  it(
    'kubectl apply installs the documented rules plus the one-time adoption rule; even with it the ServiceAccount cannot add a rule or touch its binding',
    async () => {
      const group = await createGroup(fp, 'rbac');
      const link = await attachByLink(fp, { name: NAME, groupId: group.id });
      await run(tools.kubectl, ['--kubeconfig', harness.kubeconfigPath, 'apply', '-f', link.manifestUrl]);

      const installed = await agentRbac(harness.kubeConfig);
      expect(installed.clusterRole.rules).toEqual([...AGENT_CLUSTER_RULES, AGENT_ADOPTION_RULE]);
      expect(installed.clusterRole.ownerReferences).toEqual([]);
      expect(installed.role.rules).toEqual(AGENT_NAMESPACE_RULES);

      const kubeconfigPath = join(tokenDir, 'agent.kubeconfig');
      await writeAgentKubeconfig(harness, kubeconfigPath);
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      asAgent = kc.makeApiClient(RbacAuthorizationV1Api);

      await addingRulesIsRefused(/attempting to grant RBAC permissions not currently held|must have cluster-admin privileges to use the aggregationRule/);
      await bindingWritesAreRefused();
      expect((await agentRbac(harness.kubeConfig)).clusterRole.rules).toEqual([...AGENT_CLUSTER_RULES, AGENT_ADOPTION_RULE]);
    },
    TEST_MS,
  );

  it(
    'the agent adopts its ClusterRole on start: owned by its binding, the adoption rule gone, and the cluster still becomes READY',
    async () => {
      agent = await startAgent(fp.build, harness);
      const adopted = await waitFor(
        'the ClusterRole to be owned by its binding',
        () => agentRbac(harness.kubeConfig),
        (r) => r.clusterRole.ownerReferences.length > 0,
        { timeoutMs: 60_000, context: logs },
      );
      expect(adopted.clusterRole.ownerReferences).toEqual([{ apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', name: AGENT_NAME, uid: adopted.clusterRoleBinding.uid }]);
      expect(adopted.clusterRole.rules).toEqual(AGENT_CLUSTER_RULES);
      expect(agent.proc.output).toContain('adopted the agent ClusterRole');
      // The lasting rules are enough for everything the agent does.
      const clusterId = (await fp.api.prisma.cluster.findFirstOrThrow({ where: { name: NAME } })).id;
      await waitForCluster(fp, clusterId, 'READY', 'HEALTHY', { timeoutMs: 120_000, context: logs });
    },
    TEST_MS,
  );

  it(
    'the RBAC the apiserver holds is exactly the documented list',
    async () => {
      const rbac = await agentRbac(harness.kubeConfig);
      expect(rbac.clusterRole.rules).toEqual(AGENT_CLUSTER_RULE_DOCS.map((d) => d.rule));
      expect(rbac.clusterRole.aggregationRule).toBeUndefined();
      expect(rbac.role.rules).toEqual(AGENT_NAMESPACE_RULE_DOCS.map((d) => d.rule));
      const subjects = [{ kind: 'ServiceAccount', name: AGENT_NAME, namespace: AGENT_NAMESPACE }];
      expect(rbac.clusterRoleBinding).toMatchObject({ roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: AGENT_NAME }, subjects });
      expect(rbac.roleBinding).toMatchObject({ roleRef: { apiGroup: RBAC, kind: 'Role', name: AGENT_NAME }, subjects });

      // The real authorizer agrees: everything documented is allowed …
      const documented = AGENT_CLUSTER_RULE_DOCS.flatMap((d) => accessesOf(d.rule));
      const inNamespace = AGENT_NAMESPACE_RULE_DOCS.flatMap((d) => accessesOf(d.rule, AGENT_NAMESPACE));
      for (const access of [...documented, ...inNamespace]) {
        expect({ access, allowed: await allowed(access) }).toEqual({ access, allowed: true });
      }
    },
    TEST_MS,
  );

  it(
    'the ServiceAccount is refused every write on its ClusterRole and ClusterRoleBinding, and everything that would hand its rights on',
    async () => {
      await addingRulesIsRefused(/cannot patch resource "clusterroles"/);
      const removing = await refusal(() => asAgent.patchClusterRole({ name: AGENT_NAME, body: jsonPatch([{ op: 'remove', path: '/rules/0' }]) }));
      expect(removing.status).toBe(403);
      const relabel = await refusal(() =>
        asAgent.patchClusterRole({ name: AGENT_NAME, body: jsonPatch([{ op: 'add', path: '/metadata/labels/rbac.authorization.k8s.io~1aggregate-to-view', value: 'true' }]) }),
      );
      expect(relabel.status).toBe(403);
      await bindingWritesAreRefused();

      const forbidden = [
        ...['update', 'patch'].flatMap((verb) => [
          { verb, group: RBAC, resource: 'clusterrolebindings', name: AGENT_NAME },
          { verb, group: RBAC, resource: 'clusterroles', name: AGENT_NAME },
          { verb, group: RBAC, resource: 'rolebindings', name: AGENT_NAME, namespace: AGENT_NAMESPACE },
          { verb, group: RBAC, resource: 'roles', name: AGENT_NAME, namespace: AGENT_NAMESPACE },
        ]),
        { verb: 'delete', group: RBAC, resource: 'clusterroles', name: AGENT_NAME },
        { verb: 'create', group: RBAC, resource: 'clusterrolebindings' },
        { verb: 'bind', group: RBAC, resource: 'clusterroles', name: AGENT_NAME },
        { verb: 'escalate', group: RBAC, resource: 'clusterroles', name: AGENT_NAME },
        { verb: 'impersonate', group: '', resource: 'users', name: 'admin' },
        { verb: 'impersonate', group: '', resource: 'serviceaccounts', name: 'default', namespace: 'kube-system' },
        { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', name: AGENT_NAME, namespace: AGENT_NAMESPACE },
        { verb: 'list', group: '', resource: 'secrets' },
        { verb: 'get', group: '', resource: 'secrets', name: 'other', namespace: AGENT_NAMESPACE },
        { verb: 'create', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations' },
        { verb: 'update', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', name: AGENT_NAME },
        { verb: 'delete', group: '', resource: 'namespaces', name: 'kube-system' },
      ];
      for (const access of forbidden) {
        expect({ access, allowed: await allowed(access) }).toEqual({ access, allowed: false });
      }
    },
    TEST_MS,
  );
});
