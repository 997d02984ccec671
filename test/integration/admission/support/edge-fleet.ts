// Harness clusters with real agents enforcing admission, attached by link to a running Farpoint, for the
// policy tests that watch kubectl's answers change as desired state reaches each cluster:
//
//   const fleet = new EdgeFleet(fp, harness, tools, () => worker);
//   await fleet.attachWithAdmission('edge-a', site.id);                 // own group, agent polling fast
//   const refused = await fleet.kubectlCreate('edge-a', pod('web', 'nginx:latest'));   // { ok, output }
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HarnessCluster, KubeHarness, ToolPaths } from '../../../../src/dev/kube-harness';
import { attachByLink, createGroup, type Farpoint, freePort, waitForCluster } from '../../attach/support/farpoint';
import { type AgentHandle, type Proc, startAgent } from '../../attach/support/processes';

const run = promisify(execFile);
const WITHIN_MS = 120_000;

export interface EdgeAgent {
  clusterId: string;
  groupId: string;
  agent: AgentHandle;
}

/** A Pod in the shop namespace (which attachWithAdmission creates), with one container of this image. */
export const pod = (name: string, image: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop' },
  spec: { automountServiceAccountToken: false, containers: [{ name: 'web', image }] },
});

export class EdgeFleet {
  readonly agents = new Map<string, EdgeAgent>();

  constructor(
    private readonly fp: Farpoint,
    private readonly harness: KubeHarness,
    private readonly tools: ToolPaths,
    private readonly worker: () => Proc | undefined,
  ) {}

  cluster(name: string): HarnessCluster {
    return this.harness.cluster(name);
  }

  agent(name: string): EdgeAgent {
    const found = this.agents.get(name);
    if (!found) {
      throw new Error(`no agent attached for ${name}`);
    }
    return found;
  }

  /** The tails of the worker's and agents' logs, for a failed wait. */
  readonly logs = (): string => [`--- worker\n${this.worker()?.tail(30)}`, ...[...this.agents].map(([name, e]) => `--- agent ${name}\n${e.agent.proc.tail(40)}`)].join('\n');

  async apply(name: string, obj: KubernetesObject): Promise<void> {
    await KubernetesObjectApi.makeApiClient(this.cluster(name).kubeConfig).patch(obj, undefined, undefined, 'farpoint-test', true, PatchStrategy.ServerSideApply);
  }

  /** kubectl create as an operator would: exit code and output, never thrown. */
  async kubectlCreate(name: string, obj: V1Pod): Promise<{ ok: boolean; output: string }> {
    const file = join(tmpdir(), `farpoint-edge-${name}-${obj.metadata!.name}.json`);
    await writeFile(file, JSON.stringify(obj));
    try {
      const { stdout, stderr } = await run(this.tools.kubectl, ['--kubeconfig', this.cluster(name).kubeconfigPath, 'create', '-f', file]);
      return { ok: true, output: stdout + stderr };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  /**
   * Attaches a cluster by link (into its own group unless one is given) and starts its agent with
   * admission on, polling fast; waits until the cluster is READY.
   */
  async attachWithAdmission(name: string, siteId: string, options: { groupId?: string; overrides?: Record<string, string> } = {}): Promise<EdgeAgent> {
    const groupId = options.groupId ?? (await createGroup(this.fp, `${name}-group`)).id;
    const link = await attachByLink(this.fp, { name, groupId, siteId });
    await run(this.tools.kubectl, ['--kubeconfig', this.cluster(name).kubeconfigPath, 'apply', '-f', link.manifestUrl]);
    await this.apply(name, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    // No controller-manager creates it here, and Pods need their ServiceAccount.
    await this.apply(name, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'shop' } });
    const port = await freePort();
    const agent = await startAgent(this.fp.build, this.cluster(name), {
      overrides: {
        FARPOINT_ADMISSION: 'on',
        FARPOINT_ADMISSION_URL: `https://127.0.0.1:${port}/validate`,
        FARPOINT_ADMISSION_LISTEN_HOST: '127.0.0.1',
        FARPOINT_ADMISSION_PORT: String(port),
        FARPOINT_ADMISSION_INTERVAL_SECONDS: '0.5',
        FARPOINT_DESIRED_STATE_INTERVAL_SECONDS: '0.5',
        FARPOINT_AGENT_FORCE_INTERVALS: 'true',
        FARPOINT_HEARTBEAT_INTERVAL_SECONDS: '1',
        FARPOINT_REPORT_INTERVAL_SECONDS: '0.5',
        ...options.overrides,
      },
    });
    const entry = { clusterId: link.clusterId, groupId, agent };
    this.agents.set(name, entry);
    await waitForCluster(this.fp, link.clusterId, 'READY', undefined, { timeoutMs: WITHIN_MS, context: this.logs });
    return entry;
  }
}
