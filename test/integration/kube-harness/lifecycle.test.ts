// The harness's process guarantees: harnesses side by side, nothing left after stop(), and cleanup
// when the process that started the servers dies (the watchdog) or dies together with its watchdog
// (the sweep at the next start). The CLI runs in a child `node` so it can be killed for real.
import { CoreV1Api } from '@kubernetes/client-node';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeHarness, locateTools, processesMentioning, type HarnessDescription, type ToolPaths } from '../../../src/dev/kube-harness';
import { processStartTime, sweepStaleHarnesses } from '../../../src/dev/kube-harness/processes';
import { eventually } from '../../../src/dev/eventually';

const run = promisify(execFile);
const root = join(__dirname, '..', '..', '..');
const START_MS = 3 * 60_000;

let tools: ToolPaths;
let stateRoot: string;
let scratch: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  tools = await locateTools();
  stateRoot = await mkdtemp(join(tmpdir(), 'farpoint-harness-state-'));
  scratch = await mkdtemp(join(tmpdir(), 'farpoint-harness-cli-'));
}, 20 * 60_000);

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
    }
  }
  // Whatever a failed test left: the sweep kills servers of owners that are gone.
  await sweepStaleHarnesses(stateRoot);
  await rm(stateRoot, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

/** Starts the CLI from source and resolves with clusters.json once it prints "ready". */
async function startCli(out: string, clusters: string[]): Promise<{ child: ChildProcess; description: HarnessDescription & { pid: number } }> {
  const child = spawn(
    process.execPath,
    [
      '-r',
      join(__dirname, 'support', 'ts-require.js'),
      join(root, 'src', 'dev', 'kube-harness', 'cli.ts'),
      '--out',
      out,
      '--state-dir',
      stateRoot,
      ...clusters.flatMap((c) => ['--cluster', c]),
    ],
    { cwd: root, env: { ...process.env, FARPOINT_TOOLS_BIN: tools.binDir }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const jsonPath = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /^ready (.+)$/m.exec(stdout);
      if (m) {
        resolve(m[1]);
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`cli exited (${code ?? signal}) before ready:\n${stderr}`)));
  });
  return { child, description: JSON.parse(await readFile(jsonPath, 'utf8')) };
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

// Killed orphans are reparented to pid 1, which may not reap them: a zombie counts as gone.
const alive = (pid: number) => processStartTime(pid) !== undefined;

describe('KubeHarness lifecycle', () => {
  it(
    'runs two harnesses at once, and stopping one leaves no process of it and keeps the other',
    async () => {
      const [a, b] = await Promise.all([
        KubeHarness.start({ clusters: [{ name: 'alpha', profile: 'k3s-1node' }], tools, stateRoot }),
        KubeHarness.start({ clusters: [{ name: 'beta', profile: 'tkg-3node' }], tools, stateRoot }),
      ]);
      try {
        expect(a.path).not.toBe(b.path);
        expect(a.etcdUrl).not.toBe(b.etcdUrl);
        expect(a.cluster('alpha').server).not.toBe(b.cluster('beta').server);
        // etcd, apiserver, controller-manager and watchdog of each, found by their harness directory on the command line.
        expect(processesMentioning(a.path).length).toBeGreaterThanOrEqual(4);
        expect(processesMentioning(b.path).length).toBeGreaterThanOrEqual(4);
        const betaPids = [b.describe().etcd.pid, b.cluster('beta').apiserverPid, b.cluster('beta').controllerManagerPid!];
        expect(processesMentioning(b.path)).toEqual(expect.arrayContaining(betaPids));

        await b.stop();
        expect(processesMentioning(b.path)).toEqual([]);
        expect(betaPids.filter(alive)).toEqual([]);
        expect(existsSync(b.path)).toBe(false);

        const nodes = await a.cluster('alpha').kubeConfig.makeApiClient(CoreV1Api).listNode();
        expect(nodes.items.map((n) => n.metadata!.name)).toEqual(a.cluster('alpha').nodeNames);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
      expect(processesMentioning(a.path)).toEqual([]);
    },
    START_MS,
  );

  it(
    'CLI serves clusters with kubeconfigs and a description until SIGTERM, then leaves nothing',
    async () => {
      const out = join(scratch, 'sigterm');
      const { child, description } = await startCli(out, ['edge-k3s-07=k3s-1node']);
      expect(description.pid).toBe(child.pid);
      expect(description.clusters.map((c) => [c.name, c.profile, c.kubeconfigPath])).toEqual([['edge-k3s-07', 'k3s-1node', join(out, 'edge-k3s-07.kubeconfig')]]);
      const { stdout } = await run(tools.kubectl, ['--kubeconfig', join(out, 'edge-k3s-07.kubeconfig'), 'get', 'nodes', '-o', 'name']);
      expect(stdout.trim()).toBe('node/edge-k3s-07-server-0');

      child.kill('SIGTERM');
      expect(await exitOf(child)).toEqual({ code: 0, signal: null });
      expect(processesMentioning(description.dir)).toEqual([]);
      expect(existsSync(description.dir)).toBe(false);
      expect(existsSync(join(out, 'clusters.json'))).toBe(false);
      expect(existsSync(join(out, 'edge-k3s-07.kubeconfig'))).toBe(false);
    },
    START_MS,
  );

  it(
    'stops the servers when the process that started them is killed (watchdog)',
    async () => {
      const { child, description } = await startCli(join(scratch, 'sigkill'), ['edge-k3s-08=k3s-1node']);
      const servers = [description.etcd.pid, description.clusters[0].apiserverPid, description.clusters[0].controllerManagerPid!];
      expect(servers.filter(alive)).toEqual(servers);

      child.kill('SIGKILL');
      await exitOf(child);
      await eventually(() => expect(processesMentioning(description.dir)).toEqual([]), { timeoutMs: 30_000 });
      expect(servers.filter(alive)).toEqual([]);
      await eventually(() => expect(existsSync(description.dir)).toBe(false), { timeoutMs: 10_000 });
    },
    START_MS,
  );

  it(
    'sweeps servers left by a killed owner and watchdog at the next start',
    async () => {
      const { child, description } = await startCli(join(scratch, 'sweep'), ['edge-k3s-09=k3s-1node']);
      const watchdog = Number((await readFile(join(description.dir, 'pids', 'watchdog.pid'), 'utf8')).split(' ')[0]);
      process.kill(-watchdog, 'SIGKILL');
      await eventually(() => expect(alive(watchdog)).toBe(false));
      child.kill('SIGKILL');
      await exitOf(child);
      const servers = [description.etcd.pid, description.clusters[0].apiserverPid, description.clusters[0].controllerManagerPid!];
      // Nothing is left to stop them now.
      expect(servers.filter(alive)).toEqual(servers);

      const next = await KubeHarness.start({ clusters: [{ name: 'after-sweep', profile: 'k3s-1node' }], tools, stateRoot });
      try {
        expect(servers.filter(alive)).toEqual([]);
        expect(processesMentioning(description.dir)).toEqual([]);
        expect(existsSync(description.dir)).toBe(false);
      } finally {
        await next.stop();
      }
    },
    START_MS,
  );
});
