import { CORE_SCHEMA, loadAll, YAMLException } from 'js-yaml';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { goRegex } from './builtins/host-builtins';
import { parseConstraint } from './constraint';
import { bundleSha256, PolicyEngine } from './engine';
import { isPolicyEngineError, PolicyEngineError, PolicyEngineErrorCode } from './errors';
import { assertKubernetesObject, reviewForObject } from './kubernetes';
import { validateParameters } from './parameters-schema';
import { parseConstraintTemplate } from './template';
import type { AdmissionReviewRequest, Inventory, ParsedConstraintTemplate, Violation } from './types';
import { FieldReader, isPlainObject, parseYamlObject } from './yaml-document';

/**
 * Gatekeeper's `gator verify` suites (test.gatekeeper.sh/v1alpha1, kind Suite) through the engine:
 * tests[] pair a template and a constraint (paths relative to the suite file), cases[] an object (or
 * an AdmissionReview) with inventory objects for referential templates, and assertions[] count the
 * violations whose msg matches `message` (a regular expression; all when unset) against `violations`:
 * "yes" (at least one; the default), "no", or an exact number. A case without assertions expects no
 * violation. `invalid: true` tests expect the constraint to be refused by its template; skip flags skip.
 */

/** Compiles a template's Rego to policy.wasm (the CLI runs opa; the API its compile job). */
export type TemplateCompiler = (template: ParsedConstraintTemplate) => Promise<{ wasm: Uint8Array; entrypoint: string }>;

export interface SuiteCaseReport {
  name: string;
  passed: boolean;
  skipped?: boolean;
  problems: string[];
  violations?: Violation[];
}

export interface SuiteTestReport {
  name: string;
  passed: boolean;
  /** Problems of the test itself (template or constraint unusable): then no case ran. */
  problems: string[];
  cases: SuiteCaseReport[];
}

export interface SuiteReport {
  name: string;
  passed: boolean;
  skipped?: boolean;
  tests: SuiteTestReport[];
}

interface Assertion {
  violations: 'yes' | 'no' | number;
  message?: string;
}

const r = new FieldReader(PolicyEngineErrorCode.SUITE_INVALID, 'Suite');

/** Runs one suite file. Throws SUITE_INVALID for a suite that does not parse; everything else is reported per test and case. */
export async function runSuite(suiteYamlPath: string, compile: TemplateCompiler, engine = new PolicyEngine()): Promise<SuiteReport> {
  const file = resolve(suiteYamlPath);
  const base = dirname(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PolicyEngineError(PolicyEngineErrorCode.SUITE_INVALID, `cannot read suite ${suiteYamlPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      file: suiteYamlPath,
    });
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseYamlObject(text, 'Suite');
  } catch (error) {
    if (isPolicyEngineError(error)) {
      throw new PolicyEngineError(PolicyEngineErrorCode.SUITE_INVALID, error.message, { ...error.details, file: suiteYamlPath });
    }
    throw error;
  }
  if (doc.apiVersion !== 'test.gatekeeper.sh/v1alpha1') {
    r.fail('apiVersion', `must be test.gatekeeper.sh/v1alpha1 (got ${JSON.stringify(doc.apiVersion)})`);
  }
  if (doc.kind !== 'Suite') {
    r.fail('kind', `must be Suite (got ${JSON.stringify(doc.kind)})`);
  }
  const name = (isPlainObject(doc.metadata) && typeof doc.metadata.name === 'string' && doc.metadata.name) || suiteYamlPath;
  if (doc.skip === true) {
    return { name, passed: true, skipped: true, tests: [] };
  }
  const tests = r.array(doc.tests ?? [], 'tests');

  const reports: SuiteTestReport[] = [];
  for (const [i, t] of tests.entries()) {
    const field = `tests[${i}]`;
    const test = r.object(t, field);
    const testName = r.optionalString(test.name, `${field}.name`) || `test ${i + 1}`;
    if (test.skip === true) {
      reports.push({ name: testName, passed: true, problems: [], cases: [] });
      continue;
    }
    const templatePath = r.string(test.template, `${field}.template`);
    const constraintPath = r.string(test.constraint, `${field}.constraint`);
    const cases = r.array(test.cases ?? [], `${field}.cases`).map((c, j) => parseCase(c, `${field}.cases[${j}]`));
    if (test.invalid === true && cases.length > 0) {
      r.fail(`${field}.invalid`, 'and cases are mutually exclusive');
    }
    reports.push(await runTest(testName, resolve(base, templatePath), resolve(base, constraintPath), test.invalid === true, cases, base, compile, engine));
  }
  return { name, passed: reports.every((t) => t.passed), tests: reports };
}

interface CaseSpec {
  name: string;
  object?: string;
  inventory: string[];
  assertions: Assertion[];
  skip: boolean;
}

function parseCase(value: unknown, field: string): CaseSpec {
  const c = r.object(value, field);
  const name = r.optionalString(c.name, `${field}.name`) || field;
  const assertions = r.array(c.assertions ?? [], `${field}.assertions`).map((a, k): Assertion => {
    const f = `${field}.assertions[${k}]`;
    const assertion = r.object(a, f);
    const v = assertion.violations ?? 'yes';
    const violations: Assertion['violations'] =
      v === 'yes' || v === 'no'
        ? v
        : typeof v === 'number' && Number.isInteger(v) && v >= 0
          ? v
          : typeof v === 'string' && /^[0-9]+$/.test(v)
            ? Number(v)
            : r.fail(`${f}.violations`, 'must be a nonnegative integer, "yes" or "no"');
    const message = r.optionalString(assertion.message, `${f}.message`);
    if (message !== undefined && !goRegex(message)) {
      r.fail(`${f}.message`, `is not a valid regular expression: ${message}`);
    }
    return { violations, ...(message !== undefined ? { message } : {}) };
  });
  return {
    name,
    object: c.skip === true ? r.optionalString(c.object, `${field}.object`) : r.string(c.object, `${field}.object`),
    inventory: r.optionalStringList(c.inventory, `${field}.inventory`) ?? [],
    assertions,
    skip: c.skip === true,
  };
}

async function runTest(
  name: string,
  templateFile: string,
  constraintFile: string,
  expectInvalid: boolean,
  cases: CaseSpec[],
  base: string,
  compile: TemplateCompiler,
  engine: PolicyEngine,
): Promise<SuiteTestReport> {
  const fail = (problem: string): SuiteTestReport => ({
    name,
    passed: false,
    problems: [problem],
    cases: cases.map((c) => ({ name: c.name, passed: false, problems: [problem] })),
  });
  let template: ParsedConstraintTemplate;
  try {
    template = parseConstraintTemplate(await readText(templateFile));
  } catch (error) {
    return fail(`template ${templateFile}: ${describe(error)}`);
  }
  let constraint: ReturnType<typeof parseConstraint>;
  let constraintProblem: string | undefined;
  try {
    constraint = parseConstraint(await readText(constraintFile));
    if (constraint.kind !== template.kind) {
      constraintProblem = `constraint kind ${constraint.kind} is not the template's kind ${template.kind}`;
    } else {
      const problems = validateParameters(template.parametersSchema, constraint.parameters);
      if (problems.length > 0) {
        constraintProblem = `constraint parameters do not fit the template's schema: ${problems.join('; ')}`;
      }
    }
  } catch (error) {
    constraintProblem = `constraint ${constraintFile}: ${describe(error)}`;
    constraint = undefined as never;
  }
  if (expectInvalid) {
    return constraintProblem
      ? { name, passed: true, problems: [], cases: [] }
      : { name, passed: false, problems: ['the constraint was expected to be invalid for its template but is valid'], cases: [] };
  }
  if (constraintProblem) {
    return fail(constraintProblem);
  }

  let sha256: string;
  let entrypoint: string;
  try {
    const compiled = await compile(template);
    sha256 = bundleSha256(compiled.wasm);
    entrypoint = compiled.entrypoint;
    await engine.load(sha256, compiled.wasm);
  } catch (error) {
    return fail(`template ${template.name} did not compile: ${describe(error)}`);
  }

  const reports: SuiteCaseReport[] = [];
  for (const c of cases) {
    if (c.skip) {
      reports.push({ name: c.name, passed: true, skipped: true, problems: [] });
      continue;
    }
    try {
      const { review, namespaceObject, inventory } = await loadCase(c, base);
      const [result] = engine.evaluate(
        review,
        [
          {
            name: constraint.name,
            kind: constraint.kind,
            bundleSha256: sha256,
            entrypoint,
            parameters: constraint.parameters,
            match: constraint.match,
            enforcementAction: constraint.enforcementAction,
          },
        ],
        {
          inventory,
          namespaceObject,
        },
      );
      const problems = checkAssertions(c.assertions, result.violations);
      reports.push({ name: c.name, passed: problems.length === 0, problems, violations: result.violations });
    } catch (error) {
      reports.push({ name: c.name, passed: false, problems: [describe(error)] });
    }
  }
  return { name, passed: reports.every((c) => c.passed), problems: [], cases: reports };
}

function describe(error: unknown): string {
  return isPolicyEngineError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new PolicyEngineError(PolicyEngineErrorCode.SUITE_INVALID, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file });
  }
}

async function readObjects(file: string): Promise<Record<string, unknown>[]> {
  const text = await readText(file);
  let docs: unknown[];
  try {
    docs = loadAll(text, undefined, { schema: CORE_SCHEMA });
  } catch (error) {
    if (error instanceof YAMLException) {
      throw new PolicyEngineError(PolicyEngineErrorCode.YAML_INVALID, `${file} is not valid YAML: ${error.reason}`, { file, line: error.mark ? error.mark.line + 1 : undefined });
    }
    throw error;
  }
  const objects: Record<string, unknown>[] = [];
  for (const d of docs) {
    if (d === null || d === undefined) {
      continue;
    }
    // a v1 List holds its objects in items
    if (isPlainObject(d) && d.kind === 'List' && Array.isArray(d.items)) {
      objects.push(...(d.items as Record<string, unknown>[]));
    } else {
      objects.push(d as Record<string, unknown>);
    }
  }
  return objects;
}

async function loadCase(c: CaseSpec, base: string): Promise<{ review: AdmissionReviewRequest; namespaceObject?: Record<string, unknown>; inventory: Inventory }> {
  const objects = await readObjects(resolve(base, c.object!));
  if (objects.length !== 1) {
    throw new PolicyEngineError(PolicyEngineErrorCode.SUITE_INVALID, `${c.object} must hold exactly one object (found ${objects.length})`, { file: c.object });
  }
  const object = objects[0];
  let review: AdmissionReviewRequest;
  if (object.kind === 'AdmissionReview' && typeof object.apiVersion === 'string' && object.apiVersion.startsWith('admission.k8s.io/')) {
    if (!isPlainObject(object.request)) {
      throw new PolicyEngineError(PolicyEngineErrorCode.SUITE_INVALID, `${c.object}: an AdmissionReview needs a request`, { file: c.object });
    }
    review = object.request as unknown as AdmissionReviewRequest;
  } else {
    assertKubernetesObject(object);
    review = reviewForObject(object);
  }
  const inventoryObjects: Record<string, unknown>[] = [];
  for (const path of c.inventory) {
    inventoryObjects.push(...(await readObjects(resolve(base, path))));
  }
  const inventory: Inventory = {};
  let namespaceObject: Record<string, unknown> | undefined;
  const reviewed = review.object ?? review.oldObject;
  const namespace = review.namespace || (reviewed?.metadata as { namespace?: string } | undefined)?.namespace;
  for (const o of inventoryObjects) {
    assertKubernetesObject(o);
    const meta = o.metadata as { name: string; namespace?: string };
    const gv = o.apiVersion as string;
    const kind = o.kind as string;
    if (meta.namespace) {
      const ns = ((inventory.namespace ??= {})[meta.namespace] ??= {});
      ((ns[gv] ??= {})[kind] ??= {})[meta.name] = o;
    } else {
      (((inventory.cluster ??= {})[gv] ??= {})[kind] ??= {})[meta.name] = o;
    }
    if (kind === 'Namespace' && gv === 'v1' && meta.name === namespace) {
      namespaceObject = o;
    }
  }
  return { review, ...(namespaceObject ? { namespaceObject } : {}), inventory };
}

function checkAssertions(assertions: Assertion[], violations: Violation[]): string[] {
  const problems: string[] = [];
  const messages = JSON.stringify(violations.map((v) => v.msg));
  if (assertions.length === 0 && violations.length > 0) {
    problems.push(`got ${violations.length} violations but want none (no assertions): got messages ${messages}`);
  }
  for (const a of assertions) {
    let matching = violations.length;
    if (a.message !== undefined) {
      const re = goRegex(a.message)!;
      matching = violations.filter((v) => {
        re.lastIndex = 0;
        return re.test(v.msg);
      }).length;
    }
    const containing = a.message !== undefined ? ` containing ${JSON.stringify(a.message)}` : '';
    if (a.violations === 'yes' && matching === 0) {
      problems.push(`got 0 violations${containing} but want at least 1: got messages ${messages}`);
    }
    if (a.violations === 'no' && matching > 0) {
      problems.push(`got ${matching} violations${containing} but want none: got messages ${messages}`);
    }
    if (typeof a.violations === 'number' && matching !== a.violations) {
      problems.push(`got ${matching} violations${containing} but want exactly ${a.violations}: got messages ${messages}`);
    }
  }
  return problems;
}
