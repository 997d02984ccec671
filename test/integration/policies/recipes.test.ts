// The recipe library (policies/) against the real opa and the policy engine: every recipe's Rego
// (declared Rego v1) passes opa check --strict, its own opa tests pass, it builds to WebAssembly with only builtins the engine
// provides, its gator suite passes through the engine, and the engine's violations for every suite
// object are exactly what `opa eval` gives for the same input. A deliberately broken suite fails
// naming its case.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CORE_SCHEMA, load, loadAll } from 'js-yaml';
import { locateTools, repoRoot } from '../../../src/dev/kube-harness';
import {
  inspectBundle,
  matchesConstraint,
  parseConstraint,
  parseConstraintTemplate,
  reviewForObject,
  runSuite,
  type Inventory,
  type ParsedConstraintTemplate,
  type SuiteReport,
  type TemplateCompiler,
  type Violation,
} from '../../../src/policy-engine';
import { createOpaCompiler } from '../../../src/policy-engine/verify.cli';

const root = repoRoot();
const policies = join(root, 'policies');
const RECIPES = [
  'allowed-external-ips',
  'allowed-registries',
  'container-resources',
  'https-only-ingress',
  'image-digest',
  'no-latest-tag',
  'no-nodeport',
  'no-privileged',
  'pod-security-baseline',
  'pod-security-restricted',
  'required-labels',
  'unique-ingress-host',
];
const CATEGORIES = ['supply-chain', 'pod-security', 'resources', 'networking', 'metadata'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const LIB = readFileSync(join(policies, 'lib', 'workloads.rego'), 'utf8');

let opaPath: string;
let compile: TemplateCompiler;

beforeAll(async () => {
  opaPath = (await locateTools()).opa;
  // One opa build per template, shared by the bundle inspection and the suite.
  const build = createOpaCompiler({ opaPath });
  const built = new Map<string, ReturnType<TemplateCompiler>>();
  compile = (template) => {
    const key = template.rego + template.libs.join('\n');
    if (!built.has(key)) {
      built.set(key, build(template));
    }
    return built.get(key)!;
  };
}, 20 * 60_000);

function opa(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = execFile(opaPath, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        fail(new Error(`opa could not run: ${error.message}`));
        return;
      }
      done({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
    if (stdin !== undefined) {
      child.stdin!.end(stdin);
    }
  });
}

/** The template's Rego, its libs and the recipe's tests in a private directory, as opa sees them. */
async function withSources<T>(template: ParsedConstraintTemplate, testFile: string | undefined, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'farpoint-recipe-'));
  try {
    await writeFile(join(dir, 'template.rego'), template.rego);
    await Promise.all(template.libs.map((lib, i) => writeFile(join(dir, `lib${i}.rego`), lib)));
    if (testFile) {
      await copyFile(testFile, join(dir, 'src_test.rego'));
    }
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface OpaTestResult {
  name: string;
  fail?: boolean;
  error?: unknown;
}

async function opaTest(dir: string): Promise<{ passed: number; failed: string[] }> {
  const res = await opa(['test', '--format=json', dir]);
  if (res.code !== 0 && res.code !== 2) {
    throw new Error(`opa test could not run: ${res.stderr || res.stdout}`);
  }
  const results = JSON.parse(res.stdout) as OpaTestResult[];
  return { passed: results.filter((r) => !r.fail && !r.error).length, failed: results.filter((r) => r.fail || r.error).map((r) => r.name) };
}

function failures(report: SuiteReport): string[] {
  return report.tests.flatMap((t) => [
    ...t.problems.map((p) => `${t.name}: ${p}`),
    ...t.cases.filter((c) => !c.passed).map((c) => `${t.name} / ${c.name}: ${c.problems.join('; ')}`),
  ]);
}

function readObjects(file: string): Record<string, unknown>[] {
  return loadAll(readFileSync(file, 'utf8'), undefined, { schema: CORE_SCHEMA }).flatMap((d) => {
    const o = d as Record<string, unknown>;
    return o.kind === 'List' ? (o.items as Record<string, unknown>[]) : [o];
  });
}

/** Gatekeeper's data.inventory layout of the given objects. */
function inventoryOf(objects: Record<string, unknown>[]): Inventory {
  const inventory: Required<Inventory> = { cluster: {}, namespace: {} };
  for (const o of objects) {
    const { name, namespace } = o.metadata as { name: string; namespace?: string };
    const [gv, kind] = [o.apiVersion as string, o.kind as string];
    const scope = namespace ? (inventory.namespace[namespace] ??= {}) : inventory.cluster;
    ((scope[gv] ??= {})[kind] ??= {})[name] = o;
  }
  return inventory;
}

/** JSON with sorted keys: OPA and the engine may order an object's keys differently. */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : value !== null && typeof value === 'object'
      ? `{${Object.keys(value)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(value);
const sortViolations = (vs: Violation[]) => vs.map((v) => canonical({ msg: v.msg, details: v.details })).sort();

it('ships every recipe of the library, each with a template, Rego tests and a suite', () => {
  const found = readdirSync(policies).filter((d) => existsSync(join(policies, d, 'template.yaml')));
  expect(found.sort()).toEqual(RECIPES);
  for (const recipe of RECIPES) {
    for (const file of ['src_test.rego', 'suite.yaml', 'samples/constraint.yaml']) {
      expect(existsSync(join(policies, recipe, file))).toBe(true);
    }
  }
});

it('the shared workload library passes its own opa tests', async () => {
  const result = await opaTest(join(policies, 'lib'));
  expect(result.failed).toEqual([]);
  expect(result.passed).toBeGreaterThan(0);
});

describe.each(RECIPES)('recipe %s', (recipe) => {
  const dir = join(policies, recipe);
  const template = parseConstraintTemplate(readFileSync(join(dir, 'template.yaml'), 'utf8'));

  it('is a Gatekeeper template with our metadata and the shared library verbatim', () => {
    expect(template.apiVersion).toBe('templates.gatekeeper.sh/v1');
    expect(template.kind).toMatch(/^Farpoint[A-Z][A-Za-z]+$/);
    expect(template.package).toBe(`farpoint.recipes.${recipe.replace(/-/g, '')}`);
    expect(template.entrypoint).toBe(`farpoint/recipes/${recipe.replace(/-/g, '')}/violation`);
    // Declared v1 (code[engine=Rego].source.version), so Gatekeeper 3.19+ and our compile job read it as v1.
    expect(template.regoVersion).toBe('v1');
    // What Gatekeeper's Rego rewriter accepts: imports only of libs (it refuses even "import rego.v1"),
    // data only under data.lib and data.inventory.
    for (const module of [template.rego, ...template.libs]) {
      expect(module.match(/^import .*$/gm) ?? []).toEqual(module.match(/^import data\.lib\.[\w.]+$/gm) ?? []);
      expect(module.match(/\bdata\.(?!lib\.|inventory\b)\w+/g)).toBeNull();
    }
    expect(template.title).toEqual(expect.any(String));
    expect(template.description).toEqual(expect.any(String));
    const annotations = (template.metadata.annotations ?? {}) as Record<string, string>;
    expect(CATEGORIES).toContain(annotations['farpoint.io/category']);
    expect(SEVERITIES).toContain(annotations['farpoint.io/severity']);
    // Gatekeeper gives each template its own copy of a lib; ours must all be the one in policies/lib.
    for (const lib of template.libs) {
      expect(lib).toBe(LIB);
    }
    // The suite's constraint fits the template's parameter schema (the suite runner checks it too).
    const constraint = parseConstraint(readFileSync(join(dir, 'samples', 'constraint.yaml'), 'utf8'));
    expect(constraint.kind).toBe(template.kind);
  });

  it('passes opa check --strict and its own opa tests', async () => {
    await withSources(template, join(dir, 'src_test.rego'), async (src) => {
      const check = await opa(['check', '--strict', src]);
      expect(check.stderr + check.stdout).toBe('');
      expect(check.code).toBe(0);
      const result = await opaTest(src);
      expect(result.failed).toEqual([]);
      expect(result.passed).toBeGreaterThanOrEqual(3);
    });
  }, 60_000);

  it('builds to WebAssembly at its entrypoint, needing only host builtins the engine provides', async () => {
    const { wasm, entrypoint } = await compile(template);
    const info = await inspectBundle(wasm);
    expect(info.entrypoints).toContain(entrypoint);
    expect(info.unsupportedBuiltins).toEqual([]);
  }, 60_000);

  it('passes its gator suite through the engine, with the violations opa eval gives', async () => {
    const suitePath = join(dir, 'suite.yaml');
    const report = await runSuite(suitePath, compile);
    expect(failures(report)).toEqual([]);
    const cases = report.tests.flatMap((t) => t.cases);
    expect(cases.length).toBeGreaterThanOrEqual(2);
    expect(cases.some((c) => (c.violations ?? []).length > 0)).toBe(true);
    expect(cases.some((c) => c.violations?.length === 0)).toBe(true);

    // Same input through `opa eval` (no wasm): the engine's messages and details must be OPA's own.
    const suite = load(readFileSync(suitePath, 'utf8'), { schema: CORE_SCHEMA }) as {
      tests: { name: string; constraint: string; cases: { name: string; object: string; inventory?: string[] }[] }[];
    };
    await withSources(template, undefined, async (src) => {
      for (const test of suite.tests) {
        const constraint = parseConstraint(readFileSync(resolve(dir, test.constraint), 'utf8'));
        for (const c of test.cases) {
          const [object] = readObjects(resolve(dir, c.object));
          const review = reviewForObject(object);
          if (!matchesConstraint(constraint.match, review)) {
            continue;
          }
          const inventory = inventoryOf((c.inventory ?? []).flatMap((f) => readObjects(resolve(dir, f))));
          const dataFile = join(src, '..', `${recipe}-data.json`);
          await writeFile(dataFile, JSON.stringify({ inventory }));
          try {
            const res = await opa(
              [
                'eval',
                ...(template.regoVersion === 'v0' ? ['--v0-compatible'] : []),
                '--format=json',
                '-d',
                src,
                '-d',
                dataFile,
                '--stdin-input',
                `data.${template.package}.violation`,
              ],
              JSON.stringify({ parameters: constraint.parameters, review }),
            );
            expect(res.stderr).toBe('');
            const fromOpa = (JSON.parse(res.stdout) as { result: { expressions: { value: Violation[] }[] }[] }).result[0].expressions[0].value;
            const fromEngine = report.tests.find((t) => t.name === test.name)!.cases.find((k) => k.name === c.name)!.violations!;
            expect({ case: c.name, violations: sortViolations(fromEngine) }).toEqual({ case: c.name, violations: sortViolations(fromOpa) });
          } finally {
            await rm(dataFile, { force: true });
          }
        }
      }
    });
  }, 120_000);
});

it('a suite whose assertion expects no violation for a disallowed object fails, naming that case', async () => {
  const report = await runSuite(join(root, 'test', 'fixtures', 'policies', 'broken-suite', 'suite.yaml'), compile);
  expect(report.passed).toBe(false);
  const cases = report.tests.flatMap((t) => t.cases.map((c) => ({ test: t.name, name: c.name, passed: c.passed, problems: c.problems })));
  expect(cases).toEqual([
    { test: 'no-privileged', name: 'unprivileged-pod-passes', passed: true, problems: [] },
    {
      test: 'no-privileged',
      name: 'privileged-pod-wrongly-expected-to-pass',
      passed: false,
      problems: [expect.stringMatching(/^got 1 violations but want none: got messages .*container <agent> is privileged/)],
    },
  ]);
}, 60_000);
