import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PolicyEngineErrorCode, runSuite } from '../../../src/policy-engine';
import { createOpaCompiler } from '../../../src/policy-engine/verify.cli';
import { compileSources, type CompiledSources } from '../attach/support/build';
import { compileRego, opaPath } from './support/opa';

const run = promisify(execFile);
const FIXTURES = join(__dirname, 'fixtures');

describe('gator verify suites through the engine', () => {
  let compile: ReturnType<typeof createOpaCompiler>;
  beforeAll(async () => {
    compile = createOpaCompiler({ opaPath: await opaPath() });
  });

  it('runs a suite: objects, AdmissionReviews, inventory, messages, invalid constraints, skips', async () => {
    const report = await runSuite(join(FIXTURES, 'good', 'suite.yaml'), compile);
    const outcome = report.tests.map((t) => [t.name, t.passed, t.cases.map((c) => `${c.name}:${c.skipped ? 'skipped' : c.passed ? 'ok' : c.problems.join(' / ')}`)]);
    expect(outcome).toEqual([
      ['required-labels', true, ['labelled-pod-passes:ok', 'unlabelled-pod-fails:ok', 'kube-namespaces-excluded:ok', 'admission-review-update:ok', 'skipped-case:skipped']],
      ['parameters-must-fit-the-schema', true, []],
      ['unique-ingress-host', true, ['duplicate-host:ok', 'no-inventory-no-conflict:ok']],
    ]);
    expect(report.passed).toBe(true);
    expect(report.tests[0].cases[1].violations).toEqual([{ msg: 'Pod bare is missing labels: {"owner", "team"}', details: { missing: ['owner', 'team'] } }]);
  }, 120_000);

  it('fails a deliberately broken suite, naming the cases and why', async () => {
    const report = await runSuite(join(FIXTURES, 'broken', 'suite.yaml'), compile);
    expect(report.passed).toBe(false);
    const cases = report.tests[0].cases;
    expect(cases.map((c) => [c.name, c.passed])).toEqual([
      ['still-passes', true],
      ['wrongly-expects-no-violation', false],
      ['wrong-message', false],
    ]);
    expect(cases[1].problems).toEqual(['got 1 violations but want none: got messages ["Pod bare is missing labels: {\\"owner\\", \\"team\\"}"]']);
    expect(cases[2].problems[0]).toMatch(/^got 0 violations containing "missing annotations" but want at least 1/);
  }, 120_000);

  it('reports a template that does not compile on each of its cases', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'farpoint-suite-'));
    try {
      await writeFile(
        join(dir, 'template.yaml'),
        `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: { name: testbroken }
spec:
  crd: { spec: { names: { kind: TestBroken } } }
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package testbroken
        violation[{"msg": msg}] { msg := }
`,
      );
      await writeFile(join(dir, 'constraint.yaml'), 'apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: TestBroken\nmetadata: { name: x }\n');
      await writeFile(
        join(dir, 'suite.yaml'),
        'apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\ntests:\n  - name: t\n    template: template.yaml\n    constraint: constraint.yaml\n    cases:\n      - { name: c, object: nowhere.yaml }\n',
      );
      const report = await runSuite(join(dir, 'suite.yaml'), compile);
      expect(report.tests[0]).toMatchObject({ passed: false, cases: [{ name: 'c', passed: false, problems: [expect.stringContaining('did not compile')] }] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a suite file that is not a Suite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'farpoint-suite-'));
    try {
      await writeFile(join(dir, 'suite.yaml'), 'apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\ntests:\n  - name: t\n    constraint: c.yaml\n');
      await expect(runSuite(join(dir, 'suite.yaml'), compile)).rejects.toMatchObject({ code: PolicyEngineErrorCode.SUITE_INVALID, details: { field: 'tests[0].template' } });
      await writeFile(join(dir, 'suite.yaml'), 'kind: Suite\napiVersion: [');
      await expect(runSuite(join(dir, 'suite.yaml'), compile)).rejects.toMatchObject({ code: PolicyEngineErrorCode.SUITE_INVALID });
      await expect(runSuite(join(dir, 'missing.yaml'), compile)).rejects.toMatchObject({ code: PolicyEngineErrorCode.SUITE_INVALID });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('compiled as the build ships it (node, no jest)', () => {
    let build: CompiledSources;
    beforeAll(async () => {
      build = await compileSources();
    }, 120_000);
    afterAll(() => build?.remove());

    const cli = async (...paths: string[]) => {
      try {
        const { stdout } = await run(process.execPath, [build.js('src/policy-engine/verify.cli.ts'), ...paths], {
          env: { ...process.env, FARPOINT_TOOLS_BIN: join(await opaPath(), '..') },
        });
        return { code: 0, stdout };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout + e.stderr };
      }
    };

    it('the verify CLI passes a good suite (exit 0) and fails a broken one naming the case (exit 1)', async () => {
      const good = await cli(join(FIXTURES, 'good'));
      expect(good.stdout).toContain('7/7 cases passed in 1 suite(s)');
      expect(good.code).toBe(0);
      const broken = await cli(join(FIXTURES, 'broken', 'suite.yaml'));
      expect(broken.code).toBe(1);
      expect(broken.stdout).toMatch(/FAIL .*broken\/suite\.yaml required-labels \/ wrongly-expects-no-violation/);
      expect(broken.stdout).toContain('1/3 cases passed in 1 suite(s), 2 failed');
    }, 120_000);

    it('the verify CLI answers 2 when there is nothing to verify', async () => {
      const none = await cli(join(FIXTURES, 'good', 'does-not-exist'));
      expect(none.code).toBe(2);
    });

    it('the evaluation pool runs its worker from the compiled files', async () => {
      const policy = await compileRego('package farpoint.test.compiled\nviolation[{"msg": sprintf("%v", [input.parameters])}] { true }');
      const dir = await mkdtemp(join(tmpdir(), 'farpoint-pool-'));
      try {
        await writeFile(join(dir, 'policy.wasm'), policy.wasm);
        const script = `
          const { readFileSync } = require('node:fs');
          const { EvaluationPool, reviewForObject } = require(${JSON.stringify(build.js('src/policy-engine/index.ts'))});
          const pool = new EvaluationPool({ size: 1, timeoutMs: 10000 });
          const bundle = { sha256: ${JSON.stringify(policy.sha256)}, wasm: readFileSync(${JSON.stringify(join(dir, 'policy.wasm'))}) };
          const constraint = { name: 'c', kind: 'K', bundleSha256: bundle.sha256, entrypoint: ${JSON.stringify(policy.entrypoint)}, parameters: { a: [1] }, enforcementAction: 'dryrun' };
          pool.evaluate({ bundles: [bundle], review: reviewForObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }), constraints: [constraint] })
            .then((r) => { console.log(JSON.stringify(r[0].violations)); return pool.close(); })
            .catch((e) => { console.error(e); process.exit(3); });`;
        const { stdout } = await run(process.execPath, ['-e', script]);
        expect(JSON.parse(stdout)).toEqual([{ msg: '{"a": [1]}' }]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 60_000);
  });
});
