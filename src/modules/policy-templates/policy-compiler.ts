import { createHash } from 'node:crypto';
import { OpaCliError, type OpaCliGateway, OpaErrorCode, type RegoModule, type RegoProblem, type RegoTestCase } from '../../infra/opa/opa-cli.gateway';
import { entrypointForPackage, inspectBundle, regoPackage } from '../../policy-engine';
import { RegoTestOutcome, type PolicyDiagnostic, type RegoTestResult } from './policy-template.model';

export const MAIN_FILE = 'template.rego';
export const libFile = (index: number) => `lib-${index + 1}.rego`;
export const TEST_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}_test\.rego$/;

export interface PolicySource {
  rego: string;
  libs: readonly string[];
  tests: readonly { name: string; source: string }[];
  regoVersion: 'V0' | 'V1';
}

export type CompileOutcome =
  | { status: 'COMPILED'; wasm: Buffer; sha256: string; entrypoint: string; testResults: RegoTestResult[] }
  | { status: 'FAILED'; diagnostics: PolicyDiagnostic[]; testResults: RegoTestResult[] };

const OUTCOME: Record<RegoTestCase['outcome'], RegoTestOutcome> = {
  pass: RegoTestOutcome.PASS,
  fail: RegoTestOutcome.FAIL,
  error: RegoTestOutcome.ERROR,
  skip: RegoTestOutcome.SKIP,
};

export const sha256Hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Whether every test that ran passed; a version without tests has none failing. */
export const testsPass = (results: readonly { outcome: string }[]) => results.every((r) => r.outcome === 'PASS' || r.outcome === 'SKIP');

/** Line and column of the first use of `name(` in the sources, for a diagnostic that points at it. */
function locate(modules: readonly RegoModule[], name: string): { file: string; line: number | null; column: number | null } {
  const pattern = new RegExp(`(^|[^A-Za-z0-9_.])${name.replace(/\./g, '\\.')}\\s*\\(`);
  for (const m of modules) {
    const lines = m.source.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const found = pattern.exec(lines[i]);
      if (found) {
        return { file: m.path, line: i + 1, column: found.index + found[1].length + 1 };
      }
    }
  }
  return { file: modules[0].path, line: null, column: null };
}

const diagnostic = (p: RegoProblem): PolicyDiagnostic => ({ file: p.file ?? MAIN_FILE, line: p.row ?? null, column: p.col ?? null, code: p.code, message: p.message });

/**
 * Turns a version's Rego into a WebAssembly policy with the real opa: `opa check` (every error with
 * file, line and column), `opa build -t wasm -e <package>/violation` (v0 sources with
 * --v0-compatible), the engine's inspection of the module (builtins neither WebAssembly nor the
 * engine provides are refused, naming them), then the author's tests. Failures of the Rego are an outcome (FAILED with
 * diagnostics); failures of opa itself (missing binary, timeout) throw, so the job retries.
 */
export class PolicyCompiler {
  constructor(private readonly opa: OpaCliGateway) {}

  static modules(source: PolicySource, withTests: boolean): RegoModule[] {
    return [
      { path: MAIN_FILE, source: source.rego },
      ...source.libs.map((lib, i) => ({ path: libFile(i), source: lib })),
      ...(withTests ? source.tests.map((t) => ({ path: t.name, source: t.source })) : []),
    ];
  }

  async compile(source: PolicySource): Promise<CompileOutcome> {
    const options = { v0Compatible: source.regoVersion === 'V0' };
    const policyModules = PolicyCompiler.modules(source, false);
    const problems = await this.opa.check(PolicyCompiler.modules(source, true), options);
    if (problems.length) {
      return { status: 'FAILED', diagnostics: problems.map(diagnostic), testResults: [] };
    }

    const pkg = regoPackage(source.rego);
    if (!pkg) {
      return {
        status: 'FAILED',
        diagnostics: [{ file: MAIN_FILE, line: 1, column: 1, code: 'rego_parse_error', message: 'the main module must start with a package declaration' }],
        testResults: [],
      };
    }
    const entrypoint = entrypointForPackage(pkg);
    let wasm: Buffer;
    try {
      ({ wasm } = await this.opa.buildWasm(policyModules, [entrypoint], options));
    } catch (error) {
      if (error instanceof OpaCliError && error.code === OpaErrorCode.BUILD_FAILED && /does not refer to a rule/.test(error.message)) {
        const line = source.rego.split('\n').findIndex((l) => /^\s*package\s/.test(l)) + 1;
        return {
          status: 'FAILED',
          diagnostics: [
            {
              file: MAIN_FILE,
              line: line || null,
              column: line ? 1 : null,
              code: 'missing_violation_rule',
              message: `package ${pkg} has no violation rule; Gatekeeper evaluates violation[{"msg": msg, "details": details}]`,
            },
          ],
          testResults: [],
        };
      }
      if (error instanceof OpaCliError && error.code === OpaErrorCode.REGO_INVALID) {
        return { status: 'FAILED', diagnostics: error.problems.map(diagnostic), testResults: [] };
      }
      throw error;
    }
    const sha256 = sha256Hex(wasm);
    const { unsupportedBuiltins } = await inspectBundle(wasm);
    if (unsupportedBuiltins.length) {
      return {
        status: 'FAILED',
        diagnostics: unsupportedBuiltins.map((name) => ({
          ...locate(policyModules, name),
          code: 'unsupported_builtin',
          message: `builtin ${name} is not available in WebAssembly, and the policy engine does not provide it`,
        })),
        testResults: [],
      };
    }
    const testResults = source.tests.length
      ? (await this.opa.test(PolicyCompiler.modules(source, true), options)).cases.map(toResult).sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line)
      : [];
    return { status: 'COMPILED', wasm, sha256, entrypoint, testResults };
  }
}

function toResult(c: RegoTestCase): RegoTestResult {
  return { package: c.package, name: c.name, file: c.file, line: c.row, outcome: OUTCOME[c.outcome], error: c.error ?? null };
}
