import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { type ReportItem, ReportItemSchema } from '../../protocol/reports';
import { readLegacyQueueFile } from './legacy-queue-file';
import { frameRecord, scanRecords } from './record-framing';
import { type QueueChange, type QueueJournal, ReportQueue, type ReportQueueLimits, type ReportQueueState } from './report-queue';

/** Segments roll at this size (a batch may overshoot it once). */
export const DEFAULT_SEGMENT_BYTES = 1024 * 1024;
export const QUEUE_DIR_NAME = 'report-queue';
const LEGACY_FILE_NAME = 'report-queue.json';
const CHECKPOINT_FILE = 'checkpoint.json';
const SEGMENT_FILE = /^segment-(\d{12})\.log$/;
const COMPACTION_FILE = /^segment-(\d{12})\.log\.tmp$/;
const segmentFileName = (no: number) => `segment-${String(no).padStart(12, '0')}.log`;

/** One record of a segment file. */
type LogRecord =
  | { t: 'item'; item: unknown }
  | { t: 'remove'; seqs: number[] }
  | { t: 'drop'; seqs: number[]; droppedByKind: Record<string, number>; inventoryLost: boolean }
  /** The counters as of a compaction, written after its items. */
  | { t: 'state'; droppedByKind: Record<string, number>; inventoryLost: boolean };

const CheckpointSchema = z.object({
  version: z.literal(2),
  /** Segments below it are garbage (deleted when found). */
  firstSegment: z.number().int().min(1),
  /** Items at or below it were stored by the API. */
  ackedSeq: z.number().int().min(0),
  nextSeq: z.number().int().min(1),
  droppedByKind: z.record(z.string(), z.number().int().min(0)),
  droppedUnattributed: z.number().int().min(0),
  inventoryLost: z.boolean(),
});
type Checkpoint = z.infer<typeof CheckpointSchema>;

export interface QueueLogOptions {
  limits: ReportQueueLimits;
  segmentBytes?: number;
}

/** What recovery found; the agent logs it. */
export interface QueueRecovery {
  segments: number;
  items: number;
  /** Bytes cut off the last segment: a record torn by a crash, or corrupt. */
  truncatedBytes: number;
  /** Earlier segments whose rest was unreadable (their later items are lost). */
  corruptSegments: number;
  invalidItems: number;
  checkpoint: 'loaded' | 'missing' | 'corrupt';
  /** Items taken over from an older agent's single queue file. */
  migratedItems?: number;
  legacyCorrupt?: { movedTo: string; reason: string };
}

interface Segment {
  bytes: number;
  /** Items appended here that are still queued. */
  live: number;
}

interface Counters {
  droppedByKind: Record<string, number>;
  inventoryLost: boolean;
  nextSeq: number;
}

/**
 * The report queue on disk, an append-only segmented log under `<stateDir>/report-queue/`:
 * - every queue change is one framed record (length, CRC-32, JSON) appended to the active segment:
 *   an item costs O(item); removals and drops are small tombstones, never a rewrite;
 * - writes are batched: changes made while a write runs go into the next one, and each write is
 *   one `write` plus one `fdatasync` (fsync per append batch). An item is durable once the save
 *   that follows its enqueue resolves;
 * - segments roll at `segmentBytes`; the API's ackedSeq goes into `checkpoint.json` (written to a
 *   temporary file, fsynced, renamed, directory fsynced), after which whole segments holding no
 *   queued item are deleted;
 * - when dead records outweigh the queued ones (drops while offline for days), the queued items
 *   are compacted into a fresh segment (written as .tmp, fsynced, named by the checkpoint, renamed);
 * - on open, segments are replayed in order; the last segment is truncated at its first torn or
 *   corrupt record, so a crash at any byte loses at most the item being written.
 */
export class QueueLog implements QueueJournal {
  private readonly segments = new Map<number, Segment>();
  private readonly segmentOf = new Map<number, number>();
  private pending: QueueChange[] = [];
  private rewriteNeeded = false;
  private rewriteAckedSeq = 0;
  private activeNo: number;
  private handle: FileHandle | undefined;
  private durableAckedSeq: number;
  private ackedSeq: number;
  private written: Counters;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private legacyPath: string | undefined;
  private queue!: ReportQueue;

  private constructor(
    readonly dir: string,
    private readonly segmentBytes: number,
    start: { activeNo: number; ackedSeq: number; written: Counters },
  ) {
    this.activeNo = start.activeNo;
    this.durableAckedSeq = start.ackedSeq;
    this.ackedSeq = start.ackedSeq;
    this.written = start.written;
  }

  /** Opens (or creates) the log under `stateDir`, recovers the queue, and journals its later changes. */
  static async open(stateDir: string, options: QueueLogOptions): Promise<{ queue: ReportQueue; log: QueueLog; recovery: QueueRecovery }> {
    const dir = join(stateDir, QUEUE_DIR_NAME);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const recovery: QueueRecovery = { segments: 0, items: 0, truncatedBytes: 0, corruptSegments: 0, invalidItems: 0, checkpoint: 'missing' };

    let checkpoint: Checkpoint | undefined;
    try {
      const parsed = CheckpointSchema.safeParse(JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), 'utf8')));
      if (parsed.success) {
        checkpoint = parsed.data;
        recovery.checkpoint = 'loaded';
      } else {
        recovery.checkpoint = 'corrupt';
      }
    } catch (error) {
      // A missing checkpoint is a new log; an unreadable one means replaying every segment (the API skips duplicates).
      recovery.checkpoint = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'corrupt';
    }

    const names = await readdir(dir);
    const numbered = (pattern: RegExp) => names.flatMap((n) => (pattern.exec(n) ? [Number(pattern.exec(n)![1])] : [])).sort((a, b) => a - b);
    let segmentNos = numbered(SEGMENT_FILE);
    for (const no of numbered(COMPACTION_FILE)) {
      const tmp = join(dir, `${segmentFileName(no)}.tmp`);
      if (checkpoint?.firstSegment === no && !segmentNos.includes(no)) {
        // The checkpoint names a finished compaction whose rename the crash interrupted.
        await rename(tmp, join(dir, segmentFileName(no)));
        segmentNos = [...segmentNos, no].sort((a, b) => a - b);
      } else {
        await rm(tmp, { force: true });
      }
    }
    const firstSegment = checkpoint?.firstSegment ?? segmentNos[0] ?? 1;
    for (const no of segmentNos.filter((n) => n < firstSegment)) {
      await unlink(join(dir, segmentFileName(no)));
    }
    segmentNos = segmentNos.filter((n) => n >= firstSegment);

    let state: ReportQueueState = {
      nextSeq: checkpoint?.nextSeq ?? 1,
      droppedByKind: { ...checkpoint?.droppedByKind },
      droppedUnattributed: checkpoint?.droppedUnattributed ?? 0,
      inventoryLost: checkpoint?.inventoryLost ?? false,
      items: [],
    };
    const ackedSeq = checkpoint?.ackedSeq ?? 0;
    const items = new Map<number, { item: ReportItem; segment: number }>();
    const segments = new Map<number, Segment>();
    let invalid = false;
    for (const [index, no] of segmentNos.entries()) {
      const path = join(dir, segmentFileName(no));
      const buffer = await readFile(path);
      const scan = scanRecords(buffer);
      if (scan.stoppedBy) {
        if (index === segmentNos.length - 1) {
          await truncate(path, scan.validBytes);
          recovery.truncatedBytes = buffer.length - scan.validBytes;
        } else {
          recovery.corruptSegments += 1;
        }
      }
      segments.set(no, { bytes: index === segmentNos.length - 1 ? scan.validBytes : buffer.length, live: 0 });
      for (const { value } of scan.records) {
        const record = value as LogRecord;
        switch (record.t) {
          case 'item': {
            const parsed = ReportItemSchema.safeParse(record.item);
            if (parsed.success) {
              items.set(parsed.data.seq, { item: parsed.data, segment: no });
              if (parsed.data.kind === 'inventory.snapshot') {
                state.inventoryLost = false;
              }
            } else {
              // E.g. a kind this (older) agent does not know: counted as dropped, and rewritten away.
              const kind = (record.item as { kind?: unknown } | null)?.kind;
              const key = typeof kind === 'string' ? kind : 'invalid';
              state.droppedByKind[key] = (state.droppedByKind[key] ?? 0) + 1;
              recovery.invalidItems += 1;
              invalid = true;
            }
            break;
          }
          case 'remove':
            record.seqs.forEach((seq) => items.delete(seq));
            break;
          case 'drop':
          case 'state':
            if (record.t === 'drop') {
              record.seqs.forEach((seq) => items.delete(seq));
            }
            // Counters only grow: the larger of the checkpoint's and the record's is the later one.
            for (const [kind, n] of Object.entries(record.droppedByKind)) {
              state.droppedByKind[kind] = Math.max(state.droppedByKind[kind] ?? 0, n);
            }
            state.inventoryLost = record.inventoryLost;
            break;
          default:
            // A record this version does not know cannot change what it queues.
            break;
        }
      }
    }
    state.items = [...items.values()]
      .filter((e) => e.item.seq > ackedSeq)
      .map((e) => e.item)
      .sort((a, b) => a.seq - b.seq);
    state.nextSeq = Math.max(state.nextSeq, ackedSeq + 1, ...state.items.map((i) => i.seq + 1));

    let legacyPath: string | undefined;
    const legacy = join(stateDir, LEGACY_FILE_NAME);
    if (!checkpoint && segmentNos.length === 0) {
      const loaded = await readLegacyQueueFile(legacy);
      if (loaded.kind === 'loaded') {
        state = loaded.state;
        recovery.migratedItems = loaded.state.items.length;
        recovery.invalidItems += loaded.invalidItems;
        legacyPath = legacy;
      } else if (loaded.kind === 'corrupt') {
        recovery.legacyCorrupt = { movedTo: loaded.movedTo, reason: loaded.reason };
      }
    } else {
      await rm(legacy, { force: true });
    }

    const activeNo = segmentNos.at(-1) ?? firstSegment;
    const log = new QueueLog(dir, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, {
      activeNo,
      ackedSeq,
      written: { droppedByKind: { ...state.droppedByKind }, inventoryLost: state.inventoryLost, nextSeq: state.nextSeq },
    });
    for (const [no, segment] of segments) {
      log.segments.set(no, segment);
    }
    if (!log.segments.has(activeNo)) {
      log.segments.set(activeNo, { bytes: 0, live: 0 });
    }
    for (const item of state.items) {
      const segment = items.get(item.seq)?.segment ?? activeNo;
      log.segmentOf.set(item.seq, segment);
      log.segments.get(segment)!.live += 1;
    }
    log.legacyPath = legacyPath;
    // A migrated file, items this version cannot read, or a checkpoint to redo: rewrite once.
    log.rewriteNeeded = legacyPath !== undefined || invalid || recovery.checkpoint === 'corrupt';
    recovery.segments = segmentNos.length;
    recovery.items = state.items.length;

    const queue = new ReportQueue(options.limits, state);
    log.queue = queue;
    queue.attachJournal(log);
    if (log.rewriteNeeded) {
      await log.save();
    }
    return { queue, log, recovery };
  }

  /** Bytes of all segment files. */
  get diskBytes(): number {
    let sum = 0;
    for (const segment of this.segments.values()) {
      sum += segment.bytes;
    }
    return sum;
  }

  get segmentCount(): number {
    return this.segments.size;
  }

  record(change: QueueChange): void {
    if (change.type === 'reset') {
      this.rewriteNeeded = true;
      this.rewriteAckedSeq = Math.max(this.rewriteAckedSeq, change.ackedSeq ?? 0);
      return;
    }
    this.pending.push(change);
  }

  /** Writes every change recorded so far (coalesced with a write already running). */
  save(): Promise<void> {
    this.dirty = true;
    if (!this.writing) {
      this.writing = this.drain().finally(() => {
        this.writing = undefined;
      });
    }
    return this.writing;
  }

  /** Resolves when every scheduled write is on disk. */
  async flush(): Promise<void> {
    while (this.writing) {
      await this.writing.catch(() => undefined);
    }
  }

  /** Writes what is pending and closes the active segment. */
  async close(): Promise<void> {
    if (this.pending.length || this.rewriteNeeded) {
      await this.save();
    }
    await this.flush();
    await this.handle?.close();
    this.handle = undefined;
  }

  private async drain(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      if (this.rewriteNeeded || this.mostlyGarbage()) {
        await this.compact();
        continue;
      }
      const batch = this.pending;
      this.pending = [];
      try {
        await this.append(batch);
      } catch (error) {
        this.pending = [...batch, ...this.pending];
        throw error;
      }
      await this.checkpointAndPrune();
      if (this.mostlyGarbage()) {
        this.dirty = true;
      }
    }
  }

  /** Dead records outweigh the queued ones by more than two segments: compaction pays for itself (amortised O(item)). */
  private mostlyGarbage(): boolean {
    return this.diskBytes > 2 * this.queue.bytes + 2 * this.segmentBytes;
  }

  private async append(batch: QueueChange[]): Promise<void> {
    // Frames go to the active segment until it reaches the bound (at least one per segment), then to the next.
    const segmentOfChange: number[] = [];
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    for (const change of batch) {
      const frame = this.frameOf(change);
      if (frame) {
        const active = this.segments.get(this.activeNo)!;
        if (active.bytes + chunkBytes > 0 && active.bytes + chunkBytes + frame.length > this.segmentBytes) {
          await this.writeChunk(chunk, chunkBytes);
          chunk = [];
          chunkBytes = 0;
          await this.roll();
        }
        chunk.push(frame);
        chunkBytes += frame.length;
      }
      segmentOfChange.push(this.activeNo);
    }
    await this.writeChunk(chunk, chunkBytes);
    for (const [index, change] of batch.entries()) {
      switch (change.type) {
        case 'append':
          this.segmentOf.set(change.item.seq, segmentOfChange[index]);
          this.segments.get(segmentOfChange[index])!.live += 1;
          this.written.nextSeq = Math.max(this.written.nextSeq, change.item.seq + 1);
          if (change.item.kind === 'inventory.snapshot') {
            this.written.inventoryLost = false;
          }
          break;
        case 'remove':
          this.forget(change.seqs);
          break;
        case 'drop':
          this.forget(change.seqs);
          this.written.droppedByKind = { ...change.droppedByKind };
          this.written.inventoryLost = change.inventoryLost;
          break;
        case 'ack':
          this.forget(change.seqs);
          this.ackedSeq = Math.max(this.ackedSeq, change.ackedSeq);
          break;
        default:
          break;
      }
    }
  }

  private frameOf(change: QueueChange): Buffer | undefined {
    switch (change.type) {
      case 'append':
        return frameRecord({ t: 'item', item: change.item } satisfies LogRecord);
      case 'remove':
        return frameRecord({ t: 'remove', seqs: change.seqs } satisfies LogRecord);
      case 'drop':
        return frameRecord({ t: 'drop', seqs: change.seqs, droppedByKind: change.droppedByKind, inventoryLost: change.inventoryLost } satisfies LogRecord);
      default:
        // Acks are not logged: the checkpoint carries ackedSeq.
        return undefined;
    }
  }

  /** One write and one fdatasync at the active segment's known end. */
  private async writeChunk(frames: Buffer[], bytes: number): Promise<void> {
    if (bytes === 0) {
      return;
    }
    const handle = await this.activeHandle();
    const active = this.segments.get(this.activeNo)!;
    const buffer = Buffer.concat(frames, bytes);
    try {
      // Positioned at the known end: a torn earlier attempt is overwritten, never left between records.
      await handle.write(buffer, 0, buffer.length, active.bytes);
      await handle.datasync();
    } catch (error) {
      // Cut what part of it may have landed, and open the file afresh for the retry (the next save).
      await handle.truncate(active.bytes).catch(() => undefined);
      await handle.close().catch(() => undefined);
      this.handle = undefined;
      throw error;
    }
    active.bytes += buffer.length;
  }

  private forget(seqs: readonly number[]): void {
    for (const seq of seqs) {
      const no = this.segmentOf.get(seq);
      if (no !== undefined) {
        this.segmentOf.delete(seq);
        this.segments.get(no)!.live -= 1;
      }
    }
  }

  /** Records ackedSeq and deletes the leading segments that hold no queued item. */
  private async checkpointAndPrune(): Promise<void> {
    const order = [...this.segments.keys()].sort((a, b) => a - b);
    const prunable: number[] = [];
    for (const no of order) {
      if (no === this.activeNo || this.segments.get(no)!.live > 0) {
        break;
      }
      prunable.push(no);
    }
    if (this.ackedSeq <= this.durableAckedSeq && prunable.length === 0) {
      return;
    }
    const firstSegment = order.find((no) => !prunable.includes(no))!;
    await this.writeCheckpoint(firstSegment, this.ackedSeq);
    this.durableAckedSeq = this.ackedSeq;
    for (const no of prunable) {
      await unlink(join(this.dir, segmentFileName(no)));
      this.segments.delete(no);
    }
  }

  /** Rewrites the queued items into a fresh segment and drops every older one. */
  private async compact(): Promise<void> {
    const state = this.queue.toState();
    const acks = this.pending.filter((c) => c.type === 'ack').map((c) => c.ackedSeq);
    const ackedSeq = Math.max(this.ackedSeq, this.rewriteAckedSeq, ...acks);
    this.pending = [];
    this.rewriteNeeded = false;
    this.rewriteAckedSeq = 0;
    const no = Math.max(...this.segments.keys()) + 1;
    const path = join(this.dir, segmentFileName(no));
    const frames = state.items.map((item) => frameRecord({ t: 'item', item } satisfies LogRecord));
    frames.push(frameRecord({ t: 'state', droppedByKind: state.droppedByKind, inventoryLost: state.inventoryLost } satisfies LogRecord));
    const buffer = Buffer.concat(frames);
    try {
      const tmp = await open(`${path}.tmp`, 'w', 0o600);
      try {
        await tmp.write(buffer, 0, buffer.length, 0);
        await tmp.sync();
      } finally {
        await tmp.close();
      }
      this.written = { droppedByKind: { ...state.droppedByKind }, inventoryLost: state.inventoryLost, nextSeq: state.nextSeq };
      await this.writeCheckpoint(no, ackedSeq, state.droppedUnattributed);
      await rename(`${path}.tmp`, path);
      await this.syncDir();
    } catch (error) {
      // Nothing on disk changed what recovery reads before the checkpoint; try the whole rewrite again.
      this.rewriteNeeded = true;
      throw error;
    }
    this.ackedSeq = ackedSeq;
    this.durableAckedSeq = ackedSeq;
    await this.handle?.close();
    this.handle = undefined;
    for (const old of [...this.segments.keys()]) {
      await unlink(join(this.dir, segmentFileName(old))).catch(() => undefined);
      this.segments.delete(old);
    }
    this.segments.set(no, { bytes: buffer.length, live: state.items.length });
    this.activeNo = no;
    this.segmentOf.clear();
    for (const item of state.items) {
      this.segmentOf.set(item.seq, no);
    }
    if (this.legacyPath) {
      await rm(this.legacyPath, { force: true });
      this.legacyPath = undefined;
    }
  }

  private async roll(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    this.activeNo += 1;
    this.segments.set(this.activeNo, { bytes: 0, live: 0 });
  }

  private async activeHandle(): Promise<FileHandle> {
    if (!this.handle) {
      const path = join(this.dir, segmentFileName(this.activeNo));
      // Created when missing, then reopened without O_APPEND, under which Linux ignores the write position.
      const created = await open(path, 'a', 0o600);
      await created.close();
      this.handle = await open(path, 'r+');
      await this.syncDir();
    }
    return this.handle;
  }

  private async writeCheckpoint(firstSegment: number, ackedSeq: number, droppedUnattributed?: number): Promise<void> {
    const checkpoint: Checkpoint = {
      version: 2,
      firstSegment,
      ackedSeq,
      nextSeq: this.written.nextSeq,
      droppedByKind: this.written.droppedByKind,
      droppedUnattributed: droppedUnattributed ?? this.queue.unattributedDrops,
      inventoryLost: this.written.inventoryLost,
    };
    const path = join(this.dir, CHECKPOINT_FILE);
    const tmp = await open(`${path}.tmp`, 'w', 0o600);
    try {
      await tmp.writeFile(JSON.stringify(checkpoint), 'utf8');
      await tmp.sync();
    } finally {
      await tmp.close();
    }
    await rename(`${path}.tmp`, path);
    await this.syncDir();
  }

  private async syncDir(): Promise<void> {
    const directory = await open(this.dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
}
