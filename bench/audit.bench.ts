import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { AuditLoop } from '../src/agent/audit/audit-loop';
import { KubernetesAuditKube } from '../src/agent/audit/audit-kube';
import { createJsonLogger } from '../src/agent/logger';
import { KubeHarness, locateTools } from '../src/dev/kube-harness';
import { findProjectRoot } from '../src/infra/database/migrator';
import { bundleSha256, PolicyEngine, type ParsedConstraintTemplate } from '../src/policy-engine';
import { createOpaCompiler } from '../src/policy-engine/verify.cli';
import { fiveContainerPod, twentyConstraints } from './policy-fixtures';
import { percentile } from './support';

/**
 * The agent's audit of existing objects, as it runs at the edge: BENCH_AUDIT_OBJECTS Pods (the
 * 5-container pod of the engine bench, in 10 namespaces) in a real kube-apiserver, listed in pages by
 * the agent's KubernetesAuditKube and evaluated by the real engine against the 20 recipe constraints,
 * chunked as in production. BENCH_AUDIT_RUNS audits; the table shows the wall time of one audit.
 *
 *   npm run bench    or, after npm run build:   FARPOINT_TOOLS_BIN=… node dist/bench/audit.bench.js
 */
const OBJECTS = Number(process.env.BENCH_AUDIT_OBJECTS ?? 1000);
const RUNS = Number(process.env.BENCH_AUDIT_RUNS ?? 5);
const NAMESPACES = 10;

async function main(): Promise<void> {
  const tools = await locateTools();
  const compile = createOpaCompiler({ opaPath: tools.opa });
  const engine = new PolicyEngine();
  const load = async (template: ParsedConstraintTemplate) => {
    const { wasm } = await compile(template);
    const sha = bundleSha256(wasm);
    await engine.load(sha, wasm);
    return sha;
  };
  const constraints = (await twentyConstraints(load)).map((c, i) => ({ ...c, assignmentId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }));
  const harness = await KubeHarness.start({ clusters: [{ name: 'bench-audit', profile: 'k3s-1node' }], tools, controllers: false });
  try {
    const cluster = harness.cluster('bench-audit');
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const template = fiveContainerPod() as unknown as V1Pod;
    for (let n = 0; n < NAMESPACES; n++) {
      await core.createNamespace({ body: { metadata: { name: `shop-${n}` } } });
      await core.createNamespacedServiceAccount({ namespace: `shop-${n}`, body: { metadata: { name: 'default' } } });
    }
    // Created 20 at a time: setup, not measured.
    for (let i = 0; i < OBJECTS; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, OBJECTS - i) }, (_, j) => {
          const namespace = `shop-${(i + j) % NAMESPACES}`;
          return core.createNamespacedPod({ namespace, body: { ...structuredClone(template), metadata: { name: `web-${i + j}`, namespace, labels: { app: 'shop' } } } });
        }),
      );
    }
    const results: { violations: number }[] = [];
    const loop = new AuditLoop({
      kube: new KubernetesAuditKube(cluster.kubeConfig),
      policies: () => ({ generation: 1, constraints, evaluate: (r, c, o) => engine.evaluate(r, c, o) }),
      sink: { enqueue: (_kind, payload) => results.push({ violations: payload.totalViolations }) },
      log: createJsonLogger('error'),
      backoff: { initialMs: 100, maxMs: 1000 },
      intervalMs: 60_000,
      minGapMs: 0,
      // Every audit reports, so each run does the whole work.
      resendMs: 0,
      now: Date.now,
    });
    const ms: number[] = [];
    for (let r = 0; r <= RUNS; r++) {
      results.length = 0;
      const t0 = process.hrtime.bigint();
      await loop.audit();
      const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r > 0) {
        ms.push(elapsed); // the first run warms discovery and the engine
      }
    }
    const violations = results.reduce((n, r) => n + r.violations, 0);
    const rss = Math.round(process.memoryUsage().rss / 1024 / 1024);
    const load1m = loadavg()[0];
    const row = {
      objects: OBJECTS,
      constraints: constraints.length,
      runs: ms.length,
      'median ms': Math.round(percentile(ms, 50)),
      'max ms': Math.round(Math.max(...ms)),
      violations,
      'bench process RSS MiB': rss,
    };
    console.log(`\nAudit benchmark — ${cpus().length} CPUs, load average ${load1m.toFixed(2)}\n`);
    console.table([row]);
    const out = join(findProjectRoot(), 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'audit.json'), JSON.stringify({ at: new Date().toISOString(), cpus: cpus().length, loadAverage1m: load1m, ms, ...row }, null, 2) + '\n');
  } finally {
    await harness.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
