import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * The opa CLI behind one class: compile Rego to a WebAssembly bundle (what the agent evaluates with
 * @open-policy-agent/opa-wasm) and run Rego unit tests. Sources come in as text (they live in the
 * database), are written to a private temporary directory per call, and are removed afterwards.
 */

export const OpaErrorCode = {
  /** The caller's input is unusable before opa runs: bad module path, empty entrypoint list, … */
  INVALID_INPUT: 'INVALID_INPUT',
  /** The Rego does not parse or compile; `problems` lists file/row/message. */
  REGO_INVALID: 'REGO_INVALID',
  /** opa build refused for another reason (e.g. an entrypoint that names no rule). */
  BUILD_FAILED: 'BUILD_FAILED',
  /** opa ran longer than the gateway's timeout. */
  TIMEOUT: 'TIMEOUT',
  /** opa could not be started or answered with something unexpected. */
  OPA_FAILED: 'OPA_FAILED',
} as const;
export type OpaErrorCode = (typeof OpaErrorCode)[keyof typeof OpaErrorCode];

export interface RegoProblem {
  readonly code: string;
  readonly message: string;
  readonly file?: string;
  readonly row?: number;
  readonly col?: number;
}

export class OpaCliError extends Error {
  constructor(
    readonly code: OpaErrorCode,
    message: string,
    readonly problems: readonly RegoProblem[] = [],
  ) {
    super(message);
    this.name = 'OpaCliError';
  }
}

export interface RegoModule {
  /** Relative path ending in .rego, e.g. "lib/labels.rego" or "labels_test.rego". */
  readonly path: string;
  readonly source: string;
}

export interface WasmBuild {
  /** The compiled policy: loadPolicy(wasm) from @open-policy-agent/opa-wasm. */
  readonly wasm: Buffer;
  /** The whole bundle (tar.gz with /policy.wasm, /data.json, /.manifest and the sources). */
  readonly bundle: Buffer;
}

export type RegoTestOutcome = 'pass' | 'fail' | 'error' | 'skip';

export interface RegoTestCase {
  readonly package: string;
  readonly name: string;
  readonly file: string;
  readonly row: number;
  readonly outcome: RegoTestOutcome;
  readonly durationNs: number;
  readonly error?: string;
}

export interface RegoTestReport {
  /** True when at least one test ran and none failed or errored. */
  readonly passed: boolean;
  readonly counts: Readonly<Record<RegoTestOutcome, number>>;
  readonly cases: readonly RegoTestCase[];
}

/** How opa reads the sources: Rego v1 (OPA 1.x's default) or v0 (Gatekeeper's library), via --v0-compatible. */
export interface RegoOptions {
  readonly v0Compatible?: boolean;
}

export interface OpaCliGatewayOptions {
  /** Path of the opa binary (see locateTools() in dev, configuration in production). */
  readonly opaPath: string;
  /** Per-invocation deadline; default 60 s. */
  readonly timeoutMs?: number;
}

const ENTRYPOINT = /^[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*$/;

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class OpaCliGateway {
  private readonly timeoutMs: number;

  constructor(private readonly options: OpaCliGatewayOptions) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** `opa version` first line, e.g. "Version: 1.22.3". */
  async version(): Promise<string> {
    const res = await this.run(['version'], process.cwd());
    return res.stdout.split('\n')[0].trim();
  }

  /** `opa build -t wasm -e <entrypoint>…` over the modules; returns policy.wasm and the bundle. */
  async buildWasm(modules: readonly RegoModule[], entrypoints: readonly string[], options: RegoOptions = {}): Promise<WasmBuild> {
    if (entrypoints.length === 0) {
      throw new OpaCliError(OpaErrorCode.INVALID_INPUT, 'at least one entrypoint is needed, e.g. "farpoint/admission/deny"');
    }
    for (const e of entrypoints) {
      if (!ENTRYPOINT.test(e)) {
        throw new OpaCliError(OpaErrorCode.INVALID_INPUT, `entrypoint "${e}" must look like package/path/rule`);
      }
    }
    return this.withModules(modules, async (dir) => {
      const out = join(dir, '..', 'bundle.tar.gz');
      const res = await this.run(['build', '-t', 'wasm', ...versionFlags(options), ...entrypoints.flatMap((e) => ['-e', e]), '-o', out, '.'], dir);
      if (res.code !== 0) {
        await this.throwIfInvalid(dir, options);
        throw new OpaCliError(OpaErrorCode.BUILD_FAILED, `opa build failed: ${(res.stderr.trim() || res.stdout.trim()).replace(/^error: /, '')}`);
      }
      const bundle = await readFile(out);
      const wasm = readTarGzEntry(bundle, 'policy.wasm');
      if (!wasm) {
        throw new OpaCliError(OpaErrorCode.OPA_FAILED, 'opa build produced a bundle without policy.wasm');
      }
      return { wasm, bundle };
    });
  }

  /** `opa test` over the modules (policies and their *_test.rego); failing tests are a result, not an error. */
  async test(modules: readonly RegoModule[], options: RegoOptions = {}): Promise<RegoTestReport> {
    return this.withModules(modules, async (dir) => {
      const res = await this.run(['test', '--format=json', ...versionFlags(options), '.'], dir);
      // 0: all passed, 2: some failed; anything else (1: load/compile error) has no JSON report.
      if (res.code !== 0 && res.code !== 2) {
        await this.throwIfInvalid(dir, options);
        throw new OpaCliError(OpaErrorCode.OPA_FAILED, `opa test failed: ${(res.stderr || res.stdout).trim()}`);
      }
      let raw: OpaTestJson[];
      try {
        raw = res.stdout.trim() ? (JSON.parse(res.stdout) as OpaTestJson[]) : [];
      } catch {
        throw new OpaCliError(OpaErrorCode.OPA_FAILED, `opa test printed something other than JSON: ${res.stdout.slice(0, 200)}`);
      }
      const cases = raw.map(toTestCase);
      const counts = { pass: 0, fail: 0, error: 0, skip: 0 };
      for (const c of cases) {
        counts[c.outcome]++;
      }
      return { passed: counts.pass > 0 && counts.fail === 0 && counts.error === 0, counts, cases };
    });
  }

  /** `opa check` over the modules: every parse and compile error with file, row and column; [] when they compile. */
  async check(modules: readonly RegoModule[], options: RegoOptions = {}): Promise<readonly RegoProblem[]> {
    return this.withModules(modules, async (dir) => {
      try {
        await this.throwIfInvalid(dir, options);
        return [];
      } catch (error) {
        if (error instanceof OpaCliError && error.code === OpaErrorCode.REGO_INVALID) {
          return error.problems.length ? error.problems : [{ code: 'rego_error', message: error.message }];
        }
        throw error;
      }
    });
  }

  /** Runs `opa check` to turn a failure into structured problems when the Rego itself is at fault. */
  private async throwIfInvalid(dir: string, options: RegoOptions = {}): Promise<void> {
    const res = await this.run(['check', '--format=json', ...versionFlags(options), '.'], dir);
    if (res.code === 0) {
      return;
    }
    let problems: RegoProblem[] = [];
    try {
      const parsed = JSON.parse(res.stdout || res.stderr) as { errors?: OpaErrorJson[] };
      problems = (parsed.errors ?? []).map((e) => ({
        code: e.code,
        message: e.message,
        file: e.location?.file && relativeFile(e.location.file),
        row: e.location?.row,
        col: e.location?.col,
      }));
    } catch {
      // not JSON: fall through with the text
    }
    const first = problems[0];
    const summary = first ? `${first.file ?? ''}:${first.row ?? ''}: ${first.code}: ${first.message}` : res.stderr.trim();
    throw new OpaCliError(OpaErrorCode.REGO_INVALID, `Rego does not compile: ${summary}`, problems);
  }

  private async withModules<T>(modules: readonly RegoModule[], fn: (dir: string) => Promise<T>): Promise<T> {
    if (modules.length === 0) {
      throw new OpaCliError(OpaErrorCode.INVALID_INPUT, 'no Rego modules given');
    }
    const paths = new Set<string>();
    for (const m of modules) {
      const p = normalize(m.path);
      // Stays inside the work directory: relative, no "..", a .rego file.
      if (!m.path || p.startsWith('..') || p.startsWith(sep) || p.includes(`..${sep}`) || !p.endsWith('.rego')) {
        throw new OpaCliError(OpaErrorCode.INVALID_INPUT, `module path "${m.path}" must be a relative path ending in .rego`);
      }
      if (paths.has(p)) {
        throw new OpaCliError(OpaErrorCode.INVALID_INPUT, `module path "${m.path}" is given twice`);
      }
      paths.add(p);
    }
    const work = await mkdtemp(join(tmpdir(), 'farpoint-opa-'));
    try {
      const dir = join(work, 'src');
      for (const m of modules) {
        const file = join(dir, normalize(m.path));
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, m.source);
      }
      return await fn(dir);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private run(args: string[], cwd: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      execFile(this.options.opaPath, args, { cwd, timeout: this.timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new OpaCliError(OpaErrorCode.OPA_FAILED, `opa not found at ${this.options.opaPath}`));
        } else if (err && err.killed) {
          reject(new OpaCliError(OpaErrorCode.TIMEOUT, `opa ${args[0]} did not finish within ${this.timeoutMs} ms`));
        } else if (err && typeof err.code !== 'number') {
          reject(new OpaCliError(OpaErrorCode.OPA_FAILED, `opa ${args[0]} could not run: ${err.message}`));
        } else {
          resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
        }
      });
    });
  }
}

interface OpaErrorJson {
  code: string;
  message: string;
  location?: { file?: string; row?: number; col?: number };
}

interface OpaTestJson {
  location?: { file?: string; row?: number };
  package?: string;
  name?: string;
  fail?: boolean;
  skip?: boolean;
  error?: { message?: string } | string;
  duration?: number;
}

function versionFlags(options: RegoOptions): string[] {
  return options.v0Compatible ? ['--v0-compatible'] : [];
}

function relativeFile(file: string): string {
  return file.replace(/^\.\//, '');
}

function toTestCase(t: OpaTestJson): RegoTestCase {
  const outcome: RegoTestOutcome = t.error ? 'error' : t.skip ? 'skip' : t.fail ? 'fail' : 'pass';
  return {
    package: (t.package ?? '').replace(/^data\./, ''),
    name: t.name ?? '',
    file: relativeFile(t.location?.file ?? ''),
    row: t.location?.row ?? 0,
    outcome,
    durationNs: t.duration ?? 0,
    ...(t.error ? { error: typeof t.error === 'string' ? t.error : (t.error.message ?? JSON.stringify(t.error)) } : {}),
  };
}

/** One regular file from a .tar.gz (ustar headers; OPA writes names like "/policy.wasm"). */
function readTarGzEntry(targz: Buffer, name: string): Buffer | undefined {
  const tar = gunzipSync(targz);
  for (let off = 0; off + 512 <= tar.length;) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) {
      break;
    }
    const field = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const entry = (prefix ? `${prefix}/` : '') + field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    if ((type === '0' || type === '') && entry.replace(/^\.?\//, '') === name) {
      return Buffer.from(tar.subarray(off + 512, off + 512 + size));
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
