import type { ReportItem, ReportItemKind, ReportPayloadOf } from '../../protocol/reports';

export interface ReportQueueLimits {
  /** Most items kept; beyond it the queue drops by DROP_ORDER. */
  maxItems: number;
  /** Most bytes of item JSON kept. */
  maxBytes: number;
}

/** What the queue's persistence restores. */
export interface ReportQueueState {
  nextSeq: number;
  /** Items dropped per kind since the queue's directory was created. */
  droppedByKind: Record<string, number>;
  /** Drops counted by an older agent that did not record the kind (migrated state file). */
  droppedUnattributed: number;
  /** Set when inventory items were dropped: the next inventory item must be a full snapshot. */
  inventoryLost: boolean;
  items: ReportItem[];
}

/**
 * Every change of the queue, in order, for its persistence (QueueLog). `reset` means the pending
 * items were renumbered or cleared: persistence rewrites them from toState().
 */
export type QueueChange =
  | { type: 'append'; item: ReportItem }
  /** Superseded (an older inventory item under a new snapshot): not a loss, not counted. */
  | { type: 'remove'; seqs: number[] }
  /** Dropped (bound reached, or refused by the API): counted; the counters after the drop. */
  | { type: 'drop'; seqs: number[]; droppedByKind: Record<string, number>; inventoryLost: boolean }
  | { type: 'ack'; ackedSeq: number; seqs: number[] }
  | { type: 'reset'; ackedSeq?: number };

export interface QueueJournal {
  record(change: QueueChange): void;
}

interface Entry {
  item: ReportItem;
  bytes: number;
}

export type AcknowledgeOutcome =
  | { kind: 'trimmed'; removed: number }
  /** The API's counter was ahead (the agent lost its queue): pending items got new seqs above ackedSeq. */
  | { kind: 'renumbered'; firstSeq: number };

export const itemBytes = (item: ReportItem) => Buffer.byteLength(JSON.stringify(item), 'utf8');
const isInventory = (kind: string) => kind === 'inventory.snapshot' || kind === 'inventory.delta';

/**
 * What goes first when the queue is over its bounds, by kind (strings, so kinds added later, e.g.
 * by other loops, slot in by name). Lower drops first; within a rank the oldest item goes first.
 * 1. heartbeats but the newest: a newer heartbeat supersedes them;
 * 2. inventory deltas: all of them at once (a later delta lacks its base without the earlier ones),
 *    and the next inventory item is a full snapshot (inventoryLost);
 * 3. admission summaries: counts over a window, coalescible and least specific;
 * 4. audit results (violations);
 * 5. anything else, the newest heartbeat included.
 * The newest inventory snapshot is never dropped (there is only ever one: a snapshot supersedes
 * older inventory items); a queue holding nothing else may exceed its bounds by it.
 */
export const DROP_ORDER: Readonly<Record<string, number>> = {
  heartbeat: 1,
  'inventory.delta': 2,
  'admission.summary': 3,
  'audit.result': 4,
};
const DROP_RANK_OTHER = 5;

/**
 * The agent's ordered, bounded report queue. Every item gets the next sequence number; the API's
 * ackedSeq removes items; a snapshot supersedes older inventory items, an audit.result the older one of
 * its assignment; over its bounds it drops by
 * DROP_ORDER and counts drops per kind. Pure in-memory logic: every change is handed to the
 * journal (QueueLog appends it to disk).
 */
export class ReportQueue {
  private entries: Entry[] = [];
  private totalBytes = 0;
  private nextSeq: number;
  private dropCounts: Record<string, number>;
  private readonly droppedUnattributed: number;
  private lostInventory: boolean;
  private journal: QueueJournal | undefined;

  constructor(
    private readonly limits: ReportQueueLimits,
    state?: ReportQueueState,
  ) {
    this.nextSeq = state?.nextSeq ?? 1;
    this.dropCounts = { ...state?.droppedByKind };
    this.droppedUnattributed = state?.droppedUnattributed ?? 0;
    this.lostInventory = state?.inventoryLost ?? false;
    for (const item of state?.items ?? []) {
      this.push(item);
      this.nextSeq = Math.max(this.nextSeq, item.seq + 1);
    }
  }

  /** Hands every later change to `journal` (the queue's persistence). */
  attachJournal(journal: QueueJournal): void {
    this.journal = journal;
  }

  get depth(): number {
    return this.entries.length;
  }
  get bytes(): number {
    return this.totalBytes;
  }
  get droppedItemCount(): number {
    return Object.values(this.dropCounts).reduce((sum, n) => sum + n, this.droppedUnattributed);
  }
  /** Exact drops per kind (bound reached, or refused by the API), since the queue was created. */
  get droppedByKind(): Record<string, number> {
    return { ...this.dropCounts };
  }
  /** Drops an older agent counted without their kind. */
  get unattributedDrops(): number {
    return this.droppedUnattributed;
  }
  get inventoryLost(): boolean {
    return this.lostInventory;
  }
  /** The seq the next item gets. */
  get upcomingSeq(): number {
    return this.nextSeq;
  }
  /** observedAt of the oldest undelivered item, if any. */
  get oldestObservedAt(): string | undefined {
    return this.entries[0]?.item.observedAt;
  }

  /**
   * Makes the next seq at least `floor` (the reservation kept in the Secret, which outlives the queue
   * directory). Pending items keep their lower seqs, so the order still holds; the gap is allowed.
   */
  raiseNextSeq(floor: number): void {
    this.nextSeq = Math.max(this.nextSeq, Math.floor(floor));
  }

  enqueue<K extends ReportItemKind>(kind: K, payload: ReportPayloadOf<K>, observedAt: Date): ReportItem {
    if (kind === 'inventory.snapshot') {
      const superseded = this.removeWhere((e) => isInventory(e.item.kind));
      if (superseded.length) {
        this.journal?.record({ type: 'remove', seqs: superseded.map((e) => e.item.seq) });
      }
      this.lostInventory = false;
    }
    if (kind === 'audit.result') {
      // A full set supersedes an unsent older set of the same assignment (a long offline spell queues one per assignment).
      const assignmentId = (payload as ReportPayloadOf<'audit.result'>).assignmentId;
      const superseded = this.removeWhere((e) => e.item.kind === 'audit.result' && e.item.payload.assignmentId === assignmentId);
      if (superseded.length) {
        this.journal?.record({ type: 'remove', seqs: superseded.map((e) => e.item.seq) });
      }
    }
    const item = { seq: this.nextSeq, observedAt: observedAt.toISOString(), kind, payload } as ReportItem;
    this.nextSeq += 1;
    this.push(item);
    this.journal?.record({ type: 'append', item });
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
      this.journal?.record({ type: 'reset', ackedSeq });
      return { kind: 'renumbered', firstSeq: ackedSeq + 1 };
    }
    const removed = this.removeWhere((e) => e.item.seq <= ackedSeq);
    this.journal?.record({ type: 'ack', ackedSeq, seqs: removed.map((e) => e.item.seq) });
    return { kind: 'trimmed', removed: removed.length };
  }

  /** Drops one item the API rejected as invalid, so it cannot block the queue. */
  drop(seq: number): void {
    const entry = this.entries.find((e) => e.item.seq === seq);
    if (!entry) {
      return;
    }
    const dropped = this.removeWhere((e) => e === entry);
    if (isInventory(entry.item.kind)) {
      // Later deltas would lack their base; the next snapshot replaces them all.
      dropped.push(...this.removeWhere((e) => e.item.kind === 'inventory.delta'));
      this.lostInventory = true;
    }
    this.countDrops(dropped);
  }

  /** Removes every item (after a new registration the old items belong to a finished attachment). */
  clear(): void {
    this.entries = [];
    this.totalBytes = 0;
    this.lostInventory = false;
    this.journal?.record({ type: 'reset' });
  }

  toState(): ReportQueueState {
    return {
      nextSeq: this.nextSeq,
      droppedByKind: { ...this.dropCounts },
      droppedUnattributed: this.droppedUnattributed,
      inventoryLost: this.lostInventory,
      items: this.entries.map((e) => e.item),
    };
  }

  private push(item: ReportItem): void {
    const bytes = itemBytes(item);
    this.entries.push({ item, bytes });
    this.totalBytes += bytes;
  }

  private removeWhere(predicate: (e: Entry) => boolean): Entry[] {
    const removed: Entry[] = [];
    this.entries = this.entries.filter((e) => {
      if (predicate(e)) {
        removed.push(e);
        this.totalBytes -= e.bytes;
        return false;
      }
      return true;
    });
    return removed;
  }

  private countDrops(dropped: Entry[]): void {
    if (!dropped.length) {
      return;
    }
    for (const e of dropped) {
      this.dropCounts[e.item.kind] = (this.dropCounts[e.item.kind] ?? 0) + 1;
    }
    this.journal?.record({ type: 'drop', seqs: dropped.map((e) => e.item.seq), droppedByKind: { ...this.dropCounts }, inventoryLost: this.lostInventory });
  }

  private overLimits(): boolean {
    return this.entries.length > this.limits.maxItems || this.totalBytes > this.limits.maxBytes;
  }

  private enforceLimits(): void {
    while (this.overLimits()) {
      const victim = this.nextVictim();
      if (!victim) {
        return;
      }
      if (victim.item.kind === 'inventory.delta') {
        this.lostInventory = true;
        this.countDrops(this.removeWhere((e) => e.item.kind === 'inventory.delta'));
      } else {
        this.countDrops(this.removeWhere((e) => e === victim));
      }
    }
  }

  /** The first item to drop by DROP_ORDER, or none when only the newest snapshot is left. */
  private nextVictim(): Entry | undefined {
    let newestHeartbeat: Entry | undefined;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i].item.kind === 'heartbeat') {
        newestHeartbeat = this.entries[i];
        break;
      }
    }
    let victim: Entry | undefined;
    let victimRank = Infinity;
    for (const entry of this.entries) {
      const kind = entry.item.kind;
      if (kind === 'inventory.snapshot') {
        continue;
      }
      const rank = kind === 'heartbeat' && entry === newestHeartbeat ? DROP_RANK_OTHER : (DROP_ORDER[kind] ?? DROP_RANK_OTHER);
      if (rank < victimRank) {
        victim = entry;
        victimRank = rank;
        if (rank === 1) {
          break;
        }
      }
    }
    return victim;
  }
}
