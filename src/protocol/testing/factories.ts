/**
 * Test-data factories for protocol objects, for unit tests on both sides of the protocol.
 * Every factory returns a valid object; pass overrides to change what a test is about.
 */
import type { HeartbeatPayload, ReportItem, ReportsRequest } from '../reports';
import type { Inventory, InventoryNamespace, InventoryNode, InventoryWorkload } from '../inventory';

export const TEST_CLUSTER_ID = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
export const TEST_KUBE_SYSTEM_UID = '0d3f7a2e-9c41-4b8e-a5d6-1e2f3a4b5c6d';
export const TEST_CREDENTIAL = 'fpc_TESTcredential0123456789abcdef';
export const TEST_REGISTRATION_TOKEN = 'fpr_TESTtoken0123456789abcdef';

let uidCounter = 0;
function nextUid(): string {
  uidCounter += 1;
  return `00000000-0000-4000-8000-${uidCounter.toString(16).padStart(12, '0')}`;
}

export function makeNode(overrides: Partial<InventoryNode> = {}): InventoryNode {
  return {
    name: 'node-1',
    roles: ['control-plane'],
    labels: { 'kubernetes.io/hostname': overrides.name ?? 'node-1', 'kubernetes.io/arch': 'amd64' },
    capacity: { cpuMillis: 4000, memoryMiB: 15949, pods: 110 },
    allocatable: { cpuMillis: 3800, memoryMiB: 15437, pods: 110 },
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastTransitionTime: '2026-11-20T08:00:00Z' }],
    kubeletVersion: 'v1.31.4+k3s1',
    architecture: 'amd64',
    unschedulable: false,
    ...overrides,
  };
}

export function makeNamespace(overrides: Partial<InventoryNamespace> = {}): InventoryNamespace {
  const name = overrides.name ?? 'default';
  return { name, uid: nextUid(), labels: { 'kubernetes.io/metadata.name': name }, phase: 'Active', ...overrides };
}

export function makeWorkload(overrides: Partial<InventoryWorkload> = {}): InventoryWorkload {
  return { kind: 'Deployment', namespace: 'default', name: 'web', desiredReplicas: 2, readyReplicas: 2, ...overrides };
}

export function makeInventory(overrides: Partial<Inventory> = {}): Inventory {
  return {
    kubernetesVersion: 'v1.31.4+k3s1',
    distribution: 'K3S',
    nodes: [makeNode({ name: 'node-1' }), makeNode({ name: 'node-2', roles: [] })],
    namespaces: ['default', 'kube-system'].map((name) => makeNamespace({ name })),
    workloads: [makeWorkload(), makeWorkload({ kind: 'DaemonSet', namespace: 'kube-system', name: 'svclb' })],
    podCountsByPhase: { Pending: 0, Running: 5, Succeeded: 1, Failed: 0, Unknown: 0 },
    requested: { cpuMillis: 750, memoryMiB: 512 },
    ...overrides,
  };
}

export function makeHeartbeatPayload(overrides: Partial<HeartbeatPayload> = {}): HeartbeatPayload {
  return { startedAt: '2026-11-26T10:00:00.000Z', queueDepth: 1, droppedItemCount: 0, inventorySynced: true, ...overrides };
}

export function makeHeartbeatItem(seq: number, observedAt = '2026-11-26T10:00:20.000Z'): ReportItem {
  return { seq, observedAt, kind: 'heartbeat', payload: makeHeartbeatPayload() };
}

export function makeReportsRequest(items: ReportItem[], overrides: Partial<ReportsRequest> = {}): ReportsRequest {
  return {
    clusterId: TEST_CLUSTER_ID,
    agentVersion: '0.1.0',
    sentAt: '2026-11-26T10:00:21.000Z',
    items,
    ...overrides,
  };
}
