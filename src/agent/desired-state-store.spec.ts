import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDesiredState, writeDesiredState, type DesiredStateFile } from './desired-state-store';

const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
const sha = createHash('sha256').update(wasm).digest('hex');
const file: DesiredStateFile = {
  generation: 4,
  bundles: [sha],
  constraints: [{ name: 'no-latest', kind: 'K8sNoLatestTag', bundleSha256: sha, entrypoint: 'k8snolatesttag/violation', parameters: {}, enforcementAction: 'deny' }],
};

describe('desired state on disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'farpoint-desired-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads back what was written, bundles verified', async () => {
    await writeDesiredState(dir, file, new Map([[sha, wasm]]));
    const state = await loadDesiredState(dir);
    expect(state.generation).toBe(4);
    expect(state.constraints).toEqual(file.constraints);
    expect([...state.bundles.get(sha)!]).toEqual([...wasm]);
  });

  it('refuses a missing state, bad JSON, a bad shape and a constraint whose bundle is not listed', async () => {
    await expect(loadDesiredState(dir)).rejects.toThrow(/^DESIRED_STATE_MISSING: no desired state at /);
    await writeDesiredState(dir, file, new Map([[sha, wasm]]));
    await writeFile(join(dir, 'desired-state', 'state.json'), '{');
    await expect(loadDesiredState(dir)).rejects.toThrow(/^DESIRED_STATE_INVALID: state.json is not JSON/);
    await writeFile(join(dir, 'desired-state', 'state.json'), JSON.stringify({ ...file, generation: -1 }));
    await expect(loadDesiredState(dir)).rejects.toThrow(/^DESIRED_STATE_INVALID: state.json at generation: /);
    await writeFile(join(dir, 'desired-state', 'state.json'), JSON.stringify({ ...file, constraints: [{ ...file.constraints[0], enforcementAction: 'block' }] }));
    await expect(loadDesiredState(dir)).rejects.toThrow(/^DESIRED_STATE_INVALID: state.json at constraints.0.enforcementAction: /);
    await writeFile(join(dir, 'desired-state', 'state.json'), JSON.stringify({ ...file, bundles: [] }));
    await expect(loadDesiredState(dir)).rejects.toThrow(`DESIRED_STATE_INVALID: constraint no-latest uses bundle ${sha}, which the state does not list`);
  });

  it('refuses a missing bundle and a tampered one', async () => {
    await writeDesiredState(dir, file, new Map([[sha, wasm]]));
    await writeFile(join(dir, 'desired-state', 'bundles', `${sha}.wasm`), new Uint8Array([...wasm, 0]));
    await expect(loadDesiredState(dir)).rejects.toThrow(new RegExp(`^BUNDLE_HASH_MISMATCH: bundle file ${sha}.wasm has SHA-256 [0-9a-f]{64}$`));
    await rm(join(dir, 'desired-state', 'bundles', `${sha}.wasm`));
    await expect(loadDesiredState(dir)).rejects.toThrow(`BUNDLE_MISSING: bundle ${sha} is not in`);
    await expect(writeDesiredState(dir, file, new Map())).rejects.toThrow(`BUNDLE_MISSING: no wasm given for bundle ${sha}`);
  });
});
