import type { V1Container, V1DaemonSet, V1Deployment, V1Namespace, V1Node, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import {
  type Inventory,
  type InventoryNamespace,
  type InventoryNode,
  type InventoryWorkload,
  type NodeCondition,
  normalizeInventory,
  POD_PHASES,
  type PodCountsByPhase,
  type PodPhase,
} from '../../protocol/inventory';
import { AgentProtocolLimits as L } from '../../protocol/limits';
import { detectDistribution } from './distribution';
import { bytes, countOf, cpuMillis, mibCeil, mibFloor } from './quantity';

/** What the informer caches hold, plus the apiserver version. */
export interface ClusterObjects {
  nodes: readonly V1Node[];
  namespaces: readonly V1Namespace[];
  pods: readonly V1Pod[];
  deployments: readonly V1Deployment[];
  statefulsets: readonly V1StatefulSet[];
  daemonsets: readonly V1DaemonSet[];
}

/** List results carry Dates, watch events carry strings; both become the same ISO text. */
function isoTime(value: Date | string | undefined): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function truncate(text: string | undefined, max: number): string | undefined {
  if (text === undefined || text === '') {
    return undefined;
  }
  return text.length > max ? text.slice(0, max) : text;
}

/** The first labels in key order, within the protocol limit. */
export function limitLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels ?? {})
    .sort()
    .slice(0, L.maxLabelsPerObject)) {
    out[key] = labels![key];
  }
  return out;
}

export function nodeRoles(labels: Record<string, string> | undefined): string[] {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/')) {
      roles.add(key.slice('node-role.kubernetes.io/'.length));
    }
    if (key === 'kubernetes.io/role' && value) {
      roles.add(value);
    }
  }
  return [...roles]
    .filter((r) => r.length > 0 && r.length <= L.maxNamespaceNameLength)
    .sort()
    .slice(0, L.maxRolesPerNode);
}

function toNode(node: V1Node): InventoryNode {
  const capacity = node.status?.capacity ?? {};
  const allocatable = node.status?.allocatable ?? {};
  const conditions: NodeCondition[] = (node.status?.conditions ?? []).slice(0, L.maxConditionsPerNode).map((c) => {
    const condition: NodeCondition = {
      type: c.type.slice(0, L.maxReasonLength),
      status: c.status === 'True' || c.status === 'False' ? c.status : 'Unknown',
    };
    const reason = truncate(c.reason, L.maxReasonLength);
    const message = truncate(c.message, L.maxMessageLength);
    const lastTransitionTime = isoTime(c.lastTransitionTime);
    if (reason) {
      condition.reason = reason;
    }
    if (message) {
      condition.message = message;
    }
    if (lastTransitionTime) {
      condition.lastTransitionTime = lastTransitionTime;
    }
    return condition;
  });
  return {
    name: node.metadata?.name ?? '',
    roles: nodeRoles(node.metadata?.labels),
    labels: limitLabels(node.metadata?.labels),
    capacity: { cpuMillis: cpuMillis(capacity.cpu), memoryMiB: mibFloor(bytes(capacity.memory)), pods: countOf(capacity.pods) },
    allocatable: {
      cpuMillis: cpuMillis(allocatable.cpu),
      memoryMiB: mibFloor(bytes(allocatable.memory)),
      pods: countOf(allocatable.pods),
    },
    conditions,
    kubeletVersion: node.status?.nodeInfo?.kubeletVersion?.slice(0, L.maxVersionLength) ?? '',
    architecture: node.status?.nodeInfo?.architecture?.slice(0, L.maxVersionLength) ?? '',
    unschedulable: node.spec?.unschedulable === true,
  };
}

function toNamespace(namespace: V1Namespace): InventoryNamespace | undefined {
  const { name, uid } = namespace.metadata ?? {};
  if (!name || !uid) {
    return undefined;
  }
  return {
    name,
    uid,
    labels: limitLabels(namespace.metadata?.labels),
    phase: namespace.status?.phase === 'Terminating' ? 'Terminating' : 'Active',
  };
}

function toWorkloads(objects: ClusterObjects): InventoryWorkload[] {
  const ref = (o: { metadata?: { name?: string; namespace?: string } }) => ({
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
  });
  return [
    ...objects.deployments.map((d) => ({
      kind: 'Deployment' as const,
      ...ref(d),
      desiredReplicas: d.spec?.replicas ?? 1,
      readyReplicas: d.status?.readyReplicas ?? 0,
    })),
    ...objects.statefulsets.map((s) => ({
      kind: 'StatefulSet' as const,
      ...ref(s),
      desiredReplicas: s.spec?.replicas ?? 1,
      readyReplicas: s.status?.readyReplicas ?? 0,
    })),
    ...objects.daemonsets.map((d) => ({
      kind: 'DaemonSet' as const,
      ...ref(d),
      desiredReplicas: d.status?.desiredNumberScheduled ?? 0,
      readyReplicas: d.status?.numberReady ?? 0,
    })),
  ].filter((w) => w.namespace && w.name);
}

interface Requests {
  cpuMillis: number;
  memoryBytes: number;
}

function containerRequests(container: V1Container): Requests {
  const requests = container.resources?.requests ?? {};
  return { cpuMillis: cpuMillis(requests.cpu), memoryBytes: bytes(requests.memory) };
}

/**
 * A pod's effective requests as the scheduler counts them (k8s.io/component-helpers resource.PodRequests):
 * the sum of its containers plus sidecars (restartable init containers), at least the largest
 * init-container step, plus the pod overhead.
 */
export function podRequests(pod: V1Pod): Requests {
  const sum = { cpuMillis: 0, memoryBytes: 0 };
  for (const c of pod.spec?.containers ?? []) {
    const r = containerRequests(c);
    sum.cpuMillis += r.cpuMillis;
    sum.memoryBytes += r.memoryBytes;
  }
  const sidecars = { cpuMillis: 0, memoryBytes: 0 };
  const initMax = { cpuMillis: 0, memoryBytes: 0 };
  for (const c of pod.spec?.initContainers ?? []) {
    const r = containerRequests(c);
    let step: Requests;
    if (c.restartPolicy === 'Always') {
      sum.cpuMillis += r.cpuMillis;
      sum.memoryBytes += r.memoryBytes;
      sidecars.cpuMillis += r.cpuMillis;
      sidecars.memoryBytes += r.memoryBytes;
      step = { ...sidecars };
    } else {
      step = { cpuMillis: r.cpuMillis + sidecars.cpuMillis, memoryBytes: r.memoryBytes + sidecars.memoryBytes };
    }
    initMax.cpuMillis = Math.max(initMax.cpuMillis, step.cpuMillis);
    initMax.memoryBytes = Math.max(initMax.memoryBytes, step.memoryBytes);
  }
  const overhead = pod.spec?.overhead ?? {};
  return {
    cpuMillis: Math.max(sum.cpuMillis, initMax.cpuMillis) + cpuMillis(overhead.cpu),
    memoryBytes: Math.max(sum.memoryBytes, initMax.memoryBytes) + bytes(overhead.memory),
  };
}

function podPhase(pod: V1Pod): PodPhase {
  const phase = pod.status?.phase ?? 'Pending';
  return (POD_PHASES as readonly string[]).includes(phase) ? (phase as PodPhase) : 'Unknown';
}

/** The protocol inventory of a cluster from its objects; lists sorted, within protocol limits. */
export function buildInventory(objects: ClusterObjects, kubernetesVersion: string): Inventory {
  const podCountsByPhase: PodCountsByPhase = { Pending: 0, Running: 0, Succeeded: 0, Failed: 0, Unknown: 0 };
  let requestedCpuMillis = 0;
  let requestedMemoryBytes = 0;
  for (const pod of objects.pods) {
    const phase = podPhase(pod);
    podCountsByPhase[phase] += 1;
    if (phase === 'Succeeded' || phase === 'Failed') {
      continue;
    }
    const r = podRequests(pod);
    requestedCpuMillis += r.cpuMillis;
    requestedMemoryBytes += r.memoryBytes;
  }
  const inventory = normalizeInventory({
    kubernetesVersion: kubernetesVersion.slice(0, L.maxVersionLength),
    distribution: detectDistribution(objects.nodes, kubernetesVersion),
    nodes: objects.nodes.filter((n) => n.metadata?.name).map(toNode),
    namespaces: objects.namespaces.map(toNamespace).filter((n): n is InventoryNamespace => n !== undefined),
    workloads: toWorkloads(objects),
    podCountsByPhase,
    requested: { cpuMillis: requestedCpuMillis, memoryMiB: mibCeil(requestedMemoryBytes) },
  });
  // Beyond the protocol limits keep the first objects in key order, the same ones every time.
  inventory.nodes = inventory.nodes.slice(0, L.maxNodes);
  inventory.namespaces = inventory.namespaces.slice(0, L.maxNamespaces);
  inventory.workloads = inventory.workloads.slice(0, L.maxWorkloads);
  return inventory;
}
