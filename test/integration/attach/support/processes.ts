// Real OS processes for the attach tests: the Farpoint worker (src/worker.ts) and the agent
// (src/agent/main.ts), compiled by ./build.ts and started with plain `node`.
//
// The agent: the install manifests put a Deployment into the cluster, but the harness clusters run no
// kubelet, so no pod ever starts. A local process stands in for that pod, configured from the installed
// Deployment and authenticated as the agent's ServiceAccount (src/dev/local-agent.ts), so the installed
// RBAC is the one in force. Only the state directory (the pod's state volume, a hostPath by default) is a local temp dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HarnessCluster } from '../../../../src/dev/kube-harness';
import { prepareLocalAgent } from '../../../../src/dev/local-agent';
import { AgentObjectNames } from '../../../../src/agent-install/names';
import type { CompiledSources } from './build';

export const AGENT_NAMESPACE = AgentObjectNames.namespace;
export const AGENT_NAME = AgentObjectNames.deployment;

/** A child process with its output kept (for assertions and for failure messages). */
export class Proc {
  private out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything the process wrote to stdout and stderr so far. */
  get output(): string {
    return this.out;
  }

  /** Parsed JSON log lines (pino for the worker, the agent's own JSON logger). */
  logLines(): Record<string, unknown>[] {
    return this.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  }

  /** Resolves once `pattern` appears in the output; rejects if the process exits first or after timeoutMs. */
  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.out)) {
      if (!this.running) {
        throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern}:\n${this.tail()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.tail()}`);
      }
      await sleep(50);
    }
  }

  tail(lines = 40): string {
    return this.out.split('\n').slice(-lines).join('\n');
  }

  /** Sends the signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) {
      this.child.kill(signal);
    }
    return this.exited;
  }
}

const children = new Set<Proc>();

function track(proc: Proc): Proc {
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  return proc;
}

/** SIGKILLs every child these helpers started that is still running (afterAll safety net). */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...children].map((p) => p.stop('SIGKILL')));
}

/** The base environment of a child: nothing from the jest process but what node needs. */
function baseEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TZ: process.env.TZ };
}

// ---- worker ----------------------------------------------------------------------------------------

export interface WorkerEnv {
  DATABASE_URL: string;
  REDIS_URL: string;
  QUEUE_PREFIX: string;
  /** The API's URL: the worker renders the install manifests with it. */
  PUBLIC_URL: string;
  [key: string]: string;
}

/** Starts `node src/worker.js` and resolves once it logged that it runs (handlers and schedules set up). */
export async function startWorker(build: CompiledSources, env: WorkerEnv, name = 'worker'): Promise<Proc> {
  const child = spawn(process.execPath, [build.js('src/worker.ts')], {
    cwd: build.dir,
    env: { ...baseEnv(), NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = track(new Proc(name, child));
  await proc.waitForOutput(/Farpoint worker running/, 120_000);
  return proc;
}

// ---- agent -----------------------------------------------------------------------------------------

export interface AgentHandle {
  proc: Proc;
  /** The state directory (the pod's state volume); kept across restarts of the same agent. */
  stateDir: string;
  /** The pod's environment (from the installed Deployment), the state dir and the ServiceAccount kubeconfig. */
  env: Record<string, string>;
}

/**
 * Starts the agent of a cluster whose install manifests are applied, as its pod would run
 * (src/dev/local-agent.ts). `overrides` are extra env (e.g. FARPOINT_AGENT_IDLE_RECHECK_SECONDS).
 * Pass `previous` to restart the same agent: same state dir, same ServiceAccount token.
 */
export async function startAgent(build: CompiledSources, cluster: HarnessCluster, opts: { previous?: AgentHandle; overrides?: Record<string, string> } = {}): Promise<AgentHandle> {
  let handle = opts.previous;
  if (!handle) {
    const stateDir = await mkdtemp(join(tmpdir(), `farpoint-agent-${cluster.name}-`));
    const local = await prepareLocalAgent(cluster, stateDir);
    handle = { stateDir, env: { ...local.env, ...opts.overrides }, proc: undefined as unknown as Proc };
  } else if (handle.proc?.running) {
    throw new Error(`the agent of ${cluster.name} is still running (pid ${handle.proc.pid})`);
  }
  const child = spawn(process.execPath, [build.js('src/agent/main.ts')], {
    cwd: build.dir,
    env: { ...baseEnv(), ...handle.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  handle.proc = track(new Proc(`agent of ${cluster.name}`, child));
  return handle;
}

/** Removes an agent's state directory (after its process is gone). */
export async function removeAgentState(handle: AgentHandle | undefined): Promise<void> {
  if (handle) {
    await rm(handle.stateDir, { recursive: true, force: true });
  }
}

/** VmRSS of a process in KiB, from /proc. */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) {
    throw new Error(`no VmRSS in /proc/${pid}/status`);
  }
  return Number(match[1]);
}
