import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeSecret } from '../testing/fakes';
import { ADMISSION_TLS_SECRET_KEY, loadOrCreateServingTls, secretTlsStore } from './serving-tls';

describe('loadOrCreateServingTls', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'farpoint-tls-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const now = new Date('2026-12-01T00:00:00Z');
  const days = (n: number) => new Date(now.getTime() + n * 86_400_000);

  it('creates a CA and a serving certificate for the names, kept 0600, and reuses them', async () => {
    const first = await loadOrCreateServingTls(dir, ['127.0.0.1'], now);
    expect(new X509Certificate(first.certPem).verify(new X509Certificate(first.caPem).publicKey)).toBe(true);
    expect(new X509Certificate(first.certPem).subjectAltName).toBe('IP Address:127.0.0.1');
    expect((await stat(join(dir, 'admission-tls.json'))).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateServingTls(dir, ['127.0.0.1'], days(10))).toEqual(first);
  });

  it('renews the serving certificate from the same CA 30 days before expiry, or for a new name', async () => {
    const first = await loadOrCreateServingTls(dir, ['127.0.0.1'], now);
    const renewed = await loadOrCreateServingTls(dir, ['127.0.0.1'], days(61));
    expect(renewed.caPem).toBe(first.caPem);
    expect(renewed.certPem).not.toBe(first.certPem);
    const renamed = await loadOrCreateServingTls(dir, ['agent.example'], days(61));
    expect(renamed.caPem).toBe(first.caPem);
    expect(new X509Certificate(renamed.certPem).subjectAltName).toBe('DNS:agent.example');
  });

  it.each([
    ['not JSON', '{'],
    ['without certificates', '{}'],
  ])('starts over from a file %s', async (_, content) => {
    await writeFile(join(dir, 'admission-tls.json'), content);
    const tls = await loadOrCreateServingTls(dir, ['127.0.0.1'], now);
    expect(new X509Certificate(tls.certPem).verify(new X509Certificate(tls.caPem).publicKey)).toBe(true);
  });

  describe('kept in the agent Secret', () => {
    it('stores them under one key beside the credential, leaving the other keys as they are, and reuses them', async () => {
      const secret = new FakeSecret({ credential: 'fpc_keep_me', 'installation-secret': 'x' });
      const first = await loadOrCreateServingTls(secretTlsStore(secret), ['127.0.0.1'], now);
      expect(Object.keys(secret.data!).sort()).toEqual([ADMISSION_TLS_SECRET_KEY, 'credential', 'installation-secret']);
      expect(secret.data!.credential).toBe('fpc_keep_me');
      expect(JSON.parse(secret.data![ADMISSION_TLS_SECRET_KEY])).toMatchObject({ caPem: first.caPem, certPem: first.certPem });
      expect(await loadOrCreateServingTls(secretTlsStore(secret), ['127.0.0.1'], days(10))).toEqual(first);
      expect(secret.writes).toBe(1);
    });

    it('retries a write that raced another writer of the Secret (rotation) and keeps what that one wrote', async () => {
      const secret = new FakeSecret({ credential: 'fpc_old' });
      secret.conflictsToInject = 2;
      await loadOrCreateServingTls(secretTlsStore(secret), ['127.0.0.1'], now);
      expect(secret.writes).toBe(1);
      expect(secret.data![ADMISSION_TLS_SECRET_KEY]).toBeDefined();
    });

    it('renews from the CA in the Secret, so the caBundle the apiserver holds stays valid', async () => {
      const secret = new FakeSecret({ credential: 'fpc' });
      const first = await loadOrCreateServingTls(secretTlsStore(secret), ['127.0.0.1'], now);
      const renewed = await loadOrCreateServingTls(secretTlsStore(secret), ['127.0.0.1'], days(61));
      expect(renewed.caPem).toBe(first.caPem);
      expect(renewed.certPem).not.toBe(first.certPem);
    });
  });
});
