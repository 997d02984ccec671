import { EvaluationPool, isPolicyEngineError, PolicyEngineErrorCode, reviewForObject, type ConstraintForEvaluation } from '../../../src/policy-engine';
import { compileRego, type CompiledPolicy } from './support/opa';

// A loop without allocation: n² comparisons over numbers.range(1, n); n = 10⁶ runs for hours.
const RUNAWAY = `package farpoint.test.runaway
violation[{"msg": "unreachable"}] {
  r := numbers.range(1, input.parameters.n)
  some i, j
  r[i] == r[j]
  i > j
}`;
const LABELS = `package farpoint.test.labels
violation[{"msg": msg}] {
  missing := {l | l := input.parameters.labels[_]; not input.review.object.metadata.labels[l]}
  count(missing) > 0
  msg := sprintf("missing labels: %v", [missing])
}`;

const pod = reviewForObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', labels: { app: 'x' } }, spec: {} });
const constraint = (p: CompiledPolicy, name: string, parameters: Record<string, unknown>): ConstraintForEvaluation => ({
  name,
  kind: 'Test',
  bundleSha256: p.sha256,
  entrypoint: p.entrypoint,
  parameters,
  enforcementAction: 'deny',
});

describe(EvaluationPool.name, () => {
  let runaway: CompiledPolicy;
  let labels: CompiledPolicy;
  let pool: EvaluationPool;

  beforeAll(async () => {
    [runaway, labels] = await Promise.all([compileRego(RUNAWAY), compileRego(LABELS)]);
  }, 120_000);
  afterEach(() => pool?.close());

  it('evaluates in a worker thread with the engine', async () => {
    pool = new EvaluationPool({ size: 1, timeoutMs: 10_000 });
    const [result] = await pool.evaluate({ bundles: [labels], review: pod, constraints: [constraint(labels, 'need-owner', { labels: ['owner', 'app', 'team'] })] });
    expect(result).toEqual({ constraint: 'need-owner', kind: 'Test', enforcementAction: 'deny', matched: true, violations: [{ msg: 'missing labels: {"owner", "team"}' }] });
  });

  it('stops a runaway evaluation with POLICY_EVALUATION_TIMEOUT while the event loop keeps running, and replaces the worker', async () => {
    pool = new EvaluationPool({ size: 1, timeoutMs: 1_000 });
    // warm the worker up so the deadline covers the evaluation, not the thread's start-up
    await pool.evaluate({ bundles: [labels], review: pod, constraints: [constraint(labels, 'warm', { labels: [] })] });

    const events: string[] = [];
    const ticker = setInterval(() => events.push('tick'), 20);
    const outcome = pool.evaluate({ bundles: [runaway], review: pod, constraints: [constraint(runaway, 'runaway', { n: 1_000_000 })] }).then(
      () => 'resolved',
      (error: unknown) => (isPolicyEngineError(error, PolicyEngineErrorCode.POLICY_EVALUATION_TIMEOUT) ? 'timeout' : `other: ${String(error)}`),
    );
    const answered = await outcome;
    events.push(answered);
    clearInterval(ticker);

    expect(answered).toBe('timeout');
    // the main thread served its timer while the runaway ran: ticks came before the answer
    expect(events.indexOf('timeout')).toBeGreaterThan(3);
    expect(events.slice(0, events.indexOf('timeout')).every((e) => e === 'tick')).toBe(true);
    expect(pool.replacedWorkers).toBe(1);

    // the replacement worker answers the next decision (its bundles are sent again)
    const [after] = await pool.evaluate({ bundles: [labels, runaway], review: pod, constraints: [constraint(labels, 'after', { labels: ['owner'] })] });
    expect(after.violations).toEqual([{ msg: 'missing labels: {"owner"}' }]);
  }, 60_000);

  it('answers engine errors with their code', async () => {
    pool = new EvaluationPool({ size: 1, timeoutMs: 10_000 });
    const wrongHash = { sha256: 'a'.repeat(64), wasm: labels.wasm };
    await expect(pool.evaluate({ bundles: [wrongHash], review: pod, constraints: [] })).rejects.toMatchObject({ code: PolicyEngineErrorCode.BUNDLE_HASH_MISMATCH });
    await expect(pool.evaluate({ bundles: [], review: pod, constraints: [constraint(labels, 'not-sent', { labels: [] })] })).rejects.toMatchObject({
      code: PolicyEngineErrorCode.BUNDLE_NOT_LOADED,
    });
    expect(pool.replacedWorkers).toBe(0);
  });

  it('refuses work after close', async () => {
    pool = new EvaluationPool({ size: 1, timeoutMs: 1_000 });
    await pool.close();
    await expect(pool.evaluate({ bundles: [], review: pod, constraints: [] })).rejects.toMatchObject({ code: PolicyEngineErrorCode.POLICY_EVALUATION_FAILED });
  });
});
