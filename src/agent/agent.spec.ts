import type { V1Pod } from '@kubernetes/client-node';
import { applyInventoryDelta, type Inventory } from '../protocol/inventory';
import { AGENT_CLUSTER_RULES, isAdoptionRule } from '../agent-install/rbac';
import { TEST_CLUSTER_ID, TEST_KUBE_SYSTEM_UID, TEST_REGISTRATION_TOKEN } from '../protocol/testing/factories';
import { Agent, type AgentDeps, type AgentOutcome } from './agent';
import type { AgentConfig } from './config';
import { CredentialStore } from './identity/credential-store';
import { buildInventory } from './inventory/inventory-builder';
import { createJsonLogger } from './logger';
import { ReportQueue } from './reporting/report-queue';
import { tkgClusterObjects } from './testing/cluster-objects';
import { eventually } from '../dev/eventually';
import { FakeAgentApi, FakeAgentKube, FakeClusterWatch, FakeSecret } from './testing/fakes';

const config: AgentConfig = {
  apiUrl: 'https://farpoint.example.com',
  expectedClusterId: TEST_CLUSTER_ID,
  namespace: 'farpoint-system',
  secretName: 'farpoint-agent',
  stateDir: '/unused',
  agentVersion: '0.1.0',
  heartbeatIntervalMs: 40,
  reportIntervalMs: 20,
  forceIntervals: true,
  httpTimeoutMs: 1000,
  backoffInitialMs: 5,
  backoffMaxMs: 20,
  idleRecheckMs: 20,
  queueMaxItems: 1000,
  queueMaxBytes: 4 * 1024 * 1024,
  rotateAtFraction: 2 / 3,
  logLevel: 'debug',
};

/** A wired agent over fakes, with millisecond intervals (forceIntervals) instead of the API's seconds. */
function setup(
  secretData: Record<string, string> | null = { 'registration-token': TEST_REGISTRATION_TOKEN },
  options: { adoptionRecheckMs?: number; admission?: AgentDeps['admission']; audit?: AgentDeps['audit'] } = {},
) {
  const api = new FakeAgentApi();
  api.validTokens.add(TEST_REGISTRATION_TOKEN);
  const secret = new FakeSecret(secretData);
  const kube = new FakeAgentKube();
  const watch = new FakeClusterWatch(tkgClusterObjects());
  const queue = new ReportQueue({ maxItems: config.queueMaxItems, maxBytes: config.queueMaxBytes });
  const logs: Array<Record<string, unknown>> = [];
  const log = createJsonLogger('debug', (line) => logs.push(JSON.parse(line)));
  let saves = 0;
  const agent = new Agent({
    config,
    log,
    api,
    credentials: new CredentialStore(secret),
    kube,
    watch,
    queue,
    saveQueue: async () => {
      saves += 1;
    },
    adoptionRecheckMs: options.adoptionRecheckMs,
    admission: options.admission,
    audit: options.audit,
  });
  const controller = new AbortController();
  let outcome: AgentOutcome | undefined;
  const start = () => {
    const running = agent.run(controller.signal).then((o) => (outcome = o));
    const stop = async () => {
      controller.abort();
      await running;
    };
    runningAgents.push(stop);
    return stop;
  };
  return { api, secret, kube, watch, queue, logs, start, outcome: () => outcome, saves: () => saves };
}

/** Secret content of an agent that registered earlier, with fast test intervals. */
function registeredSecret(api: FakeAgentApi, credential = 'fpc_preexisting_credential_0001', expiresInMs = 3_600_000) {
  api.credentials.set(credential, { revoked: false });
  return {
    'cluster-id': TEST_CLUSTER_ID,
    credential,
    'credential-expires-at': new Date(Date.now() + expiresInMs).toISOString(),
    'credential-issued-at': new Date(Date.now()).toISOString(),
    'heartbeat-interval-seconds': '1',
    'report-interval-seconds': '1',
  };
}

function setupRegistered(
  options: { expiresInMs?: number; extra?: Record<string, string>; adoptionRecheckMs?: number; admission?: AgentDeps['admission']; audit?: AgentDeps['audit'] } = {},
) {
  const probe = new FakeAgentApi();
  const data = { ...registeredSecret(probe, undefined, options.expiresInMs), ...options.extra };
  const ctx = setup(data, { adoptionRecheckMs: options.adoptionRecheckMs, admission: options.admission, audit: options.audit });
  for (const [k, v] of probe.credentials) {
    ctx.api.credentials.set(k, v);
  }
  return ctx;
}

function inventoryFrom(api: FakeAgentApi): Inventory {
  let inventory: Inventory | undefined;
  for (const item of api.stored) {
    if (item.kind === 'inventory.snapshot') {
      inventory = item.payload;
    }
    if (item.kind === 'inventory.delta') {
      inventory = applyInventoryDelta(inventory!, item.payload);
    }
  }
  if (!inventory) {
    throw new Error('no inventory stored');
  }
  return inventory;
}

/** Agents still running when a test fails are stopped, so one failure cannot hang the run. */
const runningAgents: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(runningAgents.splice(0).map((stop) => stop()));
});

describe(Agent.name, () => {
  it('registers once with the token and the kube-system UID, stores the credential and drops the token', async () => {
    const { api, secret, kube, start } = setup();
    const stop = start();
    await eventually(() => api.storedKinds().includes('inventory.snapshot'), { what: 'a snapshot' });
    await stop();
    const installationSecret = secret.data!['installation-secret'];
    expect(installationSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(api.registerRequests).toEqual([
      {
        registrationToken: TEST_REGISTRATION_TOKEN,
        clusterUid: TEST_KUBE_SYSTEM_UID,
        agentVersion: '0.1.0',
        installationSecret,
        renewalPublicKey: expect.stringMatching(/^[A-Za-z0-9_-]{59}$/),
      },
    ]);
    expect(kube.nonAdoptionCalls).toEqual(['get namespace kube-system']);
    expect(secret.data).toMatchObject({ 'cluster-id': TEST_CLUSTER_ID, credential: 'fpc_fake_credential_0001' });
    expect(secret.data).not.toHaveProperty('registration-token');
    expect(api.storedKinds()[0]).toBe('heartbeat');
  });

  it('restarts from the stored credential without registering', async () => {
    const { api, start } = setupRegistered();
    const stop = start();
    await eventually(() => api.storedKinds().includes('inventory.snapshot'), { what: 'a snapshot' });
    await stop();
    expect(api.calls).not.toContain('register');
  });

  it('sends one snapshot, then coalesced deltas that rebuild the same inventory on the API side', async () => {
    const { api, watch, start } = setupRegistered();
    const stop = start();
    await eventually(() => api.storedKinds().includes('inventory.snapshot'), { what: 'a snapshot' });
    const failedPod: V1Pod = { metadata: { name: 'pos-api-2', namespace: 'default' }, status: { phase: 'Failed' } };
    watch.change((o) => ({ ...o, pods: [...o.pods, failedPod] }));
    watch.change((o) => ({ ...o, deployments: o.deployments.filter((d) => d.metadata?.name !== 'pos-web') }));
    await eventually(() => api.storedKinds().includes('inventory.delta'), { what: 'a delta' });
    await stop();
    expect(api.storedKinds().filter((k) => k === 'inventory.snapshot')).toHaveLength(1);
    const delta = api.stored.find((i) => i.kind === 'inventory.delta')!.payload;
    expect(delta.workloads?.deletions).toEqual([{ kind: 'Deployment', namespace: 'default', name: 'pos-web' }]);
    expect(delta.podCountsByPhase?.Failed).toBe(1);
    expect(inventoryFrom(api)).toEqual(buildInventory(watch.current, 'v1.31.4+vmware.1'));
  });

  it('queues heartbeats while the API is unreachable and delivers everything in order when it comes back', async () => {
    const { api, queue, start } = setupRegistered();
    api.offline = true;
    const stop = start();
    await eventually(() => queue.depth >= 4, { what: 'a growing queue' });
    expect(api.stored).toHaveLength(0);
    api.offline = false;
    await eventually(() => queue.depth === 0 && api.stored.length >= 4, { what: 'a drained queue' });
    await stop();
    const seqs = api.stored.map((i) => i.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(api.storedKinds()).toContain('inventory.snapshot');
  });

  it('detaches on DETACH: webhook, then the binding (the garbage collector takes the ClusterRole it owns), then the namespace, and ends', async () => {
    const { api, kube, start, outcome } = setupRegistered();
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    kube.failDetachSteps = 1;
    api.sendDirective({ type: 'DETACH' });
    await eventually(() => outcome() !== undefined, { what: 'the agent to end' });
    await stop();
    expect(outcome()).toBe('detached');
    expect(kube.nonAdoptionCalls).toEqual(['delete validatingwebhookconfiguration farpoint-agent', 'delete clusterrolebinding farpoint-agent', 'delete namespace farpoint-system']);
    expect(kube.calls.filter((c) => c.startsWith('delete') || c.startsWith('patch'))).toEqual([
      'patch clusterrole farpoint-agent',
      'delete validatingwebhookconfiguration farpoint-agent',
      'delete clusterrolebinding farpoint-agent',
      'delete namespace farpoint-system',
    ]);
    expect(kube.binding).toBeNull();
    expect(kube.role).toBeNull();
  });

  it('acknowledges DETACH after the cluster-wide objects are gone and before the namespace, retrying until the API has it', async () => {
    const { api, kube, start, outcome } = setupRegistered();
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    api.failDetachAcks = 2;
    api.sendDirective({ type: 'DETACH' });
    await eventually(() => outcome() !== undefined, { what: 'the agent to end' });
    await stop();
    expect(outcome()).toBe('detached');
    expect(api.detachAcks).toEqual(['fpc_preexisting_credential_0001']);
    expect(api.calls.filter((c) => c === 'detach-ack')).toHaveLength(3);
    expect(kube.nonAdoptionCalls.at(-1)).toBe('delete namespace farpoint-system');
    expect([...api.credentials.values()].every((c) => c.revoked)).toBe(true);
  });

  it('completes the detach when the API refuses the credential at the acknowledgement (an earlier one whose answer was lost)', async () => {
    const { api, kube, start, outcome } = setupRegistered();
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    api.sendDirective({ type: 'DETACH' });
    // The detach completed on the API before this agent heard of it.
    kube.onDeleteClusterRoleBinding = () => api.revokeAll();
    await eventually(() => outcome() !== undefined, { what: 'the agent to end' });
    await stop();
    expect(outcome()).toBe('detached');
    expect(api.detachAcks).toEqual([]);
    expect(kube.nonAdoptionCalls).toEqual(['delete validatingwebhookconfiguration farpoint-agent', 'delete clusterrolebinding farpoint-agent', 'delete namespace farpoint-system']);
  });

  it('renews a credential that expired while it was offline with its renewal key, stores the new one and reports with it', async () => {
    const { api, secret, start } = setup();
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    const enrolled = api.registerRequests[0].renewalPublicKey;
    expect(enrolled).toMatch(/^[A-Za-z0-9_-]{59}$/);
    const first = secret.data!['credential'];
    api.expireAll();
    await eventually(() => api.renewals.length === 1 && secret.data!['credential'] !== first, { what: 'a renewal' });
    const renewed = secret.data!['credential'];
    const storedBefore = api.stored.length;
    await eventually(() => api.stored.length > storedBefore, { what: 'reports with the renewed credential' });
    await stop();
    expect(api.renewals).toEqual([first]);
    expect(api.credentials.get(renewed)).toEqual({ revoked: false });
    // Neither a new registration nor a second key: the one the API holds signed it.
    expect(api.registerRequests).toHaveLength(1);
    expect(secret.data!['renewal-private-key']).toBeDefined();
  });

  it('waits for new install manifests when the renewal is refused (no renewal key enrolled)', async () => {
    const { api, logs, start } = setupRegistered();
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    api.expireAll();
    await eventually(() => logs.some((l) => l.msg === 'reporting stopped: apply new install manifests to attach this cluster again'), { what: 'the agent to wait' });
    await stop();
    expect(api.renewals).toEqual([]);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'the credential expired and the agent has no renewal key; apply new install manifests to attach again' }));
  });

  it('runs admission beside the sessions and stops it before detach deletes the webhook configuration', async () => {
    const events: string[] = [];
    let kubeOf: () => string[] = () => [];
    const admission = {
      run: (signal: AbortSignal) =>
        new Promise<void>((resolve) => {
          events.push('admission started');
          signal.addEventListener('abort', () => {
            events.push(`admission stopped; webhook configuration deleted: ${kubeOf().includes('delete validatingwebhookconfiguration farpoint-agent')}`);
            resolve();
          });
        }),
    };
    const { api, kube, start, outcome } = setupRegistered({ admission });
    kubeOf = () => kube.nonAdoptionCalls;
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    api.sendDirective({ type: 'DETACH' });
    await eventually(() => outcome() !== undefined, { what: 'the agent to end' });
    await stop();
    expect(outcome()).toBe('detached');
    expect(events).toEqual(['admission started', 'admission stopped; webhook configuration deleted: false']);
  });

  it('builds the audit with the outbox (its results reach the API), runs it beside admission and wakes it when a watched object changes', async () => {
    let changes = 0;
    let stopped = false;
    const audit: AgentDeps['audit'] = (reports) => ({
      run: (signal: AbortSignal) => {
        reports.enqueue('audit.result', { assignmentId: '11111111-1111-4111-8111-111111111111', generation: 1, complete: true, totalViolations: 0, violations: [] });
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => ((stopped = true), resolve())));
      },
      clusterChanged: () => (changes += 1),
    });
    const { api, watch, start } = setupRegistered({ audit });
    const stop = start();
    await eventually(() => api.stored.some((item) => item.kind === 'audit.result'), { what: 'the audit result at the API' });
    const before = changes;
    watch.change((objects) => objects);
    expect(changes).toBe(before + 1);
    await stop();
    expect(stopped).toBe(true);
  });

  it('retries each detach step on its own and never repeats one that succeeded', async () => {
    const { api, kube, start, outcome } = setupRegistered();
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    kube.failEachDetachStepOnce = true;
    api.sendDirective({ type: 'DETACH' });
    await eventually(() => outcome() !== undefined, { what: 'the agent to end' });
    await stop();
    expect(outcome()).toBe('detached');
    expect(kube.nonAdoptionCalls).toEqual(['delete validatingwebhookconfiguration farpoint-agent', 'delete clusterrolebinding farpoint-agent', 'delete namespace farpoint-system']);
  });

  it('adopts its ClusterRole before it registers: owned by the binding, the adoption rule gone, no other rule changed', async () => {
    const { api, kube, start } = setup();
    let roleAtRegistration: typeof kube.role = null;
    api.onRegister = () => (roleAtRegistration = structuredClone(kube.role));
    const stop = start();
    await eventually(() => api.registerRequests.length === 1, { what: 'a registration' });
    await stop();
    expect(roleAtRegistration).not.toBeNull();
    expect(roleAtRegistration!.ownerReferences).toEqual([
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'farpoint-agent', uid: kube.binding!.uid },
    ]);
    expect(roleAtRegistration!.rules).toEqual(AGENT_CLUSTER_RULES);
    expect(kube.calls.filter((c) => c.startsWith('patch'))).toEqual(['patch clusterrole farpoint-agent']);
  });

  it('removes the adoption rule again when re-applied manifests bring it back while it runs', async () => {
    const { api, kube, start } = setupRegistered({ adoptionRecheckMs: 20 });
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    expect(kube.role!.rules.some(isAdoptionRule)).toBe(false);
    kube.reapplyManifests();
    expect(kube.role!.rules.some(isAdoptionRule)).toBe(true);
    await eventually(() => !kube.role!.rules.some(isAdoptionRule), { what: 'the adoption rule to be removed again' });
    await stop();
    expect(kube.calls.filter((c) => c.startsWith('patch'))).toEqual(['patch clusterrole farpoint-agent', 'patch clusterrole farpoint-agent']);
  });

  it('stops reporting when the credential is revoked, and logs why', async () => {
    const { api, logs, start, outcome } = setupRegistered();
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    api.revokeAll();
    await eventually(() => logs.some((l) => l.msg === 'the API rejected the credential; reporting stopped'), { what: 'the rejection log' });
    const callsAtRejection = api.calls.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(api.calls.length).toBe(callsAtRejection);
    expect(outcome()).toBeUndefined();
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', code: 'CREDENTIAL_REVOKED' }));
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        reason: 'the API rejected the stored credential and the Secret holds no new registration token',
      }),
    );
    await stop();
    expect(outcome()).toBe('stopped');
  });

  it('registers again when new install manifests put a fresh token into the Secret after a revocation', async () => {
    const { api, secret, logs, start } = setupRegistered();
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    api.revokeAll();
    await eventually(() => logs.some((l) => l.msg === 'the API rejected the credential; reporting stopped'), { what: 'the rejection' });
    const newToken = 'fpr_second_attach_token_000000';
    api.validTokens.add(newToken);
    secret.data = { ...secret.data!, 'registration-token': newToken };
    await eventually(() => api.registerRequests.length === 1, { what: 'a second registration' });
    await eventually(() => secret.data?.credential === 'fpc_fake_credential_0001', { what: 'the new credential stored' });
    await stop();
    expect(api.registerRequests[0].registrationToken).toBe(newToken);
  });

  it('does not retry a refused registration token', async () => {
    const { api, logs, start } = setup({ 'registration-token': 'fpr_unknown_token_00000000' });
    const stop = start();
    await eventually(() => logs.some((l) => l.msg === 'registration refused'), { what: 'the refusal' });
    await new Promise((r) => setTimeout(r, 100));
    await stop();
    expect(api.calls.filter((c) => c === 'register')).toHaveLength(1);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'registration refused', code: 'TOKEN_UNKNOWN' }));
  });

  it('stores its installation secret before the first register call and presents the same one when it retries after a lost answer', async () => {
    const { api, secret, start } = setup();
    api.loseRegisterAnswers = 1;
    const storedAtEachCall: (string | undefined)[] = [];
    api.onRegister = () => storedAtEachCall.push(secret.data?.['installation-secret']);
    const stop = start();
    await eventually(() => secret.data?.credential !== undefined, { what: 'a stored credential' });
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    await stop();
    const installationSecret = secret.data!['installation-secret'];
    expect(api.registerRequests.map((r) => r.installationSecret)).toEqual([installationSecret, installationSecret]);
    expect(storedAtEachCall).toEqual([installationSecret, installationSecret]);
    // The answer of the retry is the credential in use; the lost one was revoked by the repeat.
    expect(secret.data!.credential).toBe('fpc_fake_credential_0002');
  });

  it('keeps the installation secret it already has instead of creating another', async () => {
    const existing = 'kept-from-an-earlier-attempt-0123456789abcdef';
    const { api, secret, start } = setup({ 'registration-token': TEST_REGISTRATION_TOKEN, 'installation-secret': existing });
    const stop = start();
    await eventually(() => secret.data?.credential !== undefined, { what: 'a stored credential' });
    await stop();
    expect(api.registerRequests.map((r) => r.installationSecret)).toEqual([existing]);
    expect(secret.data!['installation-secret']).toBe(existing);
  });

  it('still registers and reports when it may not read its RBAC (installed by hand), and warns once', async () => {
    const { api, kube, logs, start } = setup(undefined, { adoptionRecheckMs: 10 });
    kube.rbacForbidden = true;
    const stop = start();
    await eventually(() => api.stored.length > 2, { what: 'reports' });
    await stop();
    expect(logs.filter((l) => l.msg === 'the agent ClusterRole cannot be adopted; detach will leave it behind')).toEqual([
      expect.objectContaining({ level: 'warn', result: 'not-adoptable' }),
    ]);
    expect(kube.calls.filter((c) => c.startsWith('patch'))).toEqual([]);
  });

  it('rotates the credential at two thirds of its lifetime, stores it, then uses it', async () => {
    const { api, secret, start } = setupRegistered({ expiresInMs: 300 });
    const stop = start();
    await eventually(() => api.calls.includes('rotate'), { what: 'a rotation' });
    await eventually(() => secret.data?.credential === 'fpc_fake_credential_0001', { what: 'the rotated credential stored' });
    const reportsBefore = api.stored.length;
    api.credentials.get('fpc_preexisting_credential_0001')!.revoked = true;
    await eventually(() => api.stored.length > reportsBefore, { what: 'reports with the new credential' });
    await stop();
    expect(api.calls.filter((c) => c === 'rotate')).toHaveLength(1);
  });

  it('keeps reporting with the current credential while rotation fails, and rotates once the API recovers', async () => {
    const { api, secret, start } = setupRegistered({ expiresInMs: 600 });
    api.failRotations = 3;
    const stop = start();
    await eventually(() => api.calls.filter((c) => c === 'rotate').length >= 2, { what: 'failed rotations' });
    const storedDuringFailures = api.stored.length;
    await eventually(() => api.stored.length > storedDuringFailures + 2, { what: 'reports between rotation attempts' });
    await eventually(() => secret.data?.credential === 'fpc_fake_credential_0001', { what: 'the rotated credential stored' });
    await stop();
    expect(api.calls.filter((c) => c === 'rotate')).toHaveLength(4);
  });

  it('drops an item the API refuses, after narrowing the batch down to it, and carries on', async () => {
    const { api, queue, logs, start } = setupRegistered();
    api.offline = true;
    const stop = start();
    await eventually(() => queue.depth >= 3, { what: 'a few queued items' });
    const refused = queue.peekBatch(10, 1e9)[1].seq;
    api.refuseSeq = refused;
    api.offline = false;
    await eventually(() => queue.depth === 0, { what: 'a drained queue' });
    await stop();
    expect(api.stored.map((i) => i.seq)).not.toContain(refused);
    expect(api.stored.length).toBeGreaterThanOrEqual(2);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'the API refused a report item; dropped it', seq: refused }));
  });

  it('sends a full snapshot when the API asks for one', async () => {
    const { api, start } = setupRegistered();
    const stop = start();
    await eventually(() => api.storedKinds().includes('inventory.snapshot'), { what: 'a snapshot' });
    api.sendDirective({ type: 'SEND_SNAPSHOT' });
    await eventually(() => api.storedKinds().filter((k) => k === 'inventory.snapshot').length === 2, { what: 'a second snapshot' });
    await stop();
  });

  it('reserves seqs in the Secret ahead of use, and a queue without its file continues above the reservation', async () => {
    const { api, secret, start } = setupRegistered({ extra: { 'seq-reserved-until': '5000' } });
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    // Reserved when seq 5000 was used: the next 1000 from 5001.
    await eventually(() => secret.data?.['seq-reserved-until'] === '6001', { what: 'the next reservation' });
    await stop();
    expect(api.stored[0].seq).toBe(5000);
  });

  it('persists the queue after changes', async () => {
    const { api, start, saves } = setupRegistered();
    const stop = start();
    await eventually(() => api.stored.length > 0, { what: 'a first report' });
    await stop();
    expect(saves()).toBeGreaterThan(1);
  });
});
