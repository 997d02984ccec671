// What attach refuses, against a real cluster, the real API and worker, and a real agent: forged,
// expired, revoked and reused registration tokens at both the manifests endpoint (which kubectl
// fetches) and register (which the agent calls); an invalid kubeconfig at the mutation; and a cluster
// the worker cannot reach, which ends the operation FAILED and the cluster ERROR after its retries.
// The cross-cluster credential refusal needs two running agents and lives in attach-lifecycle.test.ts.
import { load } from 'js-yaml';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { KubeHarness, locateTools, type HarnessCluster, type ToolPaths } from '../../../src/dev/kube-harness';
import { AgentPaths } from '../../../src/protocol';
import {
  attachByLink,
  attachByQueue,
  clusterDetail,
  createGroup,
  type Farpoint,
  freePort,
  http,
  type LinkAttach,
  operation,
  startFarpoint,
  waitFor,
  waitForCluster,
} from './support/farpoint';
import { AGENT_CLUSTER_RULES } from '../../../src/agent-install/rbac';
import { agentRbac, agentSecret, installedObjects, kubeSystemUid, ONE_OF_EACH } from './support/kube';
import { type AgentHandle, killAllChildren, type Proc, removeAgentState, startAgent } from './support/processes';

const run = promisify(execFile);
const SETUP_MS = 20 * 60_000;
const TEST_MS = 3 * 60_000;
const NAME = 'edge-k3s-refusals';
const CANCELLED = 'edge-k3s-cancelled';

let tools: ToolPaths;
let harness: KubeHarness;
let k3s: HarnessCluster;
let fp: Farpoint;
let worker: Proc;
let group: { id: string };
let agent: AgentHandle | undefined;
const logs = () => `--- worker\n${worker?.tail(30)}\n--- agent\n${agent?.proc.tail(30) ?? '(not started)'}`;

beforeAll(async () => {
  tools = await locateTools();
  // Two attempts 100 ms apart, so the unreachable cluster fails fast (the API sets them on the job),
  // and a queued attach waits 3 s for its agent per attempt.
  [harness, fp] = await Promise.all([
    KubeHarness.start({
      clusters: [
        { name: NAME, profile: 'k3s-1node' },
        { name: CANCELLED, profile: 'k3s-1node' },
      ],
      tools,
    }),
    startFarpoint({ ATTACH_MAX_ATTEMPTS: '2', ATTACH_BACKOFF_MS: '100', ATTACH_AGENT_WAIT_SECONDS: '3' }),
  ]);
  k3s = harness.cluster(NAME);
  worker = await fp.startWorker();
  group = await createGroup(fp, 'refusals');
}, SETUP_MS);

afterAll(async () => {
  await killAllChildren();
  await removeAgentState(agent);
  await harness?.stop();
  await fp?.close();
}, 60_000);

let counter = 0;
const link = () => attachByLink(fp, { name: `refusal-${++counter}`, groupId: group.id });

/** `kubectl apply -f <url>` against the cluster: exit code and output. */
async function kubectlApply(url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(tools.kubectl, ['--kubeconfig', k3s.kubeconfigPath, 'apply', '-f', url]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const STATUS = { TOKEN_UNKNOWN: 404, TOKEN_USED: 409, TOKEN_EXPIRED: 410, TOKEN_REVOKED: 410 } as const;

/** The token is refused with `code` by GET manifests and POST register, with a message that does not echo it. */
async function expectRefused(token: string, code: keyof typeof STATUS, clusterUid = '2b7c0a0e-5f5b-4d4f-9b8e-0c7e3f1d2a44'): Promise<void> {
  const manifests = await http(fp, 'GET', AgentPaths.manifests(token));
  const register = await http(fp, 'POST', AgentPaths.register, { body: { registrationToken: token, clusterUid, agentVersion: '0.1.0' } });
  for (const res of [manifests, register]) {
    expect({ status: res.status, code: res.json?.error?.code }).toEqual({ status: STATUS[code], code });
    expect(res.json.error.message.length).toBeGreaterThan(20);
    expect(res.text).not.toContain(token.slice(4));
  }
}

const forgedToken = () => `fpr_${randomBytes(32).toString('base64url')}`;

describe('registration tokens that must not work', () => {
  it(
    'forged: unknown at both endpoints, and kubectl apply of a forged link installs nothing',
    async () => {
      const real = await link();
      const tampered = real.registrationToken.slice(0, -1) + (real.registrationToken.endsWith('A') ? 'B' : 'A');
      // Random, one character changed, and a well-formed secret of another kind (an API token's shape).
      for (const token of [forgedToken(), tampered, `fpt_${randomBytes(32).toString('base64url')}`]) {
        await expectRefused(token, 'TOKEN_UNKNOWN');
      }

      const applied = await kubectlApply(`${fp.api.url}${AgentPaths.manifests(forgedToken())}`);
      expect(applied.code).not.toBe(0);
      expect(applied.stderr).toContain('status code=404');
      expect(Object.values(await installedObjects(k3s.kubeConfig)).flat()).toEqual([]);
      // The real token was not disturbed by the forgeries.
      expect((await http(fp, 'GET', AgentPaths.manifests(real.registrationToken))).status).toBe(200);
      expect(await fp.api.prisma.agentCredential.count()).toBe(0);
    },
    TEST_MS,
  );

  it(
    'expired: TOKEN_EXPIRED at both endpoints, the cluster stays PENDING without a credential',
    async () => {
      const expired = await link();
      await fp.api.prisma.registrationToken.updateMany({ where: { clusterId: expired.clusterId }, data: { expiresAt: new Date(Date.now() - 60_000) } });
      await expectRefused(expired.registrationToken, 'TOKEN_EXPIRED', await kubeSystemUid(k3s.kubeConfig));

      const applied = await kubectlApply(expired.manifestUrl);
      expect(applied.code).not.toBe(0);
      expect(applied.stderr).toContain('status code=410');
      expect(Object.values(await installedObjects(k3s.kubeConfig)).flat()).toEqual([]);
      expect((await clusterDetail(fp, expired.clusterId)).phase).toBe('PENDING');
      expect(await fp.api.prisma.agentCredential.count({ where: { clusterId: expired.clusterId } })).toBe(0);
    },
    TEST_MS,
  );

  let revokedLink: LinkAttach;

  it(
    'revoked: TOKEN_REVOKED at both endpoints, and an agent installed with it is refused and stops instead of retrying',
    async () => {
      revokedLink = await link();
      // Installed while the link was good; revoked before the agent could register.
      expect((await kubectlApply(revokedLink.manifestUrl)).code).toBe(0);
      await fp.api.gqlOk(fp.token, 'mutation($id: ID!) { revokeRegistrationLinks(clusterId: $id) { id } }', { id: revokedLink.clusterId });
      await expectRefused(revokedLink.registrationToken, 'TOKEN_REVOKED', await kubeSystemUid(k3s.kubeConfig));

      agent = await startAgent(fp.build, k3s, { overrides: { FARPOINT_AGENT_IDLE_RECHECK_SECONDS: '1' } });
      await agent.proc.waitForOutput(/reporting stopped/, 60_000);
      expect(agent.proc.logLines().some((l) => l.msg === 'registration refused' && l.code === 'TOKEN_REVOKED')).toBe(true);
      expect(agent.proc.running).toBe(true);
      expect((await clusterDetail(fp, revokedLink.clusterId)).phase).toBe('PENDING');
      expect(await fp.api.prisma.agentCredential.count({ where: { clusterId: revokedLink.clusterId } })).toBe(0);
      expect((await agentSecret(k3s.kubeConfig))!['registration-token']).toBe(revokedLink.registrationToken);
    },
    TEST_MS,
  );

  it(
    'reused: after a reissued link brings that agent to READY, its token is TOKEN_USED at both endpoints and kubectl apply of it fails',
    async () => {
      const reissued = await fp.api.gqlOk<{ reissueRegistrationLink: { registrationToken: string; manifestUrl: string } }>(
        fp.token,
        'mutation($id: ID!) { reissueRegistrationLink(clusterId: $id) { registrationToken manifestUrl } }',
        { id: revokedLink.clusterId },
      );
      const token = reissued.reissueRegistrationLink.registrationToken;
      expect(token).not.toBe(revokedLink.registrationToken);
      // Applying the new link puts the new token into the Secret; the waiting agent picks it up.
      expect((await kubectlApply(reissued.reissueRegistrationLink.manifestUrl)).code).toBe(0);
      await waitForCluster(fp, revokedLink.clusterId, 'READY', 'HEALTHY', { timeoutMs: 90_000, context: logs });
      expect(await installedObjects(k3s.kubeConfig)).toEqual(ONE_OF_EACH);
      // The re-applied manifests brought the adoption rule back; the running agent removed it again.
      expect((await agentRbac(k3s.kubeConfig)).clusterRole.rules).toEqual(AGENT_CLUSTER_RULES);

      await expectRefused(token, 'TOKEN_USED', await kubeSystemUid(k3s.kubeConfig));
      await expectRefused(token, 'TOKEN_USED');
      const applied = await kubectlApply(reissued.reissueRegistrationLink.manifestUrl);
      expect(applied.code).not.toBe(0);
      expect(applied.stderr).toContain('status code=409');
      // The refusals changed nothing: one registration, one live credential, still READY.
      expect(await fp.api.prisma.event.count({ where: { objectId: revokedLink.clusterId, type: 'AgentRegistered' } })).toBe(1);
      expect(await fp.api.prisma.agentCredential.count({ where: { clusterId: revokedLink.clusterId, revokedAt: null } })).toBe(1);
      expect((await clusterDetail(fp, revokedLink.clusterId)).phase).toBe('READY');
    },
    TEST_MS,
  );
});

describe('attach by queue refuses what cannot work', () => {
  it.each([
    ['not YAML', 'apiVersion: v1\nclusters: [unclosed'],
    ['no current-context', 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n'],
    ['empty', ''],
  ])('an invalid kubeconfig (%s) is BAD_USER_INPUT on the kubeconfig field and creates nothing', async (_, kubeconfig) => {
    const before = await fp.api.prisma.cluster.count();
    const res = await fp.api.gql(fp.token, 'mutation($in: AttachClusterWithKubeconfigInput!) { attachClusterWithKubeconfig(input: $in) { cluster { id } } }', {
      in: { name: `bad-kubeconfig-${++counter}`, groupId: group.id, kubeconfig },
    });
    expect(res.data).toBeNull();
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'kubeconfig' });
    expect(await fp.api.prisma.cluster.count()).toBe(before);
    expect(await fp.api.prisma.clusterOperation.count({ where: { state: { in: ['QUEUED', 'RUNNING'] } } })).toBe(0);
  });

  it(
    'an unreachable cluster (nothing listens on its port) ends FAILED after both attempts, with the reason, and the cluster ERROR',
    async () => {
      const closedPort = await freePort();
      const real = await readFile(k3s.kubeconfigPath, 'utf8');
      const unreachable = real.replaceAll(k3s.server, `https://127.0.0.1:${closedPort}`);
      expect(unreachable).not.toBe(real);
      const queued = await attachByQueue(fp, { name: 'edge-unreachable', groupId: group.id, kubeconfig: unreachable });

      const failed = await waitFor(
        'the attach to fail',
        () => operation(fp, queued.operationId),
        (o) => o.state === 'FAILED' || o.state === 'SUCCEEDED',
        { timeoutMs: 90_000, context: logs },
      );
      expect(failed.state).toBe('FAILED');
      expect(failed.attempts).toBe(2);
      expect(failed.lastError).toBe(`Cannot reach the Kubernetes API server at https://127.0.0.1:${closedPort}: connection refused.`);
      expect(failed.finishedAt).not.toBeNull();
      const detail = await clusterDetail(fp, queued.clusterId);
      expect(detail).toMatchObject({ phase: 'ERROR', phaseReason: failed.lastError });
      const phaseEvents = await fp.api.prisma.event.findMany({ where: { objectId: queued.clusterId, type: 'ClusterPhaseChanged' } });
      expect(phaseEvents.map((e) => ({ severity: e.severity, data: e.data }))).toEqual([{ severity: 'ERROR', data: { from: 'ATTACHING', to: 'ERROR', reason: failed.lastError } }]);
      // The worker logged both attempts, naming the server but never the kubeconfig's client key.
      expect(worker.output).toContain(`attach ${queued.operationId} attempt 1/2 failed`);
      expect(worker.output).toContain(`attach ${queued.operationId} attempt 2/2 failed`);
      const clientKey = (load(real) as { users: { user: Record<string, string> }[] }).users[0].user['client-key-data'];
      expect(clientKey.length).toBeGreaterThan(100);
      expect(worker.output).not.toContain(clientKey.slice(0, 40));
      expect(worker.output).not.toContain(Buffer.from(clientKey, 'base64').toString('utf8').split('\n')[1]);
    },
    TEST_MS,
  );

  it(
    'detaching a cluster while its queued attach waits for the agent ends the attach for good: the cluster stays DETACHED',
    async () => {
      const cluster = harness.cluster(CANCELLED);
      const queued = await attachByQueue(fp, { name: CANCELLED, groupId: group.id, kubeconfig: await readFile(cluster.kubeconfigPath, 'utf8') });
      // No agent runs: the first attempt ends after 3 s; detach during the second (last) one.
      await waitFor(
        'the last attempt to wait for the agent',
        () => operation(fp, queued.operationId),
        (o) => o.state === 'WAITING_FOR_AGENT' && o.attempts === 2,
        { timeoutMs: 60_000, intervalMs: 50, context: logs },
      );
      const detached = await fp.api.gqlOk<{ detachCluster: { phase: string } }>(fp.token, 'mutation($id: ID!) { detachCluster(id: $id) { phase } }', { id: queued.clusterId });
      expect(detached.detachCluster.phase).toBe('DETACHED');
      expect(await operation(fp, queued.operationId)).toMatchObject({ state: 'FAILED', lastError: 'Cancelled by detach.' });

      // Once the job is over (gone from the queue), the detach still stands.
      const { Queue } = await import('bullmq');
      const { Redis } = await import('ioredis');
      const connection = new Redis(fp.api.config.REDIS_URL, { maxRetriesPerRequest: null });
      const queue = new Queue('attach', { connection, prefix: fp.api.config.QUEUE_PREFIX });
      try {
        await waitFor(
          'the attach job to end',
          () => queue.getJob(queued.operationId),
          (job) => job === undefined,
          { timeoutMs: 60_000, context: logs },
        );
      } finally {
        await queue.close();
        connection.disconnect();
      }
      expect(await clusterDetail(fp, queued.clusterId)).toMatchObject({ phase: 'DETACHED' });
      expect(await operation(fp, queued.operationId)).toMatchObject({ state: 'FAILED', lastError: 'Cancelled by detach.' });
      const phases = await fp.api.prisma.event.findMany({ where: { objectId: queued.clusterId, type: 'ClusterPhaseChanged' }, orderBy: { occurredAt: 'asc' } });
      expect(phases.map((e) => `${(e.data as { from: string }).from}→${(e.data as { to: string }).to}`)).toEqual(['ATTACHING→DETACHED']);
    },
    TEST_MS,
  );
});
