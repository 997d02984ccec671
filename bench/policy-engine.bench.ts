import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { locateTools } from '../src/dev/kube-harness';
import { findProjectRoot } from '../src/infra/database/migrator';
import {
  bundleSha256,
  EvaluationPool,
  PolicyEngine,
  reviewForObject,
  type AdmissionReviewRequest,
  type ConstraintForEvaluation,
  type ParsedConstraintTemplate,
} from '../src/policy-engine';
import { createOpaCompiler } from '../src/policy-engine/verify.cli';
import { constraintFor, fiveContainerPod, readYaml, recipe, twentyConstraints } from './policy-fixtures';
import { percentile } from './support';

/**
 * Policy engine decisions against opa itself, in the same run on the same policy and input:
 *  - the engine (src/policy-engine: match, input built from a review serialized once, wasm, results);
 *  - the plain @open-policy-agent/opa-wasm SDK on the same wasm (reference: what "for free" means);
 *  - `opa bench` (Go, prepared query; ns/op = its throughput, plus its p50/p99 histogram);
 *  - `opa eval` timed: a process per decision (wall) and its own query-eval metric.
 * For two recipes from policies/ (required labels over a Namespace; Pod Security restricted over a pod
 * with 5 containers), then one admission decision over 20 constraints (every recipe of policies/ plus
 * more constraints of the same templates) and the EvaluationPool round trip (worker thread) for the
 * Pod Security decision. Each engine sample is one decision, timed with hrtime.
 *
 *   npm run bench     or, after npm run build:   FARPOINT_TOOLS_BIN=… node dist/bench/policy-engine.bench.js
 */
const DECISIONS = Number(process.env.BENCH_POLICY_DECISIONS ?? 20_000);
const OPA_EVAL_RUNS = Number(process.env.BENCH_OPA_EVAL_RUNS ?? 10);
const run = promisify(execFile);
const ROOT = findProjectRoot();

interface Scenario {
  name: string;
  template: ParsedConstraintTemplate;
  constraint: ConstraintForEvaluation;
  review: AdmissionReviewRequest;
}

interface Row {
  case: string;
  decisionsPerSecond: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  violations?: number;
}

const us = (ns: number) => ns / 1000;

/** One timed loop: per-sample hrtime; decisions/s over the whole loop. */
function measure(samples: number, once: () => unknown): Omit<Row, 'case'> {
  const warm = Math.min(2000, Math.ceil(samples / 5));
  for (let i = 0; i < warm; i++) {
    once();
  }
  const times = new Float64Array(samples);
  const start = process.hrtime.bigint();
  for (let i = 0; i < samples; i++) {
    const t = process.hrtime.bigint();
    once();
    times[i] = Number(process.hrtime.bigint() - t);
  }
  const total = Number(process.hrtime.bigint() - start);
  const list = Array.from(times);
  return { decisionsPerSecond: (samples / total) * 1e9, p50Us: us(percentile(list, 50)), p99Us: us(percentile(list, 99)), meanUs: us(total / samples) };
}

async function measureAsync(samples: number, once: () => Promise<unknown>): Promise<Omit<Row, 'case'>> {
  for (let i = 0; i < Math.min(500, samples / 5); i++) {
    await once();
  }
  const list: number[] = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < samples; i++) {
    const t = process.hrtime.bigint();
    await once();
    list.push(Number(process.hrtime.bigint() - t));
  }
  const total = Number(process.hrtime.bigint() - start);
  return { decisionsPerSecond: (samples / total) * 1e9, p50Us: us(percentile(list, 50)), p99Us: us(percentile(list, 99)), meanUs: us(total / samples) };
}

async function opaBench(opa: string, dir: string, query: string, flags: string[]): Promise<Row & { nsPerOp: number }> {
  const { stdout } = await run(opa, ['bench', ...flags, '--format', 'json', '-d', join(dir, 'policy'), '-d', join(dir, 'data.json'), '-i', join(dir, 'input.json'), query], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const out = JSON.parse(stdout) as { N: number; T: number; Extra: Record<string, number> };
  const nsPerOp = out.T / out.N;
  return {
    case: '',
    nsPerOp,
    decisionsPerSecond: 1e9 / nsPerOp,
    p50Us: us(out.Extra['histogram_timer_rego_query_eval_ns_median']),
    p99Us: us(out.Extra['histogram_timer_rego_query_eval_ns_99%']),
    meanUs: us(nsPerOp),
  };
}

async function opaEval(opa: string, dir: string, query: string, flags: string[]): Promise<{ wall: Row; evalOnly: Row; violations: { msg: string }[] }> {
  const wall: number[] = [];
  const evalNs: number[] = [];
  let violations: { msg: string }[] = [];
  for (let i = 0; i < OPA_EVAL_RUNS; i++) {
    const t = process.hrtime.bigint();
    const { stdout } = await run(
      opa,
      ['eval', ...flags, '--metrics', '--format', 'json', '-d', join(dir, 'policy'), '-d', join(dir, 'data.json'), '-i', join(dir, 'input.json'), query],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    wall.push(Number(process.hrtime.bigint() - t));
    const out = JSON.parse(stdout) as { result?: { expressions: { value: { msg: string }[] }[] }[]; metrics: Record<string, number> };
    evalNs.push(out.metrics.timer_rego_query_eval_ns);
    violations = out.result?.[0]?.expressions[0]?.value ?? [];
  }
  const row = (list: number[]): Row => ({
    case: '',
    decisionsPerSecond: 1e9 / (list.reduce((a, b) => a + b, 0) / list.length),
    p50Us: us(percentile(list, 50)),
    p99Us: us(percentile(list, 99)),
    meanUs: us(list.reduce((a, b) => a + b, 0) / list.length),
  });
  return { wall: row(wall), evalOnly: row(evalNs), violations };
}

async function main(): Promise<void> {
  const tools = await locateTools();
  const compile = createOpaCompiler({ opaPath: tools.opa });
  const labels = recipe('required-labels');
  const pss = recipe('pod-security-restricted');
  if (!labels || !pss) {
    throw new Error('policies/required-labels and policies/pod-security-restricted (the recipe library) are needed');
  }
  const missing =
    (labels.suite.tests as { cases: { name: string; object: string }[] }[])[0].cases.find((c) => c.name.includes('missing')) ??
    (labels.suite.tests as { cases: { object: string }[] }[])[0].cases[1];
  const namespaceObject = readYaml(join(ROOT, 'policies', 'required-labels', missing.object));

  const engine = new PolicyEngine();
  const wasmBySha = new Map<string, Uint8Array>();
  const load = async (template: ParsedConstraintTemplate) => {
    const { wasm } = await compile(template);
    const sha = bundleSha256(wasm);
    await engine.load(sha, wasm);
    wasmBySha.set(sha, wasm);
    return sha;
  };
  const scenarios: Scenario[] = [];
  for (const [name, r, object] of [
    ['required labels (Namespace)', labels, namespaceObject],
    ['Pod Security restricted (pod, 5 containers)', pss, fiveContainerPod()],
  ] as const) {
    const sha = await load(r.template);
    scenarios.push({ name, template: r.template, constraint: constraintFor(r.constraint.name, sha, r.template, r.constraint), review: reviewForObject(object) });
  }

  const rows: (Row & { scenario: string; engine: string })[] = [];
  const ratios: Record<string, { vsOpaBenchThroughput: number; vsSdkThroughput: number; sameMessagesAsOpaEval: boolean }> = {};
  const work = await mkdtemp(join(tmpdir(), 'farpoint-bench-policy-'));
  try {
    for (const s of scenarios) {
      const dir = join(work, s.template.name);
      mkdirSync(join(dir, 'policy'), { recursive: true });
      await writeFile(join(dir, 'policy', 'template.rego'), s.template.rego);
      await Promise.all(s.template.libs.map((lib, i) => writeFile(join(dir, 'policy', `lib${i}.rego`), lib)));
      await writeFile(join(dir, 'input.json'), JSON.stringify({ parameters: s.constraint.parameters, review: s.review }));
      await writeFile(join(dir, 'data.json'), JSON.stringify({ inventory: {} }));
      const query = `data.${s.template.package}.violation`;
      const flags = s.template.regoVersion === 'v0' ? ['--v0-compatible'] : [];

      const [result] = engine.evaluate(s.review, [s.constraint]);
      const e = measure(DECISIONS, () => engine.evaluate(s.review, [s.constraint]));
      rows.push({ scenario: s.name, engine: 'Farpoint engine', case: `${s.name}: engine`, ...e, violations: result.violations.length });

      const sdk = await loadPolicy(wasmBySha.get(s.constraint.bundleSha256)!);
      sdk.setData({ inventory: {} });
      const sdkInput = { parameters: s.constraint.parameters, review: s.review };
      const sdkRow = measure(DECISIONS, () => sdk.evaluate(sdkInput, s.constraint.entrypoint));
      rows.push({ scenario: s.name, engine: 'opa-wasm SDK (reference)', case: `${s.name}: plain SDK`, ...sdkRow });

      const bench = await opaBench(tools.opa, dir, query, flags);
      rows.push({ ...bench, scenario: s.name, engine: 'opa bench', case: `${s.name}: opa bench` });
      const evaluated = await opaEval(tools.opa, dir, query, flags);
      rows.push({ ...evaluated.wall, scenario: s.name, engine: 'opa eval (process, wall)', case: `${s.name}: opa eval wall` });
      rows.push({ ...evaluated.evalOnly, scenario: s.name, engine: 'opa eval (query eval metric)', case: `${s.name}: opa eval metric` });
      const same = JSON.stringify(result.violations.map((v) => v.msg).sort()) === JSON.stringify(evaluated.violations.map((v) => v.msg).sort());
      ratios[s.name] = {
        vsOpaBenchThroughput: e.decisionsPerSecond / bench.decisionsPerSecond,
        vsSdkThroughput: e.decisionsPerSecond / sdkRow.decisionsPerSecond,
        sameMessagesAsOpaEval: same,
      };
    }

    // One admission decision over 20 constraints: every recipe with its suite's constraint, then more
    // constraints of the pod recipes with other parameters, all against the 5-container pod.
    // First without match, so that all 20 policies evaluate (the target's case), then with the recipes'
    // own match, as an admission would (some recipes are for Services, Ingresses, Namespaces).
    const withMatch = await twentyConstraints(load);
    const allEvaluated = withMatch.map(({ match: _match, ...c }) => c);
    const pod = reviewForObject(fiveContainerPod());
    const bundleCount = new Set(withMatch.map((c) => c.bundleSha256)).size;
    let twenty: Omit<Row, 'case'> | undefined;
    for (const [label, constraints] of [
      [`admission over ${allEvaluated.length} constraints, all evaluated (${bundleCount} bundles)`, allEvaluated],
      [`admission over ${withMatch.length} constraints with their match`, withMatch],
    ] as const) {
      const measured = measure(Math.ceil(DECISIONS / 5), () => engine.evaluate(pod, constraints));
      twenty ??= measured;
      const results = engine.evaluate(pod, constraints);
      rows.push({
        scenario: `${label}: ${results.filter((r) => r.matched).length} evaluated`,
        engine: 'Farpoint engine',
        case: label,
        ...measured,
        violations: results.reduce((n, r) => n + r.violations.length, 0),
      });
    }

    // The API path: the same Pod Security decision through the EvaluationPool (worker thread round trip).
    const pool = new EvaluationPool({ size: 1, timeoutMs: 10_000 });
    const s = scenarios[1];
    const bundles = [{ sha256: s.constraint.bundleSha256, wasm: wasmBySha.get(s.constraint.bundleSha256)! }];
    const pooled = await measureAsync(Math.ceil(DECISIONS / 10), () => pool.evaluate({ bundles, review: s.review, constraints: [s.constraint] }));
    await pool.close();
    rows.push({ scenario: s.name, engine: 'EvaluationPool (worker round trip)', case: `${s.name}: pool`, ...pooled });

    const load1m = loadavg()[0];
    console.log(
      `\nPolicy engine benchmark — ${DECISIONS} decisions per engine row, opa eval ${OPA_EVAL_RUNS} processes (µs per decision); ${cpus().length} CPUs, load average ${load1m.toFixed(2)}\n`,
    );
    console.table(
      rows.map((r) => ({
        scenario: r.scenario,
        engine: r.engine,
        'decisions/s': Math.round(r.decisionsPerSecond),
        'p50 µs': r.p50Us.toFixed(1),
        'p99 µs': r.p99Us.toFixed(1),
        'mean µs': r.meanUs.toFixed(1),
        ...(r.violations !== undefined ? { violations: r.violations } : {}),
      })),
    );
    for (const [name, r] of Object.entries(ratios)) {
      console.log(
        `${name}: engine ${r.vsOpaBenchThroughput.toFixed(2)}x opa bench throughput, ${r.vsSdkThroughput.toFixed(2)}x the plain SDK; same messages as opa eval: ${r.sameMessagesAsOpaEval ? 'yes' : 'NO'}`,
      );
    }
    const pssEngine = rows.find((r) => r.case.endsWith(': engine') && r.scenario.startsWith('Pod Security'))!;
    const targets = {
      pssThroughputAtLeast2xOpaBench: ratios[scenarios[1].name].vsOpaBenchThroughput >= 2,
      pssP99Below200us: pssEngine.p99Us < 200,
      twentyPoliciesP99Below2ms: twenty!.p99Us < 2000,
    };
    console.log(`targets: ${JSON.stringify(targets)}`);
    const out = join(ROOT, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, 'policy-engine.json'),
      JSON.stringify(
        {
          at: new Date().toISOString(),
          decisions: DECISIONS,
          opaEvalRuns: OPA_EVAL_RUNS,
          node: process.version,
          cpus: cpus().length,
          loadAverage1m: load1m,
          rows,
          ratios,
          targets,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
