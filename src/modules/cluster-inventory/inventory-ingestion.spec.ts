import { type ReportItem } from '../../protocol';
import { makeHeartbeatItem, makeHeartbeatPayload, makeInventory, makeNode } from '../../protocol/testing/factories';
import { agentQueueOf, foldReportItems, healthFromInventory, needsStoredInventory, newItems, nextHealth } from './inventory-ingestion';

const notReady = (name: string) => makeNode({ name, conditions: [{ type: 'Ready', status: 'False' }] });
const unknownReady = (name: string) => makeNode({ name, conditions: [{ type: 'Ready', status: 'Unknown' }] });
const snapshotItem = (seq: number, inventory = makeInventory()): ReportItem => ({ seq, observedAt: '2026-11-26T10:00:00Z', kind: 'inventory.snapshot', payload: inventory });
const deltaItem = (seq: number, payload: Extract<ReportItem, { kind: 'inventory.delta' }>['payload']): ReportItem => ({
  seq,
  observedAt: '2026-11-26T10:00:00Z',
  kind: 'inventory.delta',
  payload,
});

describe(newItems.name, () => {
  it('keeps only items above the acknowledged seq, in seq order', () => {
    const items = [makeHeartbeatItem(7), makeHeartbeatItem(3), makeHeartbeatItem(5), makeHeartbeatItem(4)];
    expect(newItems(items, 4).map((i) => i.seq)).toEqual([5, 7]);
  });

  it('treats the acknowledged seq itself as a duplicate', () => {
    expect(newItems([makeHeartbeatItem(4)], 4)).toEqual([]);
  });
});

describe(foldReportItems.name, () => {
  it('acknowledges the highest new seq, gaps included', () => {
    const outcome = foldReportItems({ ackedSeq: 2, inventory: null }, [makeHeartbeatItem(3), makeHeartbeatItem(10)]);
    expect(outcome).toMatchObject({ ackedSeq: 10, processed: 2, skipped: 0, heartbeat: true, inventoryChanged: false });
  });

  it('changes nothing for a batch that is entirely at or below ackedSeq (a replay)', () => {
    const inventory = makeInventory();
    const outcome = foldReportItems({ ackedSeq: 9, inventory }, [makeHeartbeatItem(8), snapshotItem(9, makeInventory({ nodes: [] }))]);
    expect(outcome).toEqual({
      ackedSeq: 9,
      processed: 0,
      skipped: 2,
      heartbeat: false,
      inventory,
      inventoryChanged: false,
      snapshotReceived: false,
      ignoredDeltas: 0,
      needsSnapshot: false,
      policyItems: [],
    });
  });

  it("reads the agent queue's figures from a heartbeat, older agents' included", () => {
    expect(agentQueueOf(makeHeartbeatPayload({ queueDepth: 5, droppedByKind: { heartbeat: 3 }, oldestQueuedAt: '2026-11-26T09:30:00+01:00' }))).toEqual({
      depth: 5,
      droppedByKind: { heartbeat: 3 },
      oldestQueuedAt: new Date('2026-11-26T08:30:00.000Z'),
    });
    // An agent before the segmented queue sends neither field.
    expect(agentQueueOf(makeHeartbeatPayload({ queueDepth: 1 }))).toEqual({ depth: 1, droppedByKind: null, oldestQueuedAt: null });
  });

  it('applies snapshot and deltas in seq order', () => {
    const outcome = foldReportItems({ ackedSeq: 0, inventory: null }, [
      snapshotItem(1),
      deltaItem(2, { nodes: { upserts: [], deletions: ['node-1'] } }),
      deltaItem(3, { nodes: { upserts: [makeNode({ name: 'node-3' })], deletions: [] }, kubernetesVersion: 'v1.32.0' }),
    ]);
    expect(outcome.inventory!.nodes.map((n) => n.name)).toEqual(['node-2', 'node-3']);
    expect(outcome.inventory!.kubernetesVersion).toBe('v1.32.0');
    expect(outcome).toMatchObject({ ackedSeq: 3, inventoryChanged: true, snapshotReceived: true, needsSnapshot: false });
  });

  it('replaces the stored inventory with a newer snapshot', () => {
    const outcome = foldReportItems({ ackedSeq: 5, inventory: makeInventory() }, [snapshotItem(6, makeInventory({ nodes: [makeNode({ name: 'solo' })] }))]);
    expect(outcome.inventory!.nodes.map((n) => n.name)).toEqual(['solo']);
  });

  it('applies a delta to the stored inventory', () => {
    const outcome = foldReportItems({ ackedSeq: 5, inventory: makeInventory() }, [deltaItem(6, { requested: { cpuMillis: 10, memoryMiB: 20 } })]);
    expect(outcome.inventory!.requested).toEqual({ cpuMillis: 10, memoryMiB: 20 });
    expect(outcome).toMatchObject({ inventoryChanged: true, snapshotReceived: false, needsSnapshot: false });
  });

  it('drops a delta without a base, still acknowledges it, and asks for a snapshot', () => {
    const outcome = foldReportItems({ ackedSeq: 0, inventory: null }, [deltaItem(1, { requested: { cpuMillis: 1, memoryMiB: 1 } }), makeHeartbeatItem(2)]);
    expect(outcome).toMatchObject({ ackedSeq: 2, inventory: null, inventoryChanged: false, ignoredDeltas: 1, needsSnapshot: true });
  });

  it('needs no snapshot when one follows the dropped delta in the same batch', () => {
    const outcome = foldReportItems({ ackedSeq: 0, inventory: null }, [deltaItem(1, { requested: { cpuMillis: 1, memoryMiB: 1 } }), snapshotItem(2)]);
    expect(outcome).toMatchObject({ ignoredDeltas: 1, needsSnapshot: false, snapshotReceived: true });
  });
});

describe(healthFromInventory.name, () => {
  it('is HEALTHY when every node is Ready', () => {
    expect(healthFromInventory(makeInventory({ nodes: [makeNode({ name: 'a' }), makeNode({ name: 'b' })] }))).toBe('HEALTHY');
  });

  it('is WARNING when some nodes are not Ready', () => {
    expect(healthFromInventory(makeInventory({ nodes: [makeNode({ name: 'a' }), notReady('b')] }))).toBe('WARNING');
    expect(healthFromInventory(makeInventory({ nodes: [makeNode({ name: 'a' }), unknownReady('b')] }))).toBe('WARNING');
  });

  it('is UNHEALTHY when no node is Ready, or there are no nodes', () => {
    expect(healthFromInventory(makeInventory({ nodes: [notReady('a'), unknownReady('b')] }))).toBe('UNHEALTHY');
    expect(healthFromInventory(makeInventory({ nodes: [makeNode({ name: 'a', conditions: [] })] }))).toBe('UNHEALTHY');
    expect(healthFromInventory(makeInventory({ nodes: [] }))).toBe('UNHEALTHY');
  });
});

describe(nextHealth.name, () => {
  const healthy = makeInventory();
  const degraded = makeInventory({ nodes: [makeNode({ name: 'a' }), notReady('b')] });

  it('keeps the health when nothing new arrived', () => {
    expect(nextHealth('DISCONNECTED', { heartbeat: false, inventoryChanged: false, inventory: healthy })).toBe('DISCONNECTED');
    expect(nextHealth('WARNING', { heartbeat: false, inventoryChanged: false, inventory: healthy })).toBe('WARNING');
  });

  it('follows the inventory on a heartbeat or an inventory change', () => {
    expect(nextHealth('UNKNOWN', { heartbeat: true, inventoryChanged: false, inventory: healthy })).toBe('HEALTHY');
    expect(nextHealth('HEALTHY', { heartbeat: false, inventoryChanged: true, inventory: degraded })).toBe('WARNING');
  });

  it('leaves DISCONNECTED only on a heartbeat', () => {
    expect(nextHealth('DISCONNECTED', { heartbeat: false, inventoryChanged: true, inventory: healthy })).toBe('DISCONNECTED');
    expect(nextHealth('DISCONNECTED', { heartbeat: true, inventoryChanged: false, inventory: healthy })).toBe('HEALTHY');
  });

  it('says UNKNOWN for a reconnected cluster without inventory, and otherwise keeps the health', () => {
    expect(nextHealth('DISCONNECTED', { heartbeat: true, inventoryChanged: false, inventory: null })).toBe('UNKNOWN');
    expect(nextHealth('UNKNOWN', { heartbeat: true, inventoryChanged: false, inventory: null })).toBe('UNKNOWN');
  });
});

describe(needsStoredInventory.name, () => {
  it('reads the inventory for any new inventory item, whatever the health', () => {
    expect(needsStoredInventory([makeHeartbeatItem(1), deltaItem(2, {})], 'HEALTHY')).toBe(true);
    expect(needsStoredInventory([snapshotItem(1)], 'WARNING')).toBe(true);
  });

  it('skips it for heartbeats of a cluster whose health they cannot change', () => {
    for (const health of ['HEALTHY', 'WARNING', 'UNHEALTHY'] as const) {
      expect(needsStoredInventory([makeHeartbeatItem(1), makeHeartbeatItem(2)], health)).toBe(false);
    }
  });

  it('reads it for heartbeats of a DISCONNECTED or UNKNOWN cluster, and never for an empty batch', () => {
    expect(needsStoredInventory([makeHeartbeatItem(1)], 'DISCONNECTED')).toBe(true);
    expect(needsStoredInventory([makeHeartbeatItem(1)], 'UNKNOWN')).toBe(true);
    expect(needsStoredInventory([], 'DISCONNECTED')).toBe(false);
  });
});
