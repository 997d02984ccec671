import { eventually } from '../../dev/eventually';
import { ReportItemSchema } from '../../protocol/reports';
import { capturedLog, FAST_BACKOFF, testSession } from '../testing/loops';
import { HeartbeatLoop } from './heartbeat-loop';
import { ReportOutbox } from './outbox';
import { ReportQueue } from './report-queue';

function setup() {
  const queue = new ReportQueue({ maxItems: 1000, maxBytes: 1e6 });
  const { log } = capturedLog();
  const outbox = new ReportOutbox({ queue, saveQueue: async () => undefined, reservations: { saveSeqReservation: async () => undefined }, log, now: Date.now });
  let synced = false;
  const loop = new HeartbeatLoop({ outbox, log, backoff: FAST_BACKOFF, startedAt: '2026-11-26T09:59:00.000Z', inventorySynced: () => synced });
  return { queue, outbox, loop, sync: () => (synced = true) };
}

describe(HeartbeatLoop.name, () => {
  it('queues a heartbeat as the session starts, before anything else, then one every interval', async () => {
    const { queue, outbox, loop, sync } = setup();
    const { session, stop } = testSession({ heartbeatIntervalMs: 5 });
    const running = loop.run(session);
    outbox.enqueue('inventory.delta', {});
    sync();
    await eventually(() => queue.depth >= 3, { what: 'more heartbeats' });
    stop();
    await running;
    const items = queue.peekBatch(100, 1e9);
    expect(items.map((i) => i.kind).slice(0, 3)).toEqual(['heartbeat', 'inventory.delta', 'heartbeat']);
    expect(items[0].payload).toEqual({ startedAt: '2026-11-26T09:59:00.000Z', queueDepth: 1, droppedItemCount: 0, inventorySynced: false, droppedByKind: {} });
    expect(items[2].payload).toEqual({
      startedAt: '2026-11-26T09:59:00.000Z',
      queueDepth: 3,
      droppedItemCount: 0,
      inventorySynced: true,
      droppedByKind: {},
      oldestQueuedAt: items[0].observedAt,
    });
    expect(items.every((i) => ReportItemSchema.safeParse(i).success)).toBe(true);
  });

  it('counts items the queue dropped', () => {
    const queue = new ReportQueue({ maxItems: 2, maxBytes: 1e6 });
    const { log } = capturedLog();
    const outbox = new ReportOutbox({ queue, saveQueue: async () => undefined, reservations: { saveSeqReservation: async () => undefined }, log, now: Date.now });
    const loop = new HeartbeatLoop({ outbox, log, backoff: FAST_BACKOFF, startedAt: '2026-11-26T09:59:00.000Z', inventorySynced: () => true });
    for (let i = 0; i < 4; i++) {
      loop.enqueue();
    }
    expect(queue.peekBatch(10, 1e9).at(-1)?.payload).toMatchObject({ droppedItemCount: 1, droppedByKind: { heartbeat: 1 } });
  });
});
