import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DesiredConstraint } from '../../protocol/desired-state';
import { desiredStateDir, loadDesiredState } from '../desired-state-store';
import { DesiredStateStatus } from '../desired-state-status';
import { FakeAgentApi } from '../testing/fakes';
import { capturedLog, FAST_BACKOFF, testCredential, testSession } from '../testing/loops';
import { DesiredStateLoop } from './desired-state-loop';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (text: string) => new Uint8Array(Buffer.from(text));

function constraint(name: string, bundleSha256: string): DesiredConstraint {
  return {
    assignmentId: '7a1e0000-0000-4000-8000-000000000001',
    name,
    kind: 'K8sDisallowedTags',
    bundleSha256,
    entrypoint: 'k8sdisallowedtags/violation',
    parameters: { tags: ['latest'] },
    enforcementAction: 'deny',
    match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], excludedNamespaces: ['kube-system'] },
  };
}

describe(DesiredStateLoop.name, () => {
  let dir: string;
  let api: FakeAgentApi;
  let status: DesiredStateStatus;
  let loop: DesiredStateLoop;
  let logs: Array<Record<string, unknown>>;
  const credential = testCredential({ credential: 'fpc_fake_credential_0001' });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'farpoint-desired-state-loop-'));
    api = new FakeAgentApi();
    api.credentials.set(credential.credential, { revoked: false });
    status = new DesiredStateStatus();
    const captured = capturedLog();
    logs = captured.logs;
    loop = new DesiredStateLoop({ api, stateDir: dir, status, log: captured.log, backoff: FAST_BACKOFF, intervalMs: 1 });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes a new state with its verified bundles, then asks with its generation and gets unchanged', async () => {
    const wasm = bytesOf('\0asm one');
    api.publish(3, { [sha(wasm)]: wasm }, [constraint('no-latest', sha(wasm))], { failurePolicy: 'Fail', timeoutSeconds: 7 });
    const { session } = testSession({ credential });

    expect(await loop.step(session)).toBe(3);
    const state = await loadDesiredState(dir);
    expect(state.generation).toBe(3);
    expect(state.constraints).toEqual([constraint('no-latest', sha(wasm))]);
    expect(state.admission).toEqual({ failurePolicy: 'Fail', timeoutSeconds: 7 });
    expect(state.bundles.get(sha(wasm))).toEqual(wasm);

    expect(await loop.step(session)).toBe(3);
    expect(api.calls).toEqual(['desired-state', 'bundle', 'desired-state']);
    expect(api.bundleRequests).toEqual([sha(wasm)]);
    // Admission has not applied it yet (the admission loop tells the status), and nothing failed.
    expect(status.report()).toEqual({});
  });

  it('downloads only the bundles it does not have on disk', async () => {
    const [one, two] = [bytesOf('\0asm one'), bytesOf('\0asm two')];
    const { session } = testSession({ credential });
    api.publish(1, { [sha(one)]: one }, [constraint('a', sha(one))]);
    await loop.step(session);
    api.publish(2, { [sha(one)]: one, [sha(two)]: two }, [constraint('a', sha(one)), constraint('b', sha(two))]);
    expect(await loop.step(session)).toBe(2);
    expect(api.bundleRequests).toEqual([sha(one), sha(two)]);
    expect((await loadDesiredState(dir)).constraints.map((c) => c.name)).toEqual(['a', 'b']);
  });

  it('refuses a whole state when one bundle arrives with other bytes than its hash, keeps the previous one on disk and reports why', async () => {
    const [good, next] = [bytesOf('\0asm good'), bytesOf('\0asm next')];
    const { session } = testSession({ credential });
    api.publish(1, { [sha(good)]: good }, [constraint('a', sha(good))]);
    await loop.step(session);
    const before = await readFile(join(desiredStateDir(dir), 'state.json'), 'utf8');

    api.publish(2, { [sha(good)]: good, [sha(next)]: next }, [constraint('a', sha(good)), constraint('b', sha(next))]);
    api.tamperedBundles.set(sha(next), bytesOf('\0asm evil'));
    expect(await loop.step(session)).toBe(1);
    expect(await readFile(join(desiredStateDir(dir), 'state.json'), 'utf8')).toBe(before);
    expect((await loadDesiredState(dir)).generation).toBe(1);
    expect(status.report().desiredStateError).toEqual({
      code: 'BUNDLE_HASH_MISMATCH',
      message: expect.stringContaining(`bundle ${sha(next)} arrived with SHA-256 ${sha(bytesOf('\0asm evil'))}`),
    });
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'desired state refused; the previous one keeps running', code: 'BUNDLE_HASH_MISMATCH', generation: 2, runningGeneration: 1 }),
    );

    // Fixed on the API side: the next poll writes it and the error is gone.
    api.tamperedBundles.clear();
    expect(await loop.step(session)).toBe(2);
    expect(status.report().desiredStateError).toBeNull();
  });

  it('ends the session when the API rejects the credential, and retries while the API is unreachable', async () => {
    const wasm = bytesOf('\0asm one');
    api.publish(1, { [sha(wasm)]: wasm }, [constraint('a', sha(wasm))]);
    api.offline = true;
    const { session, stop } = testSession({ credential });
    const running = loop.run(session);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'desired state not fetched; retrying' }));
    api.offline = false;
    api.revokeAll();
    await running;
    expect(session.outcome).toEqual({ kind: 'credential-rejected', code: 'CREDENTIAL_REVOKED' });
    stop();
    await expect(loadDesiredState(dir)).rejects.toMatchObject({ code: 'DESIRED_STATE_MISSING' });
  });
});

describe(DesiredStateStatus.name, () => {
  it('reports nothing before admission runs a state, then the generation it runs and the newest problem of either stage', () => {
    const status = new DesiredStateStatus();
    expect(status.report()).toEqual({});
    status.applied(4);
    expect(status.report()).toEqual({ desiredStateGeneration: 4, desiredStateError: null });
    status.fetchFailed({ code: 'BUNDLE_HASH_MISMATCH', message: 'bundle x' });
    status.applyFailed({ code: 'weird code', message: 'y'.repeat(5000) });
    expect(status.report()).toEqual({ desiredStateGeneration: 4, desiredStateError: { code: 'BUNDLE_HASH_MISMATCH', message: 'bundle x' } });
    status.fetched();
    const { desiredStateError } = status.report();
    expect(desiredStateError?.code).toBe('DESIRED_STATE_FAILED');
    expect(desiredStateError?.message.length).toBe(2000);
    status.applied(5);
    expect(status.report()).toEqual({ desiredStateGeneration: 5, desiredStateError: null });
  });
});
