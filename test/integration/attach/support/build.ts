// The worker and the agent run as real OS processes in these tests (the worker must be killable with
// SIGKILL, and the agent's RSS is measured), so they need JavaScript. Instead of depending on a prior
// `npm run build` (dist/ may be stale or missing), each test file compiles the working tree's src/
// with swc, the same compiler and options jest uses, into .data/test-build/<run>/src (gitignored,
// inside the repository so `node_modules` and the project root are found by walking up). About a
// second for all of src/; the children then run plain `node`, with no compiler loaded into them.
import { transformFile, type Options as SwcOptions } from '@swc/core';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..', '..', '..');

// eslint-disable-next-line @typescript-eslint/no-require-imports
const SWC_OPTIONS = (require('../../../../swc.options') as { swcOptions: () => SwcOptions }).swcOptions();

export interface CompiledSources {
  /** Root of the output; holds src/ mirrored from the repository. */
  readonly dir: string;
  /** Absolute path of a compiled file, e.g. js('src/worker.ts') → <dir>/src/worker.js */
  js(sourcePath: string): string;
  remove(): Promise<void>;
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      out.push(...(await tsFiles(path)));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) {
      out.push(path);
    }
  }
  return out;
}

let memo: Promise<CompiledSources> | undefined;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes builds left by test processes that are gone (killed before their afterAll). */
async function sweepStaleBuilds(root: string): Promise<void> {
  const entries = await readdir(root).catch(() => [] as string[]);
  await Promise.all(
    entries.map(async (name) => {
      const pid = Number(/-(\d+)$/.exec(name)?.[1]);
      if (pid && !alive(pid)) {
        await rm(join(root, name), { recursive: true, force: true });
      }
    }),
  );
}

/** Compiles src/ once per test process. Throws with the file name when a source does not compile. */
export function compileSources(): Promise<CompiledSources> {
  memo ??= (async () => {
    const root = join(REPO_ROOT, '.data', 'test-build');
    await sweepStaleBuilds(root);
    const dir = join(root, `${process.env.FARPOINT_TEST_RUN_ID ?? 'run'}-${process.pid}`);
    await rm(dir, { recursive: true, force: true });
    const files = await tsFiles(join(REPO_ROOT, 'src'));
    await Promise.all(
      files.map(async (file) => {
        let code: string;
        try {
          ({ code } = await transformFile(file, SWC_OPTIONS));
        } catch (error) {
          throw new Error(`cannot compile ${relative(REPO_ROOT, file)} for the child processes: ${(error as Error).message}`);
        }
        const target = join(dir, relative(REPO_ROOT, file)).replace(/\.ts$/, '.js');
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, code);
      }),
    );
    return {
      dir,
      js: (sourcePath: string) => join(dir, sourcePath.replace(/\.ts$/, '.js')),
      remove: async () => {
        memo = undefined;
        await rm(dir, { recursive: true, force: true });
      },
    };
  })();
  return memo;
}
