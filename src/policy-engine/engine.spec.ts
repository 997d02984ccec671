import { bundleSha256, inspectBundle, PolicyEngine } from './engine';
import { PolicyEngineErrorCode } from './errors';
import { reviewForObject } from './kubernetes';

// Bundles that opa builds are evaluated in test/integration/policy-engine (real opa); these are the
// refusals that need no policy.
const EMPTY_WASM_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
const review = reviewForObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' } });

describe(PolicyEngine.name, () => {
  it('refuses bytes whose sha256 is not the announced one, and keeps nothing', async () => {
    const engine = new PolicyEngine();
    const other = bundleSha256(new Uint8Array([1, 2, 3]));
    await expect(engine.load(other, EMPTY_WASM_MODULE)).rejects.toMatchObject({ code: PolicyEngineErrorCode.BUNDLE_HASH_MISMATCH });
    expect(engine.has(other)).toBe(false);
  });

  it('refuses a sha256 that is not lowercase hex', async () => {
    await expect(new PolicyEngine().load('ABC', EMPTY_WASM_MODULE)).rejects.toMatchObject({ code: PolicyEngineErrorCode.BUNDLE_HASH_MISMATCH });
    await expect(new PolicyEngine().load(bundleSha256(EMPTY_WASM_MODULE).toUpperCase(), EMPTY_WASM_MODULE)).rejects.toMatchObject({
      code: PolicyEngineErrorCode.BUNDLE_HASH_MISMATCH,
    });
  });

  it('refuses bytes that are not WebAssembly, and WebAssembly that is not an OPA policy', async () => {
    const notWasm = new TextEncoder().encode('package x');
    await expect(new PolicyEngine().load(bundleSha256(notWasm), notWasm)).rejects.toMatchObject({ code: PolicyEngineErrorCode.BUNDLE_INVALID });
    await expect(new PolicyEngine().load(bundleSha256(EMPTY_WASM_MODULE), EMPTY_WASM_MODULE)).rejects.toMatchObject({
      code: PolicyEngineErrorCode.BUNDLE_INVALID,
      message: expect.stringContaining('opa_eval'),
    });
    await expect(inspectBundle(notWasm)).rejects.toMatchObject({ code: PolicyEngineErrorCode.BUNDLE_INVALID });
  });

  it('answers BUNDLE_NOT_LOADED for a constraint whose bundle it does not have', () => {
    const engine = new PolicyEngine();
    expect(() => engine.evaluate(review, [{ name: 'c', kind: 'K', bundleSha256: 'f'.repeat(64), entrypoint: 'x/violation', parameters: {}, enforcementAction: 'deny' }])).toThrow(
      expect.objectContaining({ code: PolicyEngineErrorCode.BUNDLE_NOT_LOADED }),
    );
  });

  it('does not need the bundle of a constraint that does not match', () => {
    const engine = new PolicyEngine();
    const [result] = engine.evaluate(review, [
      { name: 'c', kind: 'K', bundleSha256: 'f'.repeat(64), entrypoint: 'x/violation', parameters: {}, match: { namespaces: ['b'] }, enforcementAction: 'warn' },
    ]);
    expect(result).toEqual({ constraint: 'c', kind: 'K', enforcementAction: 'warn', matched: false, violations: [] });
  });
});
