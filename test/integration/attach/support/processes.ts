// Real OS processes for the attach tests: the Farpoint worker (src/worker.ts) and the agent
// (src/agent/main.ts), compiled by ./build.ts and started with plain `node`.
//
// The agent: the install manifests put a Deployment into the cluster, but the harness clusters run no
// kubelet, so no pod ever starts. A local process stands in for that pod, configured the way the pod
// would be: its environment is resolved from the installed Deployment (ConfigMap keys, the downward
// API namespace, literal values), and it talks to the cluster as its own ServiceAccount (a token from
// the TokenRequest API, as a projected service-account token would be), so the installed RBAC is the
// one in force. Only the state directory (an emptyDir in the pod) is a local temporary directory.
import { AppsV1Api, CoreV1Api, type V1EnvVar } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HarnessCluster } from '../../../../src/dev/kube-harness';
import type { CompiledSources } from './build';

export const AGENT_NAMESPACE = 'farpoint-system';
export const AGENT_NAME = 'farpoint-agent';

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
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern}:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(50);
    }
  }

  tail(lines = 40): string {
    return this.out.split('\n').slice(-lines).join('\n');
  }

  /** Sends the signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
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
  /** The state directory (the pod's emptyDir); kept across restarts of the same agent. */
  stateDir: string;
  kubeconfigPath: string;
  env: Record<string, string>;
}

/** The Deployment's container environment, resolved as the kubelet would (ConfigMap keys, downward API, values). */
async function deploymentEnv(cluster: HarnessCluster): Promise<Record<string, string>> {
  const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const deployment = await apps.readNamespacedDeployment({ name: AGENT_NAME, namespace: AGENT_NAMESPACE });
  const container = deployment.spec!.template.spec!.containers.find((c) => c.name === 'agent');
  if (!container) throw new Error('the installed agent Deployment has no container "agent"');
  const configMaps = new Map<string, Record<string, string>>();
  const env: Record<string, string> = {};
  for (const variable of (container.env ?? []) as V1EnvVar[]) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.configMapKeyRef) {
      const ref = variable.valueFrom.configMapKeyRef;
      if (!configMaps.has(ref.name!)) configMaps.set(ref.name!, (await core.readNamespacedConfigMap({ name: ref.name!, namespace: AGENT_NAMESPACE })).data ?? {});
      const value = configMaps.get(ref.name!)![ref.key];
      if (value === undefined && !ref.optional) throw new Error(`ConfigMap ${ref.name} has no key ${ref.key}`);
      if (value !== undefined) env[variable.name] = value;
    } else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[variable.name] = AGENT_NAMESPACE;
    else throw new Error(`cannot resolve env ${variable.name} of the agent Deployment: ${JSON.stringify(variable.valueFrom)}`);
  }
  return env;
}

/** A kubeconfig for the agent's own ServiceAccount (TokenRequest), so the installed RBAC applies. */
async function serviceAccountKubeconfig(cluster: HarnessCluster, dir: string): Promise<string> {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    name: AGENT_NAME,
    namespace: AGENT_NAMESPACE,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3 * 3600, audiences: [] } },
  });
  const path = join(dir, 'agent.kubeconfig');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster.name, cluster: { server: cluster.server, 'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64') } }],
    users: [{ name: 'farpoint-agent', user: { token: request.status!.token } }],
    contexts: [{ name: 'agent', context: { cluster: cluster.name, user: 'farpoint-agent', namespace: AGENT_NAMESPACE } }],
    'current-context': 'agent',
  };
  await writeFile(path, JSON.stringify(kubeconfig), { mode: 0o600 });
  return path;
}

/**
 * Starts the agent of a cluster whose install manifests are applied. `overrides` are extra env (e.g.
 * FARPOINT_AGENT_LOG_LEVEL). Pass `previous` to restart the same agent (same state dir and token).
 */
export async function startAgent(build: CompiledSources, cluster: HarnessCluster, opts: { previous?: AgentHandle; overrides?: Record<string, string> } = {}): Promise<AgentHandle> {
  let handle = opts.previous;
  if (!handle) {
    const stateDir = await mkdtemp(join(tmpdir(), `farpoint-agent-${cluster.name}-`));
    const env = { ...(await deploymentEnv(cluster)), ...opts.overrides, FARPOINT_AGENT_STATE_DIR: stateDir };
    handle = { stateDir, env, kubeconfigPath: await serviceAccountKubeconfig(cluster, stateDir), proc: undefined as unknown as Proc };
  } else if (handle.proc?.running) {
    throw new Error(`the agent of ${cluster.name} is still running (pid ${handle.proc.pid})`);
  }
  const child = spawn(process.execPath, [build.js('src/agent/main.ts')], {
    cwd: build.dir,
    env: { ...baseEnv(), ...handle.env, KUBECONFIG: handle.kubeconfigPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  handle.proc = track(new Proc(`agent of ${cluster.name}`, child));
  return handle;
}

/** Removes an agent's state directory (after its process is gone). */
export async function removeAgentState(handle: AgentHandle | undefined): Promise<void> {
  if (handle) await rm(handle.stateDir, { recursive: true, force: true });
}

/** VmRSS of a process in KiB, from /proc. */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}
