import { inspectBundle, PolicyEngine, PolicyEngineErrorCode, reviewForObject, type ConstraintForEvaluation } from '../../../src/policy-engine';
import { compileRego, type CompiledPolicy } from './support/opa';

const REQUIRED = `package farpoint.test.required
violation[{"msg": msg, "details": {"missing": missing}}] {
  missing := {l | l := input.parameters.labels[_]; not input.review.object.metadata.labels[l]}
  count(missing) > 0
  msg := sprintf("%s is missing labels %v", [input.review.object.metadata.name, missing])
}`;
const HTTP = `package farpoint.test.http
violation[{"msg": "remote says no"}] {
  http.send({"method": "GET", "url": "http://example.com"}).status_code != 200
}`;
const NO_MSG = `package farpoint.test.nomsg
violation[{"message": "wrong key"}] { true }`;
// Builds a set of n strings: with a small memory limit the policy runs out of memory.
const HUNGRY = `package farpoint.test.hungry
import future.keywords.in
violation[{"msg": sprintf("%d", [count(s)])}] {
  s := {sprintf("item-%d", [i]) | some i in numbers.range(1, input.parameters.n)}
}`;
const INVENTORY = `package farpoint.test.inventory
violation[{"msg": sprintf("%d ingresses known", [count(hosts)])}] {
  hosts := [h | h := data.inventory.namespace[_][_]["Ingress"][_].spec.rules[_].host]
}`;

const pod = (labels: Record<string, string> = {}) => reviewForObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', labels }, spec: {} });
const use = (p: CompiledPolicy, name: string, parameters: Record<string, unknown> = {}, extra: Partial<ConstraintForEvaluation> = {}): ConstraintForEvaluation => ({
  name,
  kind: 'Test',
  bundleSha256: p.sha256,
  entrypoint: p.entrypoint,
  parameters,
  enforcementAction: 'deny',
  ...extra,
});

describe('PolicyEngine with bundles built by opa', () => {
  const policies: Record<string, CompiledPolicy> = {};

  beforeAll(async () => {
    const sources = { REQUIRED, HTTP, NO_MSG, HUNGRY, INVENTORY };
    for (const [name, rego] of Object.entries(sources)) {
      policies[name] = await compileRego(rego);
    }
  }, 180_000);

  it('compiles and instantiates a bundle once: many decisions reuse it, the review is read once for 20 constraints', async () => {
    const engine = new PolicyEngine();
    await engine.load(policies.REQUIRED.sha256, policies.REQUIRED.wasm);
    await engine.load(policies.REQUIRED.sha256, policies.REQUIRED.wasm); // idempotent
    const constraints = Array.from({ length: 20 }, (_, i) => use(policies.REQUIRED, `c${i}`, { labels: ['owner', `l${i % 3}`] }));
    let serialized = 0;
    for (let d = 0; d < 50; d++) {
      const review = pod({ owner: 'me', l0: 'x' });
      const metadata = review.object!.metadata as Record<string, unknown>;
      // JSON.stringify calls toJSON: counts how often the review is serialized
      Object.defineProperty(metadata, 'toJSON', { enumerable: false, value: () => (serialized++, { ...metadata }) });
      const results = engine.evaluate(review, constraints);
      expect(results).toHaveLength(20);
      expect(results[0]).toEqual({ constraint: 'c0', kind: 'Test', enforcementAction: 'deny', matched: true, violations: [] });
      expect(results[1].violations).toEqual([{ msg: 'web is missing labels {"l1"}', details: { missing: ['l1'] } }]);
    }
    expect(serialized).toBe(50);
    expect(engine.stats()).toEqual({ loaded: 1, modulesCompiled: 1, instancesCreated: 1, dataLoads: 1, evaluations: 1000 });
  });

  it('applies match before evaluating and reports the constraint as not matched', async () => {
    const engine = new PolicyEngine();
    await engine.load(policies.REQUIRED.sha256, policies.REQUIRED.wasm);
    const results = engine.evaluate(
      pod(),
      [
        use(policies.REQUIRED, 'only-deployments', { labels: ['owner'] }, { match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'] }] } }),
        use(policies.REQUIRED, 'prod-namespaces', { labels: ['owner'] }, { match: { namespaceSelector: { matchLabels: { env: 'prod' } } }, enforcementAction: 'warn' }),
      ],
      { namespaceObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { env: 'prod' } } } },
    );
    expect(results.map((r) => [r.constraint, r.matched, r.enforcementAction, r.violations.length])).toEqual([
      ['only-deployments', false, 'deny', 0],
      ['prod-namespaces', true, 'warn', 1],
    ]);
    expect(engine.stats().evaluations).toBe(1);
  });

  it('refuses a bundle that needs a builtin the engine does not provide, naming it', async () => {
    await expect(inspectBundle(policies.HTTP.wasm)).resolves.toMatchObject({
      hostBuiltins: ['http.send'],
      unsupportedBuiltins: ['http.send'],
      entrypoints: [policies.HTTP.entrypoint],
    });
    await expect(new PolicyEngine().load(policies.HTTP.sha256, policies.HTTP.wasm)).rejects.toMatchObject({
      code: PolicyEngineErrorCode.BUILTIN_UNSUPPORTED,
      details: { builtins: ['http.send'] },
    });
    await expect(inspectBundle(policies.REQUIRED.wasm)).resolves.toMatchObject({ hostBuiltins: ['sprintf'], unsupportedBuiltins: [] });
  });

  it('fails a decision whose violation has no msg, naming the constraint', async () => {
    const engine = new PolicyEngine();
    await engine.load(policies.NO_MSG.sha256, policies.NO_MSG.wasm);
    expect(() => engine.evaluate(pod(), [use(policies.NO_MSG, 'broken')])).toThrow(
      expect.objectContaining({ code: PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, details: { constraint: 'broken' } }),
    );
  });

  it('refuses an entrypoint the bundle does not have', async () => {
    const engine = new PolicyEngine();
    await engine.load(policies.REQUIRED.sha256, policies.REQUIRED.wasm);
    expect(() => engine.evaluate(pod(), [{ ...use(policies.REQUIRED, 'c'), entrypoint: 'other/violation' }])).toThrow(
      expect.objectContaining({ code: PolicyEngineErrorCode.BUNDLE_INVALID }),
    );
  });

  it('fails an evaluation that exceeds the memory limit, then evaluates again on a fresh instance', async () => {
    const engine = new PolicyEngine({ maxMemoryBytes: 8 * 1024 * 1024 });
    await engine.load(policies.HUNGRY.sha256, policies.HUNGRY.wasm);
    expect(engine.evaluate(pod(), [use(policies.HUNGRY, 'small', { n: 10 })])[0].violations).toEqual([{ msg: '10' }]);
    expect(() => engine.evaluate(pod(), [use(policies.HUNGRY, 'big', { n: 2_000_000 })])).toThrow(
      expect.objectContaining({ code: PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, details: expect.objectContaining({ constraint: 'big' }) }),
    );
    expect(engine.evaluate(pod(), [use(policies.HUNGRY, 'small', { n: 10 })])[0].violations).toEqual([{ msg: '10' }]);
    expect(engine.stats().instancesCreated).toBe(2);
  });

  it('loads data.inventory into a policy once per inventory object', async () => {
    const engine = new PolicyEngine();
    await engine.load(policies.INVENTORY.sha256, policies.INVENTORY.wasm);
    const ingress = (host: string) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: host, namespace: 'a' }, spec: { rules: [{ host }] } });
    const inventory = { namespace: { a: { 'networking.k8s.io/v1': { Ingress: { x: ingress('x'), y: ingress('y') } } } } };
    const c = use(policies.INVENTORY, 'hosts');
    expect(engine.evaluate(pod(), [c])[0].violations).toEqual([{ msg: '0 ingresses known' }]);
    for (let i = 0; i < 5; i++) {
      expect(engine.evaluate(pod(), [c], { inventory })[0].violations).toEqual([{ msg: '2 ingresses known' }]);
    }
    expect(engine.stats().dataLoads).toBe(2);
  });

  it('keeps at most maxPolicies bundles, dropping the least recently used', async () => {
    const engine = new PolicyEngine({ maxPolicies: 2 });
    await engine.load(policies.REQUIRED.sha256, policies.REQUIRED.wasm);
    await engine.load(policies.NO_MSG.sha256, policies.NO_MSG.wasm);
    engine.evaluate(pod({ owner: 'x' }), [use(policies.REQUIRED, 'touch', { labels: ['owner'] })]);
    await engine.load(policies.INVENTORY.sha256, policies.INVENTORY.wasm);
    expect([engine.has(policies.REQUIRED.sha256), engine.has(policies.NO_MSG.sha256), engine.has(policies.INVENTORY.sha256)]).toEqual([true, false, true]);
  });
});
