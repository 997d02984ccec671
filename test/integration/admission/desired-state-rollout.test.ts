// Issue 10 item 2 end to end: a policy assigned over GraphQL reaches the clusters of a group through the
// desired state their agents pull, and nothing else. Two kube-apiservers from the kube harness, the real
// API (in this process) and worker (a child process compiling with the real opa), and two real agents
// (child processes, registered through the API with the install manifests, FARPOINT_ADMISSION=on).
//
// The built-in recipe "no latest tag" (policies/, compiled by the worker with opa) is assigned as DENY to
// the group of cluster A only: a Pod with nginx:latest is refused in A with the policy's message and
// admitted in B, and the assignment's rollout shows A IN_SYNC. A tampered bundle is the desired-state
// loop's unit spec (a fake API answering other bytes); here every byte comes from the real API.
import { AdmissionregistrationV1Api, type V1Pod } from '@kubernetes/client-node';
import { AgentObjectNames } from '../../../src/agent-install/names';
import { KubeHarness, locateTools, type HarnessCluster, type ToolPaths } from '../../../src/dev/kube-harness';
import { createSite, type Farpoint, freePort, startFarpoint, waitFor, waitForCluster } from '../attach/support/farpoint';
import { type EdgeAgent, EdgeFleet, pod } from './support/edge-fleet';
import { killAllChildren, type Proc, removeAgentState, startAgent } from '../attach/support/processes';

const SETUP_MS = 20 * 60_000;
const TEST_MS = 4 * 60_000;
const WITHIN_MS = 120_000;

const A = 'edge-desired-a';
const B = 'edge-desired-b';

let tools: ToolPaths;
let harness: KubeHarness;
let fp: Farpoint;
let worker: Proc;
let agents: Map<string, EdgeAgent>;
let assignmentId: string;

let fleet: EdgeFleet;
const cluster = (name: string): HarnessCluster => fleet.cluster(name);
const logs = () => fleet.logs();
const kubectlCreate = (name: string, obj: V1Pod) => fleet.kubectlCreate(name, obj);

interface Rollout {
  counts: { inSync: number; pending: number; failed: number; offline: number; total: number };
  edges: { node: { id: string; name: string; state: string; desiredStateGeneration: number; appliedDesiredStateGeneration: number | null; error: { code: string } | null } }[];
}
const rollout = async (id: string) =>
  (
    await fp.api.gqlOk<{ policyAssignmentRollout: Rollout }>(
      fp.token,
      'query($id: ID!) { policyAssignmentRollout(assignmentId: $id) { counts { inSync pending failed offline total } edges { node { id name state desiredStateGeneration appliedDesiredStateGeneration error { code } } } } }',
      { id },
    )
  ).policyAssignmentRollout;

beforeAll(async () => {
  tools = await locateTools();
  [harness, fp] = await Promise.all([
    KubeHarness.start({
      clusters: [
        { name: A, profile: 'k3s-1node' },
        { name: B, profile: 'k3s-1node' },
      ],
      tools,
    }),
    startFarpoint({ OPA_PATH: tools.opa }),
  ]);
  worker = await fp.startWorker({ OPA_PATH: tools.opa }, 'policy worker');
  fleet = new EdgeFleet(fp, harness, tools, () => worker);
  agents = fleet.agents;
  const site = await createSite(fp, 'fra-store-0007', 5, 10);
  await fleet.attachWithAdmission(A, site.id);
  await fleet.attachWithAdmission(B, site.id);
}, SETUP_MS);

afterAll(async () => {
  await killAllChildren();
  for (const e of agents.values()) {
    await removeAgentState(e.agent);
  }
  await harness?.stop();
  await fp?.close();
}, 60_000);

describe('desired state pulled by the agents', () => {
  it(
    'assigns "no latest tag" as DENY to the group of A: nginx:latest is refused in A with the policy message, admitted in B, and the rollout shows A IN_SYNC',
    async () => {
      const a = agents.get(A)!;
      const b = agents.get(B)!;
      // Fail closed with a long timeout in A's group: an apiserver that cannot reach the webhook says why instead of admitting.
      await fp.api.gqlOk(fp.token, 'mutation($id: ID!, $in: UpdateClusterGroupInput!) { updateClusterGroup(id: $id, input: $in) { id } }', {
        id: a.groupId,
        in: { admissionFailurePolicy: 'FAIL', admissionTimeoutSeconds: 10 },
      });

      // The built-in recipe (policies/no-latest-tag), synced, compiled with the real opa and published by the worker.
      const version = await waitFor(
        'the no-latest-tag recipe to be published',
        () => fp.api.prisma.policyTemplateVersion.findFirst({ where: { template: { organizationId: null, name: 'farpointnolatesttag' }, lifecycle: 'PUBLISHED' } }),
        (v) => v?.compileStatus === 'COMPILED' && v.bundleSha256 !== null,
        { timeoutMs: WITHIN_MS, context: logs },
      );
      const constraint = await fp.api.gqlOk<{ createConstraint: { id: string } }>(fp.token, 'mutation($in: CreateConstraintInput!) { createConstraint(input: $in) { id } }', {
        in: { name: 'no-latest', templateVersionId: version!.id, match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } },
      });
      const assigned = await fp.api.gqlOk<{ assignPolicy: { id: string } }>(fp.token, 'mutation($in: AssignPolicyInput!) { assignPolicy(input: $in) { id } }', {
        in: { constraintId: constraint.createConstraint.id, scope: 'CLUSTER_GROUP', scopeId: a.groupId, enforcementAction: 'DENY' },
      });
      assignmentId = assigned.assignPolicy.id;

      // The agent of A pulls the state, verifies the bundle, writes it, admission applies it and the heartbeat says so.
      const synced = await waitFor(
        `rollout of ${assignmentId} IN_SYNC`,
        () => rollout(assignmentId),
        (r) => r.counts.inSync === 1,
        { timeoutMs: WITHIN_MS, context: logs },
      );
      expect(synced.counts).toEqual({ inSync: 1, pending: 0, failed: 0, offline: 0, total: 1 });
      expect(synced.edges.map((e) => [e.node.id, e.node.name, e.node.state, e.node.error])).toEqual([[a.clusterId, A, 'IN_SYNC', null]]);

      // The webhook configuration carries the group's settings once admission has written it.
      const admission = cluster(A).kubeConfig.makeApiClient(AdmissionregistrationV1Api);
      const configuration = await waitFor(
        'the webhook configuration of A',
        () => admission.readValidatingWebhookConfiguration({ name: AgentObjectNames.validatingWebhookConfiguration }),
        (c) => (c.webhooks ?? []).length === 1,
        { timeoutMs: WITHIN_MS, context: logs },
      );
      expect(configuration.webhooks![0]).toMatchObject({ failurePolicy: 'Fail', timeoutSeconds: 10 });

      const refused = await kubectlCreate(A, pod('latest-web', 'nginx:latest'));
      expect(refused.ok).toBe(false);
      expect(refused.output).toContain('denied the request');
      expect(refused.output).toContain('[no-latest] container <web> uses image <nginx:latest>; tag "latest" is not allowed');
      expect((await kubectlCreate(A, pod('pinned-web', 'nginx:1.27'))).ok).toBe(true);

      // B is outside the group: its state has no constraint, its apiserver admits the same Pod.
      const admitted = await kubectlCreate(B, pod('latest-web', 'nginx:latest'));
      expect(admitted).toMatchObject({ ok: true });
      const applied = await fp.api.prisma.cluster.findUniqueOrThrow({ where: { id: b.clusterId } });
      expect(applied.appliedDesiredStateGeneration).toBe(applied.desiredStateGeneration);
      expect((await admission.readValidatingWebhookConfiguration({ name: AgentObjectNames.validatingWebhookConfiguration })).webhooks).toHaveLength(1);
      const bConfiguration = await cluster(B)
        .kubeConfig.makeApiClient(AdmissionregistrationV1Api)
        .readValidatingWebhookConfiguration({ name: AgentObjectNames.validatingWebhookConfiguration });
      expect(bConfiguration.webhooks ?? []).toEqual([]);
    },
    TEST_MS,
  );

  it(
    'keeps enforcing from the state on disk with the API unreachable, across an agent restart',
    async () => {
      const a = agents.get(A)!;
      // The uplink is gone: the agent is restarted (same state directory, same identity) pointing at an
      // address nothing answers on, as after a pod restart during an outage.
      expect(await a.agent.proc.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
      const unreachable = `http://127.0.0.1:${await freePort()}`;
      const offline = await startAgent(fp.build, cluster(A), { previous: { ...a.agent, env: { ...a.agent.env, FARPOINT_API_URL: unreachable } } });
      const refused = await waitFor(
        'the restarted agent to decide from disk',
        () => kubectlCreate(A, pod(`offline-latest-${Date.now()}`, 'nginx:latest')),
        (r) => !r.ok && r.output.includes('[no-latest]'),
        {
          timeoutMs: WITHIN_MS,
          context: () => `--- offline agent\n${offline.proc.tail(40)}`,
        },
      );
      expect(refused.output).toContain('[no-latest] container <web> uses image <nginx:latest>; tag "latest" is not allowed');
      expect((await kubectlCreate(A, pod('offline-pinned', 'nginx:1.27'))).ok).toBe(true);
      expect(offline.proc.output).not.toContain('desired state refused');

      // Back online for the next test: the same agent with the real API.
      await offline.proc.stop('SIGKILL');
      a.agent = await startAgent(fp.build, cluster(A), { previous: { ...offline, env: a.agent.env } });
      await waitForCluster(fp, a.clusterId, 'READY', undefined, { timeoutMs: WITHIN_MS, context: logs });
    },
    TEST_MS,
  );

  it(
    'unassigning bumps A again: the agent pulls a state without the constraint and admits nginx:latest',
    async () => {
      const a = agents.get(A)!;
      const before = await fp.api.prisma.cluster.findUniqueOrThrow({ where: { id: a.clusterId } });
      await fp.api.gqlOk(fp.token, 'mutation($id: ID!) { unassignPolicy(id: $id) { id } }', { id: assignmentId });
      await waitFor(
        'A to run the state without the constraint',
        () => fp.api.prisma.cluster.findUniqueOrThrow({ where: { id: a.clusterId } }),
        (c) => c.desiredStateGeneration > before.desiredStateGeneration && c.appliedDesiredStateGeneration === c.desiredStateGeneration,
        { timeoutMs: WITHIN_MS, context: logs },
      );
      const admission = cluster(A).kubeConfig.makeApiClient(AdmissionregistrationV1Api);
      await waitFor(
        'the webhook of A to be removed',
        () => admission.readValidatingWebhookConfiguration({ name: AgentObjectNames.validatingWebhookConfiguration }),
        (c) => (c.webhooks ?? []).length === 0,
        { timeoutMs: WITHIN_MS, context: logs },
      );
      expect((await kubectlCreate(A, pod('latest-again', 'nginx:latest'))).ok).toBe(true);
    },
    TEST_MS,
  );
});
