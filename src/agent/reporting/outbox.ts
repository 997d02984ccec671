import type { ReportItemKind, ReportPayloadOf } from '../../protocol/reports';
import { Wakeup } from '../backoff';
import type { Logger } from '../logger';
import type { ReportQueue } from './report-queue';

/** Report seqs are reserved in the Secret this many at a time, when fewer than the margin are left. */
const SEQ_RESERVE_BLOCK = 1000;
const SEQ_RESERVE_MARGIN = 500;

/** Where seq reservations are kept (the agent Secret, which outlives the queue directory). */
export interface SeqReservationStore {
  saveSeqReservation(until: number): Promise<void>;
}

export interface ReportOutboxDeps {
  queue: ReportQueue;
  /** Persists the queue's changes (appended, coalesced); rejections are logged. */
  saveQueue: () => Promise<void>;
  reservations: SeqReservationStore;
  log: Logger;
  now: () => number;
}

/**
 * The producers' side of the durable report queue: every item is queued, persisted, covered by a
 * seq reservation, and wakes the sender. Heartbeats, inventory and the coming loops queue here; the
 * sender drains `queue`.
 */
export class ReportOutbox {
  readonly queue: ReportQueue;
  /** Notified on every enqueue. */
  readonly wakeup = new Wakeup();
  /** Seqs below this are reserved in the Secret. */
  private seqReservedUntil = 0;
  private reserving = false;

  constructor(private readonly deps: ReportOutboxDeps) {
    this.queue = deps.queue;
  }

  get depth(): number {
    return this.queue.depth;
  }

  /** Set when the queue dropped inventory: the next inventory item must be a snapshot. */
  get inventoryLost(): boolean {
    return this.queue.inventoryLost;
  }

  enqueue<K extends ReportItemKind>(kind: K, payload: ReportPayloadOf<K>): void {
    this.queue.enqueue(kind, payload, new Date(this.deps.now()));
    this.persist();
    this.reserveSeqs();
    this.wakeup.notify();
  }

  /**
   * The reservation found in the Secret. The queue directory may be gone (an emptyDir, another node) or
   * lag behind (a write lost in a crash): continuing at the reservation never reuses a seq. A restart skips the rest of
   * the block, which gaps allow.
   */
  continueAbove(reservedUntil: number): void {
    this.seqReservedUntil = Math.max(this.seqReservedUntil, reservedUntil);
    this.queue.raiseNextSeq(this.seqReservedUntil);
  }

  /** Drops every item (a new registration, or detach done). */
  clear(): void {
    this.queue.clear();
    this.persist();
  }

  persist(): void {
    this.deps.saveQueue().catch((error: unknown) => this.deps.log.warn('cannot save the report queue', { error }));
  }

  /**
   * Keeps a block of seqs reserved in the Secret ahead of the queue (hi/lo), so an agent whose
   * queue directory is lost (an emptyDir goes with the pod) continues above every seq it used.
   */
  private reserveSeqs(): void {
    const upcoming = this.queue.upcomingSeq;
    if (this.reserving || upcoming + SEQ_RESERVE_MARGIN <= this.seqReservedUntil) {
      return;
    }
    const until = upcoming + SEQ_RESERVE_BLOCK;
    this.reserving = true;
    this.deps.reservations
      .saveSeqReservation(until)
      .then(
        () => {
          this.seqReservedUntil = Math.max(this.seqReservedUntil, until);
        },
        (error: unknown) => this.deps.log.warn('cannot reserve report sequence numbers in the Secret', { error }),
      )
      .finally(() => {
        this.reserving = false;
      });
  }
}
