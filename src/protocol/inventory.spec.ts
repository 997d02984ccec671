import { applyInventoryDelta, diffInventory, type Inventory, InventoryDeltaSchema, InventorySchema, normalizeInventory, summarizeInventory } from './inventory';
import { AgentProtocolLimits } from './limits';
import { makeInventory, makeNamespace, makeNode, makeWorkload } from './testing/factories';

describe(summarizeInventory.name, () => {
  it('adds allocatable capacity over nodes and counts the Ready ones', () => {
    const inventory = makeInventory({
      nodes: [
        makeNode({ name: 'a', allocatable: { cpuMillis: 3800, memoryMiB: 15437, pods: 110 } }),
        makeNode({
          name: 'b',
          allocatable: { cpuMillis: 1900, memoryMiB: 7700, pods: 110 },
          conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }],
        }),
      ],
      requested: { cpuMillis: 1250, memoryMiB: 2048 },
    });
    expect(summarizeInventory(inventory)).toEqual({
      nodeCount: 2,
      readyNodeCount: 1,
      allocatableCpuMillis: 5700,
      allocatableMemoryMiB: 23137,
      requestedCpuMillis: 1250,
      requestedMemoryMiB: 2048,
      distribution: 'K3S',
      kubernetesVersion: 'v1.31.4+k3s1',
    });
  });

  it('summarises an empty cluster as zeros', () => {
    const summary = summarizeInventory(makeInventory({ nodes: [], requested: { cpuMillis: 0, memoryMiB: 0 } }));
    expect(summary).toMatchObject({ nodeCount: 0, readyNodeCount: 0, allocatableCpuMillis: 0, allocatableMemoryMiB: 0 });
  });
});

describe(applyInventoryDelta.name, () => {
  const base = makeInventory();

  it('replaces present scalars, deletes, then upserts by key, and returns sorted lists', () => {
    const next = applyInventoryDelta(base, {
      kubernetesVersion: 'v1.32.0+k3s1',
      nodes: { upserts: [makeNode({ name: 'node-0' }), makeNode({ name: 'node-2', unschedulable: true })], deletions: ['node-1'] },
      workloads: {
        upserts: [makeWorkload({ name: 'api', readyReplicas: 1 })],
        deletions: [{ kind: 'DaemonSet', namespace: 'kube-system', name: 'svclb' }],
      },
    });
    expect(next.kubernetesVersion).toBe('v1.32.0+k3s1');
    expect(next.distribution).toBe(base.distribution);
    expect(next.nodes.map((n) => [n.name, n.unschedulable])).toEqual([
      ['node-0', false],
      ['node-2', true],
    ]);
    expect(next.namespaces).toEqual(base.namespaces);
    expect(next.workloads.map((w) => w.name)).toEqual(['api', 'web']);
  });

  it('does not modify its input and is idempotent', () => {
    const before = JSON.stringify(base);
    const delta = { namespaces: { upserts: [makeNamespace({ name: 'apps' })], deletions: ['default', 'missing'] } };
    const once = applyInventoryDelta(base, delta);
    expect(applyInventoryDelta(once, delta)).toEqual(once);
    expect(JSON.stringify(base)).toBe(before);
    expect(once.namespaces.map((n) => n.name)).toEqual(['apps', 'kube-system']);
  });
});

describe(diffInventory.name, () => {
  it('returns null when nothing changed, whatever the list order', () => {
    const inventory = makeInventory();
    const shuffled: Inventory = { ...inventory, nodes: [...inventory.nodes].reverse() };
    expect(diffInventory(inventory, shuffled)).toBeNull();
  });

  it('produces a valid delta that turns the previous inventory into the next one', () => {
    const previous = makeInventory();
    const next = makeInventory({
      distribution: 'OTHER',
      nodes: [makeNode({ name: 'node-2', roles: [], labels: { tier: 'edge' } }), makeNode({ name: 'node-3' })],
      namespaces: previous.namespaces.slice(1),
      workloads: [makeWorkload({ readyReplicas: 0 }), previous.workloads[1]],
      podCountsByPhase: { ...previous.podCountsByPhase, Pending: 2 },
    });
    const delta = diffInventory(previous, next);
    expect(delta).not.toBeNull();
    expect(InventoryDeltaSchema.safeParse(delta).success).toBe(true);
    expect(delta).toMatchObject({
      distribution: 'OTHER',
      nodes: { deletions: ['node-1'] },
      namespaces: { upserts: [], deletions: ['default'] },
      workloads: { upserts: [makeWorkload({ readyReplicas: 0 })], deletions: [] },
    });
    expect(delta?.nodes?.upserts.map((n) => n.name)).toEqual(['node-2', 'node-3']);
    expect(delta).not.toHaveProperty('requested');
    expect(applyInventoryDelta(previous, delta!)).toEqual(normalizeInventory(next));
  });
});

describe('InventorySchema', () => {
  it('accepts the factory inventory', () => {
    expect(InventorySchema.safeParse(makeInventory()).success).toBe(true);
  });

  it('rejects duplicate keys at the duplicate', () => {
    const result = InventorySchema.safeParse(makeInventory({ nodes: [makeNode(), makeNode()] }));
    expect(result.error?.issues.map((i) => [i.path, i.message])).toEqual([[['nodes', 1], 'duplicate node-1']]);
  });

  it('enforces the label count and label value length limits', () => {
    const labels = Object.fromEntries(Array.from({ length: AgentProtocolLimits.maxLabelsPerObject + 1 }, (_, i) => [`k${i}`, 'v']));
    expect(InventorySchema.safeParse(makeInventory({ nodes: [makeNode({ labels })] })).success).toBe(false);
    const longValue = makeNode({ labels: { k: 'v'.repeat(AgentProtocolLimits.maxLabelValueLength + 1) } });
    expect(InventorySchema.safeParse(makeInventory({ nodes: [longValue] })).success).toBe(false);
  });
});
