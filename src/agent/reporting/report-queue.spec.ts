import { ReportItemSchema } from '../../protocol/reports';
import { makeHeartbeatPayload, makeInventory } from '../../protocol/testing/factories';
import { ReportQueue } from './report-queue';

const at = new Date('2026-11-26T10:00:00Z');
const big = { cpuMillis: 1, memoryMiB: 1 };

function queue(maxItems = 100, maxBytes = 1_000_000) {
  return new ReportQueue({ maxItems, maxBytes });
}

describe(ReportQueue.name, () => {
  it('numbers items in order from 1', () => {
    const q = queue();
    const items = [q.enqueue('heartbeat', makeHeartbeatPayload(), at), q.enqueue('inventory.delta', { requested: big }, at)];
    expect(items.map((i) => i.seq)).toEqual([1, 2]);
    expect(items.every((i) => ReportItemSchema.safeParse(i).success)).toBe(true);
    expect(q.peekBatch(10, 1_000_000)).toEqual(items);
  });

  it('continues above a raised floor, keeping pending items and never going back', () => {
    const q = queue();
    q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    q.raiseNextSeq(5000);
    q.raiseNextSeq(10);
    q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    expect(q.peekBatch(10, 1_000_000).map((i) => i.seq)).toEqual([1, 5000]);
  });

  it('removes acknowledged items and keeps the rest in order', () => {
    const q = queue();
    for (let i = 0; i < 5; i++) {
      q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    }
    expect(q.acknowledge(3)).toEqual({ kind: 'trimmed', removed: 3 });
    expect(q.peekBatch(10, 1_000_000).map((i) => i.seq)).toEqual([4, 5]);
    expect(q.acknowledge(3)).toEqual({ kind: 'trimmed', removed: 0 });
  });

  it('renumbers pending items above ackedSeq when the API is ahead of every seq it numbered', () => {
    const q = queue();
    q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    expect(q.acknowledge(1000)).toEqual({ kind: 'renumbered', firstSeq: 1001 });
    expect(q.peekBatch(10, 1_000_000).map((i) => i.seq)).toEqual([1001, 1002]);
    expect(q.enqueue('heartbeat', makeHeartbeatPayload(), at).seq).toBe(1003);
  });

  it('lets a snapshot supersede older inventory items but not heartbeats', () => {
    const q = queue();
    q.enqueue('inventory.snapshot', makeInventory(), at);
    q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    q.enqueue('inventory.delta', { requested: big }, at);
    q.enqueue('inventory.snapshot', makeInventory(), at);
    expect(q.peekBatch(10, 1_000_000).map((i) => [i.seq, i.kind])).toEqual([
      [2, 'heartbeat'],
      [4, 'inventory.snapshot'],
    ]);
  });

  it('drops the oldest heartbeats first when full, and counts them', () => {
    const q = queue(3);
    q.enqueue('inventory.snapshot', makeInventory(), at);
    for (let i = 0; i < 4; i++) {
      q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    }
    expect(q.peekBatch(10, 1_000_000).map((i) => [i.seq, i.kind])).toEqual([
      [1, 'inventory.snapshot'],
      [4, 'heartbeat'],
      [5, 'heartbeat'],
    ]);
    expect(q.droppedItemCount).toBe(2);
    expect(q.inventoryLost).toBe(false);
  });

  it('drops all inventory and asks for a snapshot when heartbeats alone cannot make room', () => {
    const q = queue(3);
    q.enqueue('inventory.snapshot', makeInventory(), at);
    q.enqueue('inventory.delta', { requested: big }, at);
    q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    q.enqueue('inventory.delta', { requested: big }, at);
    expect(q.peekBatch(10, 1_000_000).map((i) => i.kind)).toEqual(['heartbeat']);
    expect(q.droppedItemCount).toBe(3);
    expect(q.inventoryLost).toBe(true);
    q.enqueue('inventory.snapshot', makeInventory(), at);
    expect(q.inventoryLost).toBe(false);
  });

  it('bounds by bytes as well as items', () => {
    const q = queue(1000, 700);
    for (let i = 0; i < 10; i++) {
      q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    }
    expect(q.bytes).toBeLessThanOrEqual(700);
    expect(q.depth).toBeGreaterThan(1);
    expect(q.peekBatch(100, 1_000_000).at(-1)?.seq).toBe(10);
  });

  it('builds batches within the item and byte budget, but always at least one item', () => {
    const q = queue();
    for (let i = 0; i < 5; i++) {
      q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    }
    expect(q.peekBatch(2, 1_000_000)).toHaveLength(2);
    const one = JSON.stringify(q.peekBatch(1, 1_000_000)[0]).length;
    expect(q.peekBatch(10, one * 3)).toHaveLength(3);
    expect(q.peekBatch(10, 1)).toHaveLength(1);
  });

  it('drops a rejected inventory item together with the deltas that depended on it', () => {
    const q = queue();
    q.enqueue('inventory.snapshot', makeInventory(), at);
    q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    q.enqueue('inventory.delta', { requested: big }, at);
    q.drop(1);
    expect(q.peekBatch(10, 1_000_000).map((i) => i.kind)).toEqual(['heartbeat']);
    expect(q.droppedItemCount).toBe(2);
    expect(q.inventoryLost).toBe(true);
  });

  it('restores from its state', () => {
    const q = queue();
    q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    q.enqueue('inventory.snapshot', makeInventory(), at);
    const restored = new ReportQueue({ maxItems: 100, maxBytes: 1_000_000 }, JSON.parse(JSON.stringify(q.toState())));
    expect(restored.toState()).toEqual(q.toState());
    expect(restored.bytes).toBe(q.bytes);
    expect(restored.enqueue('heartbeat', makeHeartbeatPayload(), at).seq).toBe(3);
  });
});
