import type { StoredCredential } from '../identity/credential-store';
import { ServerClock } from '../server-clock';
import { eventually } from '../../dev/eventually';
import { FakeAgentApi } from '../testing/fakes';
import { capturedLog, FAST_BACKOFF, testCredential, testSession } from '../testing/loops';
import { RotationLoop, type RotationStore } from './rotation-loop';

const CREDENTIAL = 'fpc_preexisting_credential_0001';

class Store implements RotationStore {
  readonly saved: StoredCredential[] = [];
  failNext = 0;
  onSave: (() => void) | undefined;
  async saveRotation(credential: StoredCredential): Promise<void> {
    this.onSave?.();
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('the Secret is unreachable');
    }
    this.saved.push(credential);
  }
}

function setup(credential: StoredCredential) {
  const api = new FakeAgentApi();
  api.credentials.set(CREDENTIAL, { revoked: false });
  const rotateCalls: number[] = [];
  const rotate = api.rotateCredential.bind(api);
  api.rotateCredential = (c, request) => {
    rotateCalls.push(Date.now());
    return rotate(c, request);
  };
  const store = new Store();
  const clock = new ServerClock();
  const { log, logs } = capturedLog();
  const loop = new RotationLoop({ api, store, clock, log, backoff: FAST_BACKOFF, rotateAtFraction: 2 / 3 });
  const { session, stop } = testSession({ credential });
  let running: Promise<void> | undefined;
  const start = (): void => {
    running = loop.run(session);
  };
  const end = async () => {
    stop();
    await running;
  };
  return { api, rotateCalls, store, clock, logs, session, start, end };
}

describe(RotationLoop.name, () => {
  it('rotates at two thirds of the lifetime, stores the successor, then switches the session to it', async () => {
    const issuedAt = Date.now();
    const { rotateCalls, store, session, logs, start, end } = setup(testCredential({ credential: CREDENTIAL, issuedAt, expiresAt: issuedAt + 60 }));
    const inUseWhenStored: string[] = [];
    store.onSave = () => inUseWhenStored.push(session.credential.current.credential);
    start();
    await eventually(() => session.credential.current.credential !== CREDENTIAL, { what: 'the rotated credential in use' });
    await end();
    expect(rotateCalls).toHaveLength(1);
    expect(rotateCalls[0]).toBeGreaterThanOrEqual(issuedAt + 40);
    expect(store.saved.map((c) => c.credential)).toEqual(['fpc_fake_credential_0001']);
    expect(inUseWhenStored).toEqual([CREDENTIAL]);
    expect(session.credential.current).toEqual(store.saved[0]);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'info', msg: 'credential rotated' }));
  });

  it('plans by the API clock', async () => {
    const issuedAt = Date.now();
    const credential = testCredential({ credential: CREDENTIAL, issuedAt, expiresAt: issuedAt + 3_600_000 });
    const api = new FakeAgentApi();
    api.credentials.set(CREDENTIAL, { revoked: false });
    const clock = new ServerClock();
    clock.observe(issuedAt + 3_000_000);
    const { log } = capturedLog();
    const store = new Store();
    const loop = new RotationLoop({ api, store, clock, log, backoff: FAST_BACKOFF, rotateAtFraction: 2 / 3 });
    const { session, stop } = testSession({ credential });
    const running = loop.run(session);
    await eventually(() => store.saved.length === 1, { what: 'a rotation' });
    stop();
    await running;
  });

  it('retries a failed rotation after its back-off while the credential stays in use', async () => {
    const { api, session, logs, start, end } = setup(testCredential({ credential: CREDENTIAL, issuedAt: Date.now() - 3000, expiresAt: Date.now() + 1000 }));
    api.failRotations = 3;
    start();
    await eventually(() => session.credential.current.credential !== CREDENTIAL, { what: 'the rotated credential in use' });
    await end();
    expect(api.calls.filter((c) => c === 'rotate')).toHaveLength(4);
    expect(logs.filter((l) => l.msg === 'credential rotation failed; retrying')).toHaveLength(3);
  });

  it('stores a successor whose store failed without asking for another one', async () => {
    const { api, store, session, start, end } = setup(testCredential({ credential: CREDENTIAL, issuedAt: Date.now() - 3000, expiresAt: Date.now() + 1000 }));
    store.failNext = 2;
    start();
    await eventually(() => session.credential.current.credential !== CREDENTIAL, { what: 'the rotated credential in use' });
    await end();
    expect(api.calls.filter((c) => c === 'rotate')).toHaveLength(1);
    expect(session.credential.current.credential).toBe('fpc_fake_credential_0001');
  });

  it('ends the session when the API rejects the credential', async () => {
    const { api, session, logs, start, end } = setup(testCredential({ credential: CREDENTIAL, issuedAt: Date.now() - 3000, expiresAt: Date.now() + 1000 }));
    api.revokeAll();
    start();
    await eventually(() => session.signal.aborted, { what: 'the session to end' });
    expect(session.outcome).toEqual({ kind: 'credential-rejected', code: 'CREDENTIAL_REVOKED' });
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', msg: 'the API rejected the credential during rotation; reporting stopped', code: 'CREDENTIAL_REVOKED' }));
    await end();
  });

  it('does not rotate a credential that is not due', async () => {
    const { api, start, end } = setup(testCredential({ credential: CREDENTIAL }));
    start();
    await new Promise((r) => setImmediate(r));
    await end();
    expect(api.calls).toEqual([]);
  });
});
