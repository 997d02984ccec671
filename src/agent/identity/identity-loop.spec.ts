import { TEST_CLUSTER_ID, TEST_KUBE_SYSTEM_UID, TEST_REGISTRATION_TOKEN } from '../../protocol/testing/factories';
import { ServerClock } from '../server-clock';
import { eventually } from '../../dev/eventually';
import { FakeAgentApi, FakeAgentKube, FakeSecret } from '../testing/fakes';
import { capturedLog, FAST_BACKOFF } from '../testing/loops';
import { CredentialStore } from './credential-store';
import { IdentityLoop, type IdentityLoopDeps } from './identity-loop';

const config: IdentityLoopDeps['config'] = {
  namespace: 'farpoint-system',
  secretName: 'farpoint-agent',
  agentVersion: '0.1.0',
  expectedClusterId: TEST_CLUSTER_ID,
  forceIntervals: false,
  heartbeatIntervalMs: 20_000,
  reportIntervalMs: 10_000,
  idleRecheckMs: 5,
};

function setup(secretData: Record<string, string> | null, overrides: Partial<IdentityLoopDeps> = {}) {
  const api = new FakeAgentApi();
  api.validTokens.add(TEST_REGISTRATION_TOKEN);
  const secret = new FakeSecret(secretData);
  const kube = new FakeAgentKube();
  const { log, logs } = capturedLog();
  const events: string[] = [];
  const reservations: number[] = [];
  const loop = new IdentityLoop({
    config,
    log,
    api,
    kube,
    credentials: new CredentialStore(secret),
    clock: new ServerClock(),
    backoff: FAST_BACKOFF,
    newInstallationSecret: () => 'installation-secret-of-this-test-0123456789a',
    beforeRegistration: async () => {
      events.push('before registration');
    },
    onSeqReservation: (until) => reservations.push(until),
    onRegistered: () => events.push(`registered; secret holds ${secret.data?.credential}`),
    ...overrides,
  });
  const controller = new AbortController();
  return { api, secret, kube, logs, events, reservations, loop, controller };
}

const storedSecret = {
  'cluster-id': TEST_CLUSTER_ID,
  credential: 'fpc_preexisting_credential_0001',
  'credential-expires-at': '2031-01-01T00:00:00.000Z',
  'credential-issued-at': '2030-12-01T00:00:00.000Z',
  'heartbeat-interval-seconds': '30',
  'report-interval-seconds': '15',
  'seq-reserved-until': '5000',
};

describe(IdentityLoop.name, () => {
  it('uses the stored credential with the intervals the API gave it, without registering', async () => {
    const { api, reservations, loop, controller } = setup(storedSecret);
    const identity = await loop.establish(controller.signal);
    expect(identity).toEqual({
      credential: {
        clusterId: TEST_CLUSTER_ID,
        credential: 'fpc_preexisting_credential_0001',
        expiresAt: Date.parse('2031-01-01T00:00:00.000Z'),
        issuedAt: Date.parse('2030-12-01T00:00:00.000Z'),
      },
      heartbeatIntervalMs: 30_000,
      reportIntervalMs: 15_000,
    });
    expect(api.calls).toEqual([]);
    expect(reservations).toEqual([5000]);
  });

  it('keeps the configured intervals when the configuration forces them', async () => {
    const { loop, controller } = setup(storedSecret, { config: { ...config, forceIntervals: true } });
    expect(await loop.establish(controller.signal)).toMatchObject({ heartbeatIntervalMs: 20_000, reportIntervalMs: 10_000 });
  });

  it('registers with the token after the adoption check, stores the credential before anyone uses it, and drops the token', async () => {
    const { api, secret, kube, events, loop, controller } = setup({ 'registration-token': TEST_REGISTRATION_TOKEN });
    const identity = await loop.establish(controller.signal);
    expect(identity?.credential).toMatchObject({ clusterId: TEST_CLUSTER_ID, credential: 'fpc_fake_credential_0001' });
    expect(identity).toMatchObject({ heartbeatIntervalMs: 1000, reportIntervalMs: 1000 });
    expect(api.registerRequests).toEqual([
      {
        registrationToken: TEST_REGISTRATION_TOKEN,
        clusterUid: TEST_KUBE_SYSTEM_UID,
        agentVersion: '0.1.0',
        installationSecret: 'installation-secret-of-this-test-0123456789a',
        renewalPublicKey: expect.stringMatching(/^[A-Za-z0-9_-]{59}$/),
      },
    ]);
    expect(kube.calls).toEqual(['get namespace kube-system']);
    expect(events).toEqual(['before registration', 'registered; secret holds fpc_fake_credential_0001']);
    expect(secret.data).not.toHaveProperty('registration-token');
  });

  it('retries a registration whose answer was lost with the same installation secret', async () => {
    const { api, loop, controller } = setup({ 'registration-token': TEST_REGISTRATION_TOKEN });
    api.loseRegisterAnswers = 1;
    const identity = await loop.establish(controller.signal);
    expect(api.registerRequests.map((r) => r.installationSecret)).toEqual(['installation-secret-of-this-test-0123456789a', 'installation-secret-of-this-test-0123456789a']);
    expect(identity?.credential.credential).toBe('fpc_fake_credential_0002');
  });

  it('does not use a registration for another cluster than the manifests name', async () => {
    const { api, secret, logs, loop, controller } = setup(
      { 'registration-token': TEST_REGISTRATION_TOKEN },
      { config: { ...config, expectedClusterId: '3f8e0000-0000-4000-8000-000000000009' } },
    );
    const established = loop.establish(controller.signal);
    await eventually(() => logs.some((l) => l.reason === 'the Secret holds neither a credential nor a registration token'));
    controller.abort();
    expect(await established).toBeUndefined();
    expect(api.registerRequests).toHaveLength(1);
    expect(secret.data).not.toHaveProperty('credential');
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', msg: 'registration answered another cluster than the manifests name', clusterId: TEST_CLUSTER_ID }));
  });

  it('does not retry a refused token, logs once why it is idle, and registers when a new token arrives', async () => {
    const { api, secret, logs, loop, controller } = setup({ 'registration-token': 'fpr_unknown_token_00000000' });
    const established = loop.establish(controller.signal);
    await eventually(() => logs.filter((l) => l.msg === 'reporting stopped: apply new install manifests to attach this cluster again').length === 1);
    const writesWhileIdle = secret.writes;
    api.validTokens.add('fpr_second_attach_token_000000');
    secret.data = { ...secret.data!, 'registration-token': 'fpr_second_attach_token_000000' };
    const identity = await established;
    expect(identity?.credential.credential).toBe('fpc_fake_credential_0001');
    expect(api.registerRequests.map((r) => r.registrationToken)).toEqual(['fpr_unknown_token_00000000', 'fpr_second_attach_token_000000']);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'registration refused', code: 'TOKEN_UNKNOWN' }));
    expect(logs.filter((l) => l.msg === 'reporting stopped: apply new install manifests to attach this cluster again')).toHaveLength(1);
    // Only the installation secret and the renewal key, written before the first attempt: the refused token was not tried again.
    expect(writesWhileIdle).toBe(2);
  });

  it('never uses a rejected credential again and waits for new install manifests', async () => {
    const { api, logs, loop, controller } = setup(storedSecret);
    loop.rejectCredential('fpc_preexisting_credential_0001');
    const established = loop.establish(controller.signal);
    await eventually(() => logs.some((l) => l.reason === 'the API rejected the stored credential and the Secret holds no new registration token'));
    controller.abort();
    expect(await established).toBeUndefined();
    expect(api.calls).toEqual([]);
  });

  it('names a missing Secret as the reason it is idle', async () => {
    const { logs, loop, controller } = setup(null);
    const established = loop.establish(controller.signal);
    await eventually(() => logs.some((l) => l.reason === 'the Secret farpoint-system/farpoint-agent does not exist'));
    controller.abort();
    expect(await established).toBeUndefined();
  });
});
