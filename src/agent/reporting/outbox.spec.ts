import { makeHeartbeatPayload } from '../../protocol/testing/factories';
import { capturedLog } from '../testing/loops';
import { ReportOutbox, type SeqReservationStore } from './outbox';
import { ReportQueue } from './report-queue';

class Reservations implements SeqReservationStore {
  readonly saved: number[] = [];
  failNext = 0;
  private waiting: Array<() => void> = [];
  /** Holds the next saves until release(). */
  hold = false;
  async saveSeqReservation(until: number): Promise<void> {
    if (this.hold) {
      await new Promise<void>((r) => this.waiting.push(r));
    }
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('the Secret is unreachable');
    }
    this.saved.push(until);
  }
  release(): void {
    this.hold = false;
    for (const r of this.waiting.splice(0)) {
      r();
    }
  }
}

const settle = () => new Promise((r) => setImmediate(r));

function setup() {
  const queue = new ReportQueue({ maxItems: 10_000, maxBytes: 16 * 1024 * 1024 });
  const reservations = new Reservations();
  const { log, logs } = capturedLog();
  let saves = 0;
  const outbox = new ReportOutbox({
    queue,
    saveQueue: async () => {
      saves += 1;
    },
    reservations,
    log,
    now: () => Date.parse('2026-11-26T10:00:00.000Z'),
  });
  return { queue, reservations, logs, outbox, saves: () => saves };
}

describe(ReportOutbox.name, () => {
  it('queues with the time of observation, persists the queue and wakes the sender', async () => {
    const { queue, outbox, saves } = setup();
    const woken = outbox.wakeup.wait(60_000);
    outbox.enqueue('heartbeat', makeHeartbeatPayload());
    await woken;
    expect(queue.peekBatch(10, 1e9)).toEqual([expect.objectContaining({ seq: 1, kind: 'heartbeat', observedAt: '2026-11-26T10:00:00.000Z' })]);
    expect(saves()).toBe(1);
  });

  it('reserves a block of seqs ahead of use, and the next block only when fewer than 500 are left', async () => {
    const { reservations, outbox } = setup();
    outbox.enqueue('heartbeat', makeHeartbeatPayload());
    await settle();
    expect(reservations.saved).toEqual([1002]);
    // Seqs below 1002 are reserved: after seq 501 the next is 502, with 500 left.
    for (let i = 0; i < 500; i++) {
      outbox.enqueue('heartbeat', makeHeartbeatPayload());
    }
    await settle();
    expect(reservations.saved).toEqual([1002]);
    outbox.enqueue('heartbeat', makeHeartbeatPayload());
    await settle();
    expect(reservations.saved).toEqual([1002, 1503]);
  });

  it('continues above the reservation found in the Secret', async () => {
    const { queue, reservations, outbox } = setup();
    outbox.continueAbove(5000);
    outbox.enqueue('heartbeat', makeHeartbeatPayload());
    await settle();
    expect(queue.peekBatch(10, 1e9).map((i) => i.seq)).toEqual([5000]);
    expect(reservations.saved).toEqual([6001]);
  });

  it('makes one reservation at a time, and tries again at the next item after a failed one', async () => {
    const { reservations, logs, outbox } = setup();
    reservations.hold = true;
    reservations.failNext = 1;
    outbox.enqueue('heartbeat', makeHeartbeatPayload());
    outbox.enqueue('heartbeat', makeHeartbeatPayload());
    reservations.release();
    await settle();
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'cannot reserve report sequence numbers in the Secret' }));
    expect(reservations.saved).toEqual([]);
    outbox.enqueue('heartbeat', makeHeartbeatPayload());
    await settle();
    expect(reservations.saved).toEqual([1004]);
  });

  it('logs a failed save of the queue file instead of failing', async () => {
    const queue = new ReportQueue({ maxItems: 10, maxBytes: 1e6 });
    const { log, logs } = capturedLog();
    const outbox = new ReportOutbox({ queue, saveQueue: () => Promise.reject(new Error('disk full')), reservations: new Reservations(), log, now: Date.now });
    outbox.clear();
    await settle();
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'cannot save the report queue' }));
  });
});
