import { TEST_CLUSTER_ID, TEST_CREDENTIAL, TEST_REGISTRATION_TOKEN } from '../../protocol/testing/factories';
import { CredentialStore, SecretConflictError } from './credential-store';
import { FakeSecret } from '../testing/fakes';

const registration = {
  clusterId: TEST_CLUSTER_ID,
  credential: TEST_CREDENTIAL,
  expiresAt: Date.parse('2026-12-26T10:00:00Z'),
  issuedAt: Date.parse('2026-11-26T10:00:00Z'),
  heartbeatIntervalSeconds: 20,
  reportIntervalSeconds: 10,
};

describe(CredentialStore.name, () => {
  it('reads a freshly installed Secret as a registration token only', async () => {
    const store = new CredentialStore(new FakeSecret({ 'registration-token': `${TEST_REGISTRATION_TOKEN}\n` }));
    expect(await store.load()).toEqual({ registrationToken: TEST_REGISTRATION_TOKEN });
  });

  it('answers null when the Secret does not exist', async () => {
    expect(await new CredentialStore(new FakeSecret(null)).load()).toBeNull();
  });

  it('stores a registration and drops the token in one write, so a restart needs no token', async () => {
    const secret = new FakeSecret({ 'registration-token': TEST_REGISTRATION_TOKEN, other: 'kept' });
    const store = new CredentialStore(secret);
    await store.saveRegistration(registration);
    expect(secret.writes).toBe(1);
    expect(secret.data).toEqual({
      other: 'kept',
      'cluster-id': TEST_CLUSTER_ID,
      credential: TEST_CREDENTIAL,
      'credential-expires-at': '2026-12-26T10:00:00.000Z',
      'credential-issued-at': '2026-11-26T10:00:00.000Z',
      'heartbeat-interval-seconds': '20',
      'report-interval-seconds': '10',
    });
    expect(await store.load()).toEqual({
      credential: { clusterId: TEST_CLUSTER_ID, credential: TEST_CREDENTIAL, expiresAt: registration.expiresAt, issuedAt: registration.issuedAt },
      heartbeatIntervalSeconds: 20,
      reportIntervalSeconds: 10,
    });
  });

  it('creates the installation secret once, stores it, and answers the stored one afterwards', async () => {
    const secret = new FakeSecret({ 'registration-token': TEST_REGISTRATION_TOKEN });
    const store = new CredentialStore(secret);
    let generated = 0;
    const generate = () => `installation-secret-${++generated}-0123456789abcdef`;
    const first = await store.ensureInstallationSecret(generate);
    expect(first).toBe('installation-secret-1-0123456789abcdef');
    expect(secret.data!['installation-secret']).toBe(first);
    expect(await store.ensureInstallationSecret(generate)).toBe(first);
    expect([generated, secret.writes]).toEqual([1, 1]);
    expect((await store.load())!.installationSecret).toBe(first);
  });

  it('keeps an installation secret written concurrently instead of replacing it', async () => {
    const secret = new FakeSecret({ 'registration-token': TEST_REGISTRATION_TOKEN });
    const store = new CredentialStore(secret);
    const read = secret.read.bind(secret);
    let reads = 0;
    // Someone stores one between our first read and our write.
    secret.read = async () => {
      const content = await read();
      if (++reads === 2) {
        secret.data = { ...secret.data!, 'installation-secret': 'written-by-another-attempt-0123456789' };
        secret.resourceVersion += 1;
      }
      return content;
    };
    expect(await store.ensureInstallationSecret(() => 'ours-0123456789abcdef0123456789abcdef')).toBe('written-by-another-attempt-0123456789');
    expect(secret.data!['installation-secret']).toBe('written-by-another-attempt-0123456789');
  });

  it('stores a rotated credential and keeps the intervals', async () => {
    const secret = new FakeSecret({});
    const store = new CredentialStore(secret);
    await store.saveRegistration(registration);
    await store.saveRotation({ ...registration, credential: 'fpc_rotated0123456789abcdef', expiresAt: registration.expiresAt + 1000 });
    const loaded = await store.load();
    expect(loaded?.credential?.credential).toBe('fpc_rotated0123456789abcdef');
    expect(loaded?.heartbeatIntervalSeconds).toBe(20);
  });

  it('keeps the highest seq reservation', async () => {
    const secret = new FakeSecret({});
    const store = new CredentialStore(secret);
    await store.saveSeqReservation(2000);
    await store.saveSeqReservation(1500);
    expect(secret.data).toEqual({ 'seq-reserved-until': '2000' });
    expect((await store.load())?.seqReservedUntil).toBe(2000);
  });

  it('re-reads and retries when the Secret changed between read and write', async () => {
    const secret = new FakeSecret({ 'registration-token': TEST_REGISTRATION_TOKEN });
    secret.conflictsToInject = 2;
    await new CredentialStore(secret).saveRegistration(registration);
    expect(secret.data?.credential).toBe(TEST_CREDENTIAL);
  });

  it('gives up after repeated conflicts', async () => {
    const secret = new FakeSecret({});
    secret.conflictsToInject = 10;
    await expect(new CredentialStore(secret).saveRegistration(registration)).rejects.toBeInstanceOf(SecretConflictError);
  });

  it('ignores a credential without an expiry it can read', async () => {
    const store = new CredentialStore(new FakeSecret({ 'cluster-id': TEST_CLUSTER_ID, credential: TEST_CREDENTIAL, 'credential-expires-at': 'soon' }));
    expect(await store.load()).toEqual({});
  });
});
