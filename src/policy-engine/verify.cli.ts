#!/usr/bin/env node
// `npm run policy:verify -- <paths…>`: runs Gatekeeper `gator verify` suites (suite.yaml files, or the
// directories holding them) through the Farpoint policy engine, compiling each template with the real
// opa ($FARPOINT_TOOLS_BIN/opa, else opa on PATH). Exit code 0 when every case passes, 1 when one
// fails, 2 on bad input (a suite or template that does not parse, opa missing or refusing the Rego).
// The compiler lives here, not in the engine: the engine has no child_process.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isPolicyEngineError } from './errors';
import { runSuite, type SuiteReport, type TemplateCompiler } from './suite';
import type { ParsedConstraintTemplate } from './types';

export interface OpaCompilerOptions {
  opaPath?: string;
  timeoutMs?: number;
}

/** Where opa is: $FARPOINT_TOOLS_BIN/opa when that exists, else "opa" from PATH. */
export function defaultOpaPath(): string {
  const bin = process.env.FARPOINT_TOOLS_BIN;
  if (bin && existsSync(join(bin, 'opa'))) {
    return join(bin, 'opa');
  }
  return 'opa';
}

export class OpaCompileError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'OpaCompileError';
  }
}

/**
 * A TemplateCompiler that runs `opa build -t wasm` over the template's rego and libs (with
 * --v0-compatible unless the template declares Rego v1) and returns policy.wasm and its entrypoint.
 */
export function createOpaCompiler(options: OpaCompilerOptions = {}): TemplateCompiler {
  const opa = options.opaPath ?? defaultOpaPath();
  const timeout = options.timeoutMs ?? 120_000;
  return async (template: ParsedConstraintTemplate) => {
    const work = await mkdtemp(join(tmpdir(), 'farpoint-verify-'));
    try {
      const src = join(work, 'src');
      await mkdir(src);
      await writeFile(join(src, 'template.rego'), template.rego);
      await Promise.all(template.libs.map((lib, i) => writeFile(join(src, `lib${i}.rego`), lib)));
      const out = join(work, 'bundle.tar.gz');
      const args = ['build', '-t', 'wasm', '-e', template.entrypoint, '-o', out, ...(template.regoVersion === 'v0' ? ['--v0-compatible'] : []), src];
      await new Promise<void>((done, fail) => {
        execFile(opa, args, { timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
          if (!error) {
            return done();
          }
          const output = `${stdout}${stderr}`.trim().split(work).join('');
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
            return fail(new OpaCompileError(`opa not found (${opa}); set FARPOINT_TOOLS_BIN or put opa on PATH`, output));
          }
          fail(new OpaCompileError(`opa build of ${template.name} failed: ${output}`, output));
        });
      });
      const wasm = tarEntry(gunzipSync(await readFile(out)), 'policy.wasm');
      if (!wasm) {
        throw new OpaCompileError('opa build produced no policy.wasm', '');
      }
      return { wasm, entrypoint: template.entrypoint };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
}

function tarEntry(tar: Buffer, name: string): Uint8Array | undefined {
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
    const entry = (field(345, 155) ? `${field(345, 155)}/` : '') + field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    if ((field(156, 1) === '0' || field(156, 1) === '') && entry.replace(/^\.?\//, '') === name) {
      return new Uint8Array(tar.subarray(off + 512, off + 512 + size));
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** suite.yaml files under the given paths (a file is taken as it is; directories are searched). */
export async function findSuites(paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path);
    if (info.isFile()) {
      found.push(path);
      return;
    }
    for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) {
        await walk(child);
      } else if (entry.name === 'suite.yaml' || entry.name === 'suite.yml') {
        found.push(child);
      }
    }
  };
  for (const p of paths) {
    await walk(resolve(p));
  }
  return found;
}

export function formatReport(file: string, report: SuiteReport): string {
  const lines: string[] = [];
  for (const test of report.tests) {
    if (test.cases.length === 0) {
      lines.push(`${test.passed ? 'ok  ' : 'FAIL'} ${file} ${test.name}`);
      for (const p of test.problems) {
        lines.push(`       ${p}`);
      }
    }
    for (const c of test.cases) {
      lines.push(`${c.skipped ? 'skip' : c.passed ? 'ok  ' : 'FAIL'} ${file} ${test.name} / ${c.name}`);
      for (const p of c.problems) {
        lines.push(`       ${p}`);
      }
    }
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const paths = argv.length > 0 ? argv : ['policies'];
  const compile = createOpaCompiler();
  let suites: string[];
  try {
    suites = await findSuites(paths);
  } catch (error) {
    process.stderr.write(`policy:verify: ${(error as Error).message}\n`);
    return 2;
  }
  if (suites.length === 0) {
    process.stderr.write(`policy:verify: no suite.yaml under ${paths.join(', ')}\n`);
    return 2;
  }
  let failed = 0;
  let cases = 0;
  let broken = false;
  for (const file of suites) {
    const name = relative(process.cwd(), file);
    try {
      const report = await runSuite(file, compile);
      process.stdout.write(formatReport(name, report) + '\n');
      for (const t of report.tests) {
        for (const c of t.cases) {
          cases++;
          if (!c.passed) {
            failed++;
          }
        }
      }
    } catch (error) {
      broken = true;
      const code = isPolicyEngineError(error) ? `${error.code}: ` : '';
      process.stderr.write(`ERROR ${name}: ${code}${(error as Error).message}\n`);
    }
  }
  process.stdout.write(`${cases - failed}/${cases} cases passed in ${suites.length} suite(s)${failed ? `, ${failed} failed` : ''}${broken ? ', some suites could not run' : ''}\n`);
  return broken ? 2 : failed > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`policy:verify: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
