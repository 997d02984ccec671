import type { ReportItem, ReportItemKind, ReportPayloadOf } from '../../protocol/reports';

export interface ReportQueueLimits {
  /** Most items kept; beyond it the queue drops (oldest heartbeats first). */
  maxItems: number;
  /** Most bytes of item JSON kept. */
  maxBytes: number;
}

/** What the queue file holds. */
export interface ReportQueueState {
  version: 1;
  nextSeq: number;
  droppedItemCount: number;
  /** Set when inventory items were dropped: the next inventory item must be a full snapshot. */
  inventoryLost: boolean;
  items: ReportItem[];
}

interface Entry {
  item: ReportItem;
  bytes: number;
}

export type AcknowledgeOutcome =
  | { kind: 'trimmed'; removed: number }
  /** The API's counter was ahead (the agent lost its queue file): pending items got new seqs above ackedSeq. */
  | { kind: 'renumbered'; firstSeq: number };

const itemBytes = (item: ReportItem) => Buffer.byteLength(JSON.stringify(item), 'utf8');
const isInventory = (kind: ReportItemKind) => kind === 'inventory.snapshot' || kind === 'inventory.delta';

/**
 * The agent's ordered, bounded report queue. Every item gets the next sequence number; the API's
 * ackedSeq removes items; a snapshot supersedes older inventory items, an audit.result the older one of
 * its assignment. When over its bounds the queue
 * drops, in this order: the oldest heartbeats (keeping the newest), then all inventory items (and
 * flags that a snapshot is needed, since later deltas would lack their base), then the oldest items.
 * Pure in-memory logic; QueueFile persists toState().
 */
export class ReportQueue {
  private entries: Entry[] = [];
  private totalBytes = 0;
  private nextSeq: number;
  private dropped: number;
  private lostInventory: boolean;

  constructor(
    private readonly limits: ReportQueueLimits,
    state?: ReportQueueState,
  ) {
    this.nextSeq = state?.nextSeq ?? 1;
    this.dropped = state?.droppedItemCount ?? 0;
    this.lostInventory = state?.inventoryLost ?? false;
    for (const item of state?.items ?? []) {
      this.push(item);
    }
  }

  get depth(): number {
    return this.entries.length;
  }
  get bytes(): number {
    return this.totalBytes;
  }
  get droppedItemCount(): number {
    return this.dropped;
  }
  get inventoryLost(): boolean {
    return this.lostInventory;
  }
  /** The seq the next item gets. */
  get upcomingSeq(): number {
    return this.nextSeq;
  }

  /**
   * Makes the next seq at least `floor` (the reservation kept in the Secret, which outlives the queue
   * file). Pending items keep their lower seqs, so the order still holds; the gap is allowed.
   */
  raiseNextSeq(floor: number): void {
    this.nextSeq = Math.max(this.nextSeq, Math.floor(floor));
  }

  enqueue<K extends ReportItemKind>(kind: K, payload: ReportPayloadOf<K>, observedAt: Date): ReportItem {
    if (kind === 'inventory.snapshot') {
      this.removeWhere((e) => isInventory(e.item.kind));
      this.lostInventory = false;
    }
    if (kind === 'audit.result') {
      // A full set supersedes an unsent older set of the same assignment (a long offline spell queues one per assignment).
      const assignmentId = (payload as ReportPayloadOf<'audit.result'>).assignmentId;
      this.removeWhere((e) => e.item.kind === 'audit.result' && e.item.payload.assignmentId === assignmentId);
    }
    const item = { seq: this.nextSeq, observedAt: observedAt.toISOString(), kind, payload } as ReportItem;
    this.nextSeq += 1;
    this.push(item);
    this.enforceLimits();
    return item;
  }

  /** The oldest items, at most maxItems and (after the first) maxBytes of item JSON. */
  peekBatch(maxItems: number, maxBytes: number): ReportItem[] {
    const batch: ReportItem[] = [];
    let size = 0;
    for (const entry of this.entries) {
      if (batch.length >= maxItems) {
        break;
      }
      if (batch.length > 0 && size + entry.bytes > maxBytes) {
        break;
      }
      batch.push(entry.item);
      size += entry.bytes;
    }
    return batch;
  }

  /** Applies the API's ackedSeq. */
  acknowledge(ackedSeq: number): AcknowledgeOutcome {
    if (ackedSeq >= this.nextSeq) {
      // Everything the API has seen is ahead of anything this queue numbered: renumber, keep items.
      let seq = ackedSeq + 1;
      this.entries = this.entries.map((e) => {
        const item = { ...e.item, seq: seq++ };
        return { item, bytes: itemBytes(item) };
      });
      this.totalBytes = this.entries.reduce((sum, e) => sum + e.bytes, 0);
      this.nextSeq = seq;
      return { kind: 'renumbered', firstSeq: ackedSeq + 1 };
    }
    const removed = this.removeWhere((e) => e.item.seq <= ackedSeq);
    return { kind: 'trimmed', removed };
  }

  /** Drops one item the API rejected as invalid, so it cannot block the queue. */
  drop(seq: number): void {
    const entry = this.entries.find((e) => e.item.seq === seq);
    if (!entry) {
      return;
    }
    this.removeWhere((e) => e === entry);
    this.dropped += 1;
    if (isInventory(entry.item.kind)) {
      // Later deltas would lack their base; the next snapshot replaces them all.
      this.dropped += this.removeWhere((e) => e.item.kind === 'inventory.delta');
      this.lostInventory = true;
    }
  }

  /** Removes every item (after a new registration the old items belong to a finished attachment). */
  clear(): void {
    this.entries = [];
    this.totalBytes = 0;
    this.lostInventory = false;
  }

  toState(): ReportQueueState {
    return {
      version: 1,
      nextSeq: this.nextSeq,
      droppedItemCount: this.dropped,
      inventoryLost: this.lostInventory,
      items: this.entries.map((e) => e.item),
    };
  }

  private push(item: ReportItem): void {
    const bytes = itemBytes(item);
    this.entries.push({ item, bytes });
    this.totalBytes += bytes;
  }

  private removeWhere(predicate: (e: Entry) => boolean): number {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => !predicate(e));
    this.totalBytes = this.entries.reduce((sum, e) => sum + e.bytes, 0);
    return before - this.entries.length;
  }

  private overLimits(): boolean {
    return this.entries.length > this.limits.maxItems || this.totalBytes > this.limits.maxBytes;
  }

  private enforceLimits(): void {
    while (this.overLimits()) {
      const heartbeats = this.entries.filter((e) => e.item.kind === 'heartbeat');
      if (heartbeats.length > 1) {
        const oldest = heartbeats[0];
        this.removeWhere((e) => e === oldest);
        this.dropped += 1;
        continue;
      }
      const inventory = this.removeWhere((e) => isInventory(e.item.kind));
      if (inventory > 0) {
        this.dropped += inventory;
        this.lostInventory = true;
        continue;
      }
      this.entries.shift();
      this.totalBytes = this.entries.reduce((sum, e) => sum + e.bytes, 0);
      this.dropped += 1;
    }
  }
}
