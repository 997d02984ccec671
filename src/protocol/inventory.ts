import { z } from 'zod';
import { count, CountSchema, documented, KubernetesUidSchema, LabelsSchema, NamespaceNameSchema, NodeNameSchema, ObjectNameSchema } from './common';
import { canonicalJson } from './canonical-json';
import { AgentProtocolLimits as L } from './limits';

// ---------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------

export const DISTRIBUTIONS = ['TKG', 'K3S', 'OTHER'] as const;
export const DistributionSchema = z.enum(DISTRIBUTIONS);
export type Distribution = z.infer<typeof DistributionSchema>;

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export const WorkloadKindSchema = z.enum(WORKLOAD_KINDS);
export type WorkloadKind = z.infer<typeof WorkloadKindSchema>;

export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
export type PodPhase = (typeof POD_PHASES)[number];

/** CPU in millicores and memory in MiB, whole numbers so they fit a GraphQL Int. */
export const ResourceTotalsSchema = z.object({
  cpuMillis: CountSchema,
  memoryMiB: CountSchema,
});
export type ResourceTotals = z.infer<typeof ResourceTotalsSchema>;

/** Node capacity or allocatable: CPU rounded up to millicores, memory rounded down to MiB, pod slots. */
export const NodeResourcesSchema = ResourceTotalsSchema.extend({ pods: CountSchema });
export type NodeResources = z.infer<typeof NodeResourcesSchema>;

/** A node condition without its heartbeat time, so a healthy node does not change every minute. */
export const NodeConditionSchema = z.object({
  type: z.string().min(1).max(L.maxReasonLength),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().max(L.maxReasonLength).optional(),
  message: z.string().max(L.maxMessageLength).optional(),
  lastTransitionTime: z.iso.datetime({ offset: true }).optional(),
});
export type NodeCondition = z.infer<typeof NodeConditionSchema>;

export const InventoryNodeSchema = z.object({
  name: NodeNameSchema,
  roles: documented(
    z.array(z.string().min(1).max(L.maxNamespaceNameLength)).max(L.maxRolesPerNode),
    'From the node-role.kubernetes.io/<role> and kubernetes.io/role labels, sorted.',
  ),
  labels: LabelsSchema,
  capacity: NodeResourcesSchema,
  allocatable: NodeResourcesSchema,
  conditions: z.array(NodeConditionSchema).max(L.maxConditionsPerNode),
  kubeletVersion: documented(z.string().max(L.maxVersionLength), 'status.nodeInfo.kubeletVersion.'),
  architecture: documented(z.string().max(L.maxVersionLength), 'status.nodeInfo.architecture, e.g. amd64 or arm64.'),
  unschedulable: documented(z.boolean(), 'spec.unschedulable: true when the node is cordoned.'),
});
export type InventoryNode = z.infer<typeof InventoryNodeSchema>;

export const InventoryNamespaceSchema = z.object({
  name: NamespaceNameSchema,
  uid: KubernetesUidSchema,
  labels: LabelsSchema,
  phase: z.enum(['Active', 'Terminating']),
});
export type InventoryNamespace = z.infer<typeof InventoryNamespaceSchema>;

export const WorkloadRefSchema = z.object({
  kind: WorkloadKindSchema,
  namespace: NamespaceNameSchema,
  name: ObjectNameSchema,
});
export type WorkloadRef = z.infer<typeof WorkloadRefSchema>;

export const InventoryWorkloadSchema = WorkloadRefSchema.extend({
  desiredReplicas: count('spec.replicas (default 1) for Deployments and StatefulSets; status.desiredNumberScheduled for DaemonSets.'),
  readyReplicas: count('status.readyReplicas; status.numberReady for DaemonSets.'),
});
export type InventoryWorkload = z.infer<typeof InventoryWorkloadSchema>;

export const PodCountsByPhaseSchema = z.object({
  Pending: CountSchema,
  Running: CountSchema,
  Succeeded: CountSchema,
  Failed: CountSchema,
  Unknown: CountSchema,
});
export type PodCountsByPhase = z.infer<typeof PodCountsByPhaseSchema>;

function addDuplicateIssues<T>(ctx: z.core.$RefinementCtx, list: readonly T[], listName: string, key: (item: T) => string): void {
  const seen = new Set<string>();
  list.forEach((item, index) => {
    const k = key(item);
    if (seen.has(k)) {
      ctx.addIssue({ code: 'custom', path: [listName, index], message: `duplicate ${k}` });
    }
    seen.add(k);
  });
}

/**
 * The full inventory of a cluster: the payload of an `inventory.snapshot` item. Lists are unique
 * by key (node name, namespace name, workload kind/namespace/name) and sorted by it.
 */
export const InventorySchema = z
  .object({
    kubernetesVersion: documented(z.string().min(1).max(L.maxVersionLength), 'gitVersion of the kube-apiserver (GET /version), e.g. v1.31.4+k3s1.'),
    distribution: DistributionSchema,
    nodes: z.array(InventoryNodeSchema).max(L.maxNodes),
    namespaces: z.array(InventoryNamespaceSchema).max(L.maxNamespaces),
    workloads: z.array(InventoryWorkloadSchema).max(L.maxWorkloads),
    podCountsByPhase: PodCountsByPhaseSchema,
    requested: documented(
      ResourceTotalsSchema.extend({}),
      'Sum of the effective requests (as the scheduler counts them: containers, init containers, sidecars, ' +
        'overhead) of all pods not in phase Succeeded or Failed; memory rounded up to MiB.',
    ),
  })
  .superRefine((inv, ctx) => {
    addDuplicateIssues(ctx, inv.nodes, 'nodes', nodeKey);
    addDuplicateIssues(ctx, inv.namespaces, 'namespaces', namespaceKey);
    addDuplicateIssues(ctx, inv.workloads, 'workloads', workloadKey);
  });
export type Inventory = z.infer<typeof InventorySchema>;

function changesOf<U extends z.ZodType, D extends z.ZodType>(upsert: U, deletion: D, max: number) {
  return z.object({
    /** Objects added or changed: each replaces the object with the same key. */
    upserts: z.array(upsert).max(max),
    /** Keys of objects that no longer exist; unknown keys are ignored. */
    deletions: z.array(deletion).max(max),
  });
}

/**
 * Changes since the previous inventory item of the same agent: the payload of `inventory.delta`.
 * A present scalar replaces the old value; a present list section applies deletions, then upserts.
 */
export const InventoryDeltaSchema = z.object({
  kubernetesVersion: z.string().min(1).max(L.maxVersionLength).optional(),
  distribution: DistributionSchema.optional(),
  podCountsByPhase: PodCountsByPhaseSchema.optional(),
  requested: ResourceTotalsSchema.optional(),
  nodes: changesOf(InventoryNodeSchema, NodeNameSchema, L.maxNodes).optional(),
  namespaces: changesOf(InventoryNamespaceSchema, NamespaceNameSchema, L.maxNamespaces).optional(),
  workloads: changesOf(InventoryWorkloadSchema, WorkloadRefSchema, L.maxWorkloads).optional(),
});
export type InventoryDelta = z.infer<typeof InventoryDeltaSchema>;

// ---------------------------------------------------------------------------------------------
// Pure functions shared by the agent (building deltas) and the API (applying them)
// ---------------------------------------------------------------------------------------------

export function nodeKey(node: Pick<InventoryNode, 'name'>): string {
  return node.name;
}
export function namespaceKey(namespace: Pick<InventoryNamespace, 'name'>): string {
  return namespace.name;
}
export function workloadKey(ref: WorkloadRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** Code-point order, independent of the locale. */
function byKey<T>(key: (item: T) => string) {
  return (a: T, b: T): number => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

/** The inventory with every list sorted by key; other fields unchanged. */
export function normalizeInventory(inventory: Inventory): Inventory {
  return {
    ...inventory,
    nodes: [...inventory.nodes].sort(byKey(nodeKey)),
    namespaces: [...inventory.namespaces].sort(byKey(namespaceKey)),
    workloads: [...inventory.workloads].sort(byKey(workloadKey)),
  };
}

export interface InventorySummary {
  nodeCount: number;
  /** Nodes whose Ready condition is True. */
  readyNodeCount: number;
  allocatableCpuMillis: number;
  allocatableMemoryMiB: number;
  requestedCpuMillis: number;
  requestedMemoryMiB: number;
  distribution: Distribution;
  kubernetesVersion: string;
}

/** The cluster-level numbers the API stores on Cluster (see prisma/schema.prisma). */
export function summarizeInventory(inventory: Inventory): InventorySummary {
  let allocatableCpuMillis = 0;
  let allocatableMemoryMiB = 0;
  let readyNodeCount = 0;
  for (const node of inventory.nodes) {
    allocatableCpuMillis += node.allocatable.cpuMillis;
    allocatableMemoryMiB += node.allocatable.memoryMiB;
    if (node.conditions.some((c) => c.type === 'Ready' && c.status === 'True')) {
      readyNodeCount += 1;
    }
  }
  return {
    nodeCount: inventory.nodes.length,
    readyNodeCount,
    allocatableCpuMillis,
    allocatableMemoryMiB,
    requestedCpuMillis: inventory.requested.cpuMillis,
    requestedMemoryMiB: inventory.requested.memoryMiB,
    distribution: inventory.distribution,
    kubernetesVersion: inventory.kubernetesVersion,
  };
}

function applyChanges<T, D>(
  current: readonly T[],
  changes: { upserts: readonly T[]; deletions: readonly D[] } | undefined,
  key: (item: T) => string,
  deletionKey: (deletion: D) => string,
): T[] {
  if (!changes) {
    return [...current];
  }
  const byKeyMap = new Map(current.map((item) => [key(item), item]));
  for (const deletion of changes.deletions) {
    byKeyMap.delete(deletionKey(deletion));
  }
  for (const item of changes.upserts) {
    byKeyMap.set(key(item), item);
  }
  return [...byKeyMap.values()].sort(byKey(key));
}

/**
 * Applies a delta to an inventory and returns the new inventory (sorted lists); the input is not
 * modified. Idempotent: applying the same delta twice gives the same result.
 */
export function applyInventoryDelta(inventory: Inventory, delta: InventoryDelta): Inventory {
  return {
    kubernetesVersion: delta.kubernetesVersion ?? inventory.kubernetesVersion,
    distribution: delta.distribution ?? inventory.distribution,
    podCountsByPhase: delta.podCountsByPhase ?? inventory.podCountsByPhase,
    requested: delta.requested ?? inventory.requested,
    nodes: applyChanges(inventory.nodes, delta.nodes, nodeKey, (name) => name),
    namespaces: applyChanges(inventory.namespaces, delta.namespaces, namespaceKey, (name) => name),
    workloads: applyChanges(inventory.workloads, delta.workloads, workloadKey, workloadKey),
  };
}

function diffList<T, D>(previous: readonly T[], next: readonly T[], key: (item: T) => string, toDeletion: (item: T) => D): { upserts: T[]; deletions: D[] } | undefined {
  const before = new Map(previous.map((item) => [key(item), canonicalJson(item)]));
  const nextKeys = new Set<string>();
  const upserts: T[] = [];
  for (const item of [...next].sort(byKey(key))) {
    const k = key(item);
    nextKeys.add(k);
    if (before.get(k) !== canonicalJson(item)) {
      upserts.push(item);
    }
  }
  const deletions = [...previous]
    .sort(byKey(key))
    .filter((item) => !nextKeys.has(key(item)))
    .map(toDeletion);
  return upserts.length || deletions.length ? { upserts, deletions } : undefined;
}

/**
 * The delta that turns `previous` into `next`, or null when nothing changed.
 * `applyInventoryDelta(previous, diffInventory(previous, next))` equals `normalizeInventory(next)`.
 */
export function diffInventory(previous: Inventory, next: Inventory): InventoryDelta | null {
  const delta: InventoryDelta = {};
  if (previous.kubernetesVersion !== next.kubernetesVersion) {
    delta.kubernetesVersion = next.kubernetesVersion;
  }
  if (previous.distribution !== next.distribution) {
    delta.distribution = next.distribution;
  }
  if (canonicalJson(previous.podCountsByPhase) !== canonicalJson(next.podCountsByPhase)) {
    delta.podCountsByPhase = next.podCountsByPhase;
  }
  if (canonicalJson(previous.requested) !== canonicalJson(next.requested)) {
    delta.requested = next.requested;
  }
  const nodes = diffList(previous.nodes, next.nodes, nodeKey, (n) => n.name);
  if (nodes) {
    delta.nodes = nodes;
  }
  const namespaces = diffList(previous.namespaces, next.namespaces, namespaceKey, (n) => n.name);
  if (namespaces) {
    delta.namespaces = namespaces;
  }
  const workloads = diffList(previous.workloads, next.workloads, workloadKey, (w) => ({
    kind: w.kind,
    namespace: w.namespace,
    name: w.name,
  }));
  if (workloads) {
    delta.workloads = workloads;
  }
  return Object.keys(delta).length ? delta : null;
}

/** Number of listed objects a delta carries (upserts plus deletions), to decide when a snapshot is cheaper. */
export function inventoryDeltaSize(delta: InventoryDelta): number {
  const count = (c?: { upserts: unknown[]; deletions: unknown[] }) => (c ? c.upserts.length + c.deletions.length : 0);
  return count(delta.nodes) + count(delta.namespaces) + count(delta.workloads);
}
