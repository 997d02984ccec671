import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Paths of the real binaries the harness and the policy compiler run. */
export interface ToolPaths {
  readonly binDir: string;
  readonly opa: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  /** Always set; an older FARPOINT_TOOLS_BIN may lack it, which only KubeHarness with controllers checks. */
  readonly kubeControllerManager: string;
  readonly kubectl: string;
}

export interface LocateToolsOptions {
  /** Defaults to process.env; FARPOINT_TOOLS_BIN there skips the build. */
  readonly env?: NodeJS.ProcessEnv;
  /** Receives tools/build.sh progress (a first build takes minutes); defaults to process.stderr. */
  readonly onProgress?: (text: string) => void;
}

function toolPaths(binDir: string): ToolPaths {
  const paths = {
    binDir,
    opa: join(binDir, 'opa'),
    etcd: join(binDir, 'etcd'),
    kubeApiserver: join(binDir, 'kube-apiserver'),
    kubeControllerManager: join(binDir, 'kube-controller-manager'),
    kubectl: join(binDir, 'kubectl'),
  };
  for (const p of [paths.opa, paths.etcd, paths.kubeApiserver, paths.kubectl]) {
    try {
      accessSync(p, constants.X_OK);
    } catch {
      throw new Error(`${p} is missing or not executable (tools bin dir ${binDir})`);
    }
  }
  return paths;
}

/** The repository root: the nearest ancestor holding tools/build.sh (works from src/ and dist/src/). */
export function repoRoot(from = __dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'tools', 'build.sh'))) {
      return dir;
    }
    if (dirname(dir) === dir) {
      throw new Error(`no tools/build.sh above ${from}`);
    }
  }
}

let cached: { key: string; paths: Promise<ToolPaths> } | undefined;

/**
 * Finds opa, etcd, kube-apiserver, kube-controller-manager and kubectl: FARPOINT_TOOLS_BIN when set, else the output of
 * tools/build.sh, which builds them once from the Go module proxy and is a no-op afterwards.
 * The result is memoised per process.
 */
export function locateTools(opts: LocateToolsOptions = {}): Promise<ToolPaths> {
  const env = opts.env ?? process.env;
  const key = env.FARPOINT_TOOLS_BIN ?? '';
  if (cached?.key !== key) {
    const paths = key ? Promise.resolve().then(() => toolPaths(resolve(key))) : runBuild(env, opts.onProgress);
    cached = { key, paths };
    // A failed build may be retried by the next caller.
    paths.catch(() => (cached?.paths === paths ? (cached = undefined) : undefined));
  }
  return cached.paths;
}

function runBuild(env: NodeJS.ProcessEnv, onProgress: (text: string) => void = (t) => process.stderr.write(t)): Promise<ToolPaths> {
  const script = join(repoRoot(), 'tools', 'build.sh');
  return new Promise((resolvePaths, reject) => {
    const child = spawn('bash', [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      onProgress(d);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) {
        reject(new Error(`tools/build.sh exited with ${code}: ${stderr.trim().split('\n').slice(-20).join('\n')}`));
        return;
      }
      const lines = stdout.trim().split('\n');
      try {
        resolvePaths(toolPaths(lines[lines.length - 1].trim()));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}
