import { AdmissionregistrationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateServingTls } from '../src/agent/admission/serving-tls';
import { desiredWebhooks, syncWebhookConfiguration } from '../src/agent/admission/webhook-configuration';
import { WebhookServer } from '../src/agent/admission/webhook-server';
import { createJsonLogger } from '../src/agent/logger';
import { AgentObjectNames } from '../src/agent-install/names';
import { eventually } from '../src/dev/eventually';
import { KubeHarness, locateTools } from '../src/dev/kube-harness';
import { findProjectRoot } from '../src/infra/database/migrator';
import { bundleSha256, PolicyEngine, reviewForObject, type ConstraintForEvaluation, type ParsedConstraintTemplate } from '../src/policy-engine';
import { createOpaCompiler } from '../src/policy-engine/verify.cli';
import { fiveContainerPod, twentyConstraints } from './policy-fixtures';
import { percentile } from './support';

/**
 * Admission at the edge, measured: the agent's webhook server (src/agent/admission) deciding over the
 * 20 recipe constraints of the engine benchmark, all DENY,
 *  - directly: AdmissionReview POSTs over one keep-alive HTTPS connection (what the webhook adds);
 *  - through a real kube-apiserver: pod creates with dryRun=All, with the webhook registered and,
 *    as the baseline in the same run, without it (the ratio is what admission costs a create).
 *
 *   npm run bench     or, after npm run build:   FARPOINT_TOOLS_BIN=… node dist/bench/admission-webhook.bench.js
 */
const DIRECT = Number(process.env.BENCH_WEBHOOK_DIRECT ?? 1000);
const THROUGH_APISERVER = Number(process.env.BENCH_WEBHOOK_APISERVER ?? 300);

interface Row {
  case: string;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

async function timed(label: string, samples: number, once: (i: number) => Promise<unknown>): Promise<Row> {
  for (let i = 0; i < Math.min(20, samples); i++) {
    await once(-1 - i); // warm-up: connections, JIT, the engine's first instantiation
  }
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    await once(i);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { case: label, requests: samples, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99), meanMs: ms.reduce((a, b) => a + b, 0) / ms.length };
}

function post(agent: Agent, port: number, ca: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', agent, ca, headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

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
  const constraints: ConstraintForEvaluation[] = await twentyConstraints(load);
  const work = await mkdtemp(join(tmpdir(), 'farpoint-bench-webhook-'));
  const log = createJsonLogger('error');
  const tls = await loadOrCreateServingTls(work, ['127.0.0.1']);
  let decisions = 0;
  const server = new WebhookServer({
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    log,
    policies: () => ({ constraints, evaluate: (r, c) => engine.evaluate(r, c) }),
    onDecision: () => decisions++,
  });
  const port = await server.listen(0, '127.0.0.1');
  const harness = await KubeHarness.start({ clusters: [{ name: 'bench-admission', profile: 'k3s-1node' }], tools });
  const rows: Row[] = [];
  try {
    // Directly: an AdmissionReview for the 5-container pod, which several recipes refuse.
    const pod = fiveContainerPod();
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...reviewForObject(pod), uid: 'bench' } };
    const body = JSON.stringify(review);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await post(agent, port, tls.caPem, body);
    const denied = (JSON.parse(first.text) as { response?: { allowed?: boolean } }).response?.allowed === false;
    rows.push(
      await timed(`direct: AdmissionReview over HTTPS keep-alive, ${constraints.length} constraints`, DIRECT, async () => {
        const res = await post(agent, port, tls.caPem, body);
        if (res.status !== 200) {
          throw new Error(`webhook answered ${res.status}: ${res.text}`);
        }
      }),
    );
    agent.destroy();

    // Through the apiserver: dryRun pod creates, first without the webhook (baseline), then with it.
    const cluster = harness.cluster('bench-admission');
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    // The harness's controllers may have made it already.
    await core.createNamespacedServiceAccount({ namespace: 'shop', body: { metadata: { name: 'default' } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) {
        throw e;
      }
    });
    const benchPod = (i: number): V1Pod => ({
      ...(structuredClone(pod) as V1Pod),
      metadata: { name: `bench-${i < 0 ? `warm${-i}` : i}`, namespace: 'shop', labels: { app: 'shop' } },
    });
    const create = (i: number) => core.createNamespacedPod({ namespace: 'shop', body: benchPod(i), dryRun: 'All' }).catch((e: unknown) => e);
    const baseline = await timed('through kube-apiserver: dryRun pod create, no webhook (baseline)', THROUGH_APISERVER, create);
    rows.push(baseline);

    const admission = cluster.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    await admission.createValidatingWebhookConfiguration({ body: { metadata: { name: AgentObjectNames.validatingWebhookConfiguration } } });
    await syncWebhookConfiguration(
      admission,
      AgentObjectNames.validatingWebhookConfiguration,
      desiredWebhooks(constraints, { endpoint: { url: `https://127.0.0.1:${port}/validate` }, caBundlePem: tls.caPem, failurePolicy: 'Fail', timeoutSeconds: 10 }),
    );
    // Until the apiserver's informer has the configuration, creates do not reach the webhook.
    const before = decisions;
    await eventually(
      async () => {
        await create(-100);
        return decisions > before;
      },
      { what: 'the apiserver calling the webhook' },
    );
    const withWebhook = await timed(`through kube-apiserver: dryRun pod create, webhook with ${constraints.length} constraints`, THROUGH_APISERVER, create);
    rows.push(withWebhook);

    const load1m = loadavg()[0];
    console.log(`\nAdmission webhook benchmark — ${cpus().length} CPUs, load average ${load1m.toFixed(2)}; the pod is ${denied ? 'denied' : 'admitted'} by the recipes\n`);
    console.table(rows.map((r) => ({ case: r.case, requests: r.requests, 'p50 ms': r.p50Ms.toFixed(3), 'p99 ms': r.p99Ms.toFixed(3), 'mean ms': r.meanMs.toFixed(3) })));
    const ratios = { apiserverP50WithWebhookVsBaseline: withWebhook.p50Ms / baseline.p50Ms, apiserverP99WithWebhookVsBaseline: withWebhook.p99Ms / baseline.p99Ms };
    const targets = { directP99Below5ms: rows[0].p99Ms < 5 };
    console.log(`ratios: ${JSON.stringify(ratios)}\ntargets: ${JSON.stringify(targets)}`);
    const out = join(findProjectRoot(), 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, 'admission-webhook.json'),
      JSON.stringify(
        { at: new Date().toISOString(), node: process.version, cpus: cpus().length, loadAverage1m: load1m, constraints: constraints.length, denied, rows, ratios, targets },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await server.close();
    await harness.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
