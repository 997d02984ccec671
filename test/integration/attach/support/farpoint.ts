// Farpoint as the attach tests drive it: the real API (in this process, on a port chosen up front so
// registration links carry a reachable PUBLIC_URL), the real worker as a child process, and the
// GraphQL operations of attaching, reading and detaching clusters.
import { freePort } from '../../../../src/dev/free-port';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApi, type TestApi } from '../../../support/api';
import { compileSources, type CompiledSources } from './build';
import { type Proc, startWorker } from './processes';

export { freePort };

export interface Farpoint {
  api: TestApi;
  build: CompiledSources;
  /** ADMIN token of the test organization. */
  token: string;
  organizationId: string;
  /** Environment a worker for this API needs (same database, Redis prefix and PUBLIC_URL). */
  workerEnv: Record<string, string>;
  startWorker(extraEnv?: Record<string, string>, name?: string): Promise<Proc>;
  close(): Promise<void>;
}

/**
 * The harness clusters listen on 127.0.0.1, which the attach egress policy refuses by default, so
 * the API and worker here list loopback; `env` may override it.
 */
export const HARNESS_ATTACH_ENV = { ATTACH_ALLOWED_CIDRS: '127.0.0.0/8' };

/** The API with a fresh database and Redis prefix, an organization, and src/ compiled for child processes. */
export async function startFarpoint(overrides: Record<string, string> = {}): Promise<Farpoint> {
  const env = { ...HARNESS_ATTACH_ENV, ...overrides };
  const [build, port] = await Promise.all([compileSources(), freePort()]);
  const api = await startApi({ PORT: String(port), ...env });
  const { token, organizationId } = await api.bootstrapOrgWithId(`attach-${port}`);
  const workerEnv = { DATABASE_URL: api.config.DATABASE_URL, REDIS_URL: api.config.REDIS_URL, QUEUE_PREFIX: api.config.QUEUE_PREFIX, PUBLIC_URL: api.url, ...env };
  return {
    api,
    build,
    token,
    organizationId,
    workerEnv,
    startWorker: (extraEnv = {}, name) => startWorker(build, { ...workerEnv, ...extraEnv }, name),
    // Call after the children are stopped: it removes the compiled sources they run from.
    close: async () => {
      await api.close();
      await build.remove();
    },
  };
}

// ---- GraphQL -----------------------------------------------------------------------------------------

export const CLUSTER_DETAIL = `id name phase phaseReason health distribution kubernetesVersion nodeCount attachMode agentVersion lastHeartbeatAt
  capacity { allocatableCpuMillis allocatableMemoryMiB requestedCpuMillis requestedMemoryMiB }
  nodes { name ready allocatable { cpuMillis memoryMiB pods } }
  discoveredNamespaces { name phase }
  operations { id kind state attempts lastError startedAt finishedAt }`;

export interface ClusterDetail {
  id: string;
  name: string;
  phase: string;
  phaseReason: string | null;
  health: string;
  distribution: string;
  kubernetesVersion: string | null;
  nodeCount: number;
  attachMode: string | null;
  agentVersion: string | null;
  lastHeartbeatAt: string | null;
  capacity: { allocatableCpuMillis: number; allocatableMemoryMiB: number; requestedCpuMillis: number; requestedMemoryMiB: number };
  nodes: { name: string; ready: boolean; allocatable: { cpuMillis: number; memoryMiB: number; pods: number } }[];
  discoveredNamespaces: { name: string; phase: string }[];
  operations: { id: string; kind: string; state: string; attempts: number; lastError: string | null; startedAt: string | null; finishedAt: string | null }[];
}

export async function createSite(fp: Farpoint, name: string, heartbeatIntervalSeconds = 5, disconnectGraceSeconds = 10): Promise<{ id: string }> {
  const data = await fp.api.gqlOk<{ createSite: { id: string } }>(fp.token, 'mutation($in: CreateSiteInput!) { createSite(input: $in) { id } }', {
    in: {
      name,
      tier: 'FAR_EDGE',
      region: 'eu-central',
      hardwareModel: 'Dell PowerEdge XR11',
      connectivity: { mode: 'ALWAYS_ON', heartbeatIntervalSeconds, disconnectGraceSeconds },
    },
  });
  return data.createSite;
}

export async function createGroup(fp: Farpoint, name: string): Promise<{ id: string }> {
  const data = await fp.api.gqlOk<{ createClusterGroup: { id: string } }>(fp.token, 'mutation($in: CreateClusterGroupInput!) { createClusterGroup(input: $in) { id } }', {
    in: { name },
  });
  return data.createClusterGroup;
}

export interface LinkAttach {
  clusterId: string;
  phase: string;
  registrationToken: string;
  manifestUrl: string;
  installCommand: string;
}

export async function attachByLink(fp: Farpoint, input: { name: string; groupId: string; siteId?: string }): Promise<LinkAttach> {
  const data = await fp.api.gqlOk<{ attachCluster: { cluster: { id: string; phase: string }; registrationToken: string; manifestUrl: string; installCommand: string } }>(
    fp.token,
    'mutation($in: AttachClusterInput!) { attachCluster(input: $in) { cluster { id phase } registrationToken manifestUrl installCommand } }',
    { in: input },
  );
  const a = data.attachCluster;
  return { clusterId: a.cluster.id, phase: a.cluster.phase, registrationToken: a.registrationToken, manifestUrl: a.manifestUrl, installCommand: a.installCommand };
}

export async function attachByQueue(
  fp: Farpoint,
  input: { name: string; groupId: string; siteId?: string; kubeconfig: string },
): Promise<{ clusterId: string; phase: string; operationId: string; operationState: string }> {
  const data = await fp.api.gqlOk<{ attachClusterWithKubeconfig: { cluster: { id: string; phase: string }; operation: { id: string; state: string } } }>(
    fp.token,
    'mutation($in: AttachClusterWithKubeconfigInput!) { attachClusterWithKubeconfig(input: $in) { cluster { id phase } operation { id state } } }',
    { in: input },
  );
  const a = data.attachClusterWithKubeconfig;
  return { clusterId: a.cluster.id, phase: a.cluster.phase, operationId: a.operation.id, operationState: a.operation.state };
}

export async function clusterDetail(fp: Farpoint, id: string): Promise<ClusterDetail> {
  return (await fp.api.gqlOk<{ cluster: ClusterDetail }>(fp.token, `query($id: ID!) { cluster(id: $id) { ${CLUSTER_DETAIL} } }`, { id })).cluster;
}

export async function operation(fp: Farpoint, id: string): Promise<{ id: string; state: string; attempts: number; lastError: string | null; finishedAt: string | null }> {
  return (
    await fp.api.gqlOk<{ clusterOperation: { id: string; state: string; attempts: number; lastError: string | null; finishedAt: string | null } }>(
      fp.token,
      'query($id: ID!) { clusterOperation(id: $id) { id state attempts lastError finishedAt } }',
      { id },
    )
  ).clusterOperation;
}

// ---- waiting -----------------------------------------------------------------------------------------

/**
 * Polls `read` until `done(value)` holds and returns that value. Not a timed assertion: the deadline
 * only bounds the wait, and on expiry the error shows the last value (and `context()`, e.g. logs).
 */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; context?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      lastError = undefined;
      if (done(last)) {
        return last;
      }
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `gave up waiting for ${what} after ${opts.timeoutMs ?? 90_000} ms; last value: ${JSON.stringify(last)?.slice(0, 2000)}${lastError ? `; last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}` : ''}${opts.context ? `\n${opts.context()}` : ''}`,
      );
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

/** Waits until the cluster is in `phase` (and `health`, when given). */
export function waitForCluster(fp: Farpoint, id: string, phase: string, health?: string, opts: { timeoutMs?: number; context?: () => string } = {}): Promise<ClusterDetail> {
  return waitFor(
    `cluster ${id} to be ${phase}${health ? `/${health}` : ''}`,
    () => clusterDetail(fp, id),
    (c) => c.phase === phase && (!health || c.health === health),
    opts,
  );
}

// ---- agent protocol over HTTP ---------------------------------------------------------------------------

export interface HttpResult {
  status: number;
  json: any;
  text: string;
}

export async function http(fp: Farpoint, method: 'GET' | 'POST', path: string, opts: { body?: unknown; credential?: string } = {}): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (opts.credential) {
    headers.authorization = `Bearer ${opts.credential}`;
  }
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${fp.api.url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
