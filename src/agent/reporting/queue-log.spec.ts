import { cp, mkdtemp, readdir, readFile, rename, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeHeartbeatPayload, makeInventory } from '../../protocol/testing/factories';
import { QUEUE_DIR_NAME, QueueLog } from './queue-log';
import { frameRecord } from './record-framing';
import type { ReportQueue } from './report-queue';

const at = new Date('2026-11-26T10:00:00Z');
const limits = { maxItems: 1000, maxBytes: 1_000_000 };

describe(QueueLog.name, () => {
  let dir: string;
  const opened: QueueLog[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'farpoint-queue-log-'));
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((l) => l.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function openAt(stateDir = dir, options: { segmentBytes?: number; maxItems?: number; maxBytes?: number } = {}) {
    const result = await QueueLog.open(stateDir, {
      limits: { maxItems: options.maxItems ?? limits.maxItems, maxBytes: options.maxBytes ?? limits.maxBytes },
      segmentBytes: options.segmentBytes,
    });
    opened.push(result.log);
    return result;
  }
  const queueDir = (stateDir = dir) => join(stateDir, QUEUE_DIR_NAME);
  const segmentFiles = async (stateDir = dir) => (await readdir(queueDir(stateDir))).filter((n) => n.endsWith('.log')).sort();
  const seqs = (queue: ReportQueue) => queue.peekBatch(100_000, 1e12).map((i) => i.seq);
  const heartbeats = (queue: ReportQueue, n: number, log: QueueLog) => {
    for (let i = 0; i < n; i++) {
      queue.enqueue('heartbeat', makeHeartbeatPayload({ queueDepth: i + 1 }), new Date(at.getTime() + i * 1000));
      void log.save();
    }
    return log.flush();
  };

  it('starts empty and reads back what it appended, in order', async () => {
    const { queue, log, recovery } = await openAt();
    expect(recovery).toMatchObject({ items: 0, checkpoint: 'missing', truncatedBytes: 0 });
    queue.enqueue('inventory.snapshot', makeInventory(), at);
    await heartbeats(queue, 3, log);
    const before = queue.toState();
    await log.close();
    const reopened = await openAt();
    expect(reopened.queue.toState()).toEqual(before);
    expect(reopened.recovery).toMatchObject({ items: 4, segments: 1, truncatedBytes: 0 });
    expect(reopened.queue.enqueue('heartbeat', makeHeartbeatPayload(), at).seq).toBe(5);
  });

  it('appends one framed record per item: the segment grows by the item, nothing is rewritten', async () => {
    const { queue, log } = await openAt();
    await heartbeats(queue, 50, log);
    const [segment] = await segmentFiles();
    const path = join(queueDir(), segment);
    const before = await readFile(path);
    const item = queue.enqueue('heartbeat', makeHeartbeatPayload({ queueDepth: 99 }), at);
    await log.save();
    const after = await readFile(path);
    const frame = frameRecord({ t: 'item', item });
    expect(after.length - before.length).toBe(frame.length);
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
    expect(after.subarray(before.length).equals(frame)).toBe(true);
  });

  it('rolls segments at the size bound and deletes whole segments once acknowledged, keeping ackedSeq in the checkpoint', async () => {
    const { queue, log } = await openAt(dir, { segmentBytes: 1024 });
    await heartbeats(queue, 40, log);
    const rolled = await segmentFiles();
    expect(rolled.length).toBeGreaterThan(3);
    queue.acknowledge(30);
    await log.save();
    const left = await segmentFiles();
    expect(left.length).toBeLessThan(rolled.length);
    expect(left[0] > rolled[0]).toBe(true);
    expect(JSON.parse(await readFile(join(queueDir(), 'checkpoint.json'), 'utf8'))).toMatchObject({ version: 2, ackedSeq: 30 });
    await log.close();
    const reopened = await openAt(dir, { segmentBytes: 1024 });
    expect(seqs(reopened.queue)).toEqual(Array.from({ length: 10 }, (_, i) => 31 + i));
    queue.acknowledge(40);
  });

  it('loses only the item being written when a crash tears the last record at any byte', async () => {
    const { queue, log } = await openAt();
    queue.enqueue('inventory.snapshot', makeInventory(), at);
    await heartbeats(queue, 3, log);
    const lastSeqsBefore = seqs(queue);
    const [segment] = await segmentFiles();
    const full = await readFile(join(queueDir(), segment));
    const lastItem = queue.peekBatch(100, 1e9).at(-1)!;
    const lastStart = full.length - frameRecord({ t: 'item', item: lastItem }).length;
    await log.close();
    opened.splice(0);

    const crashDir = await mkdtemp(join(tmpdir(), 'farpoint-queue-torn-'));
    try {
      for (let offset = lastStart; offset <= full.length; offset++) {
        await rm(crashDir, { recursive: true, force: true });
        await cp(dir, crashDir, { recursive: true });
        await truncate(join(queueDir(crashDir), segment), offset);
        const { queue: recovered, log: recoveredLog, recovery } = await QueueLog.open(crashDir, { limits });
        const whole = offset === full.length;
        expect({ offset, seqs: seqs(recovered) }).toEqual({ offset, seqs: whole ? lastSeqsBefore : lastSeqsBefore.slice(0, -1) });
        expect(recovery.truncatedBytes).toBe(whole ? 0 : offset - lastStart);
        expect((await stat(join(queueDir(crashDir), segment))).size).toBe(whole ? full.length : lastStart);
        await recoveredLog.close();
      }
    } finally {
      await rm(crashDir, { recursive: true, force: true });
    }
  });

  it('truncates a record with a bad checksum and appends after it', async () => {
    const { queue, log } = await openAt();
    await heartbeats(queue, 3, log);
    await log.close();
    opened.splice(0);
    const [segment] = await segmentFiles();
    const path = join(queueDir(), segment);
    const bytes = await readFile(path);
    bytes[bytes.length - 5] ^= 0x01;
    await writeFile(path, bytes);

    const first = await openAt();
    expect(seqs(first.queue)).toEqual([1, 2]);
    expect(first.recovery.truncatedBytes).toBeGreaterThan(0);
    first.queue.enqueue('heartbeat', makeHeartbeatPayload(), at);
    await first.log.close();
    // The item lost in the corrupt record was never acknowledged; the next one numbers after the survivors.
    const second = await openAt();
    expect(seqs(second.queue)).toEqual([1, 2, 3]);
    expect(second.recovery.truncatedBytes).toBe(0);
  });

  it('reads on past an earlier segment with a corrupt record, losing only that segment’s rest', async () => {
    const { queue, log } = await openAt(dir, { segmentBytes: 600 });
    await heartbeats(queue, 12, log);
    await log.close();
    opened.splice(0);
    const files = await segmentFiles();
    expect(files.length).toBeGreaterThan(2);
    const path = join(queueDir(), files[0]);
    const bytes = await readFile(path);
    const kept = (await openAt(dir, { segmentBytes: 600 })).queue.peekBatch(100, 1e9).length;
    await opened.splice(0)[0].close();
    bytes[12] ^= 0xff;
    await writeFile(path, bytes);
    const { queue: recovered, recovery } = await openAt(dir, { segmentBytes: 600 });
    expect(recovery.corruptSegments).toBe(1);
    expect(recovered.depth).toBeLessThan(kept);
    expect(seqs(recovered).at(-1)).toBe(12);
  });

  it('keeps drop counts per kind and inventoryLost exactly across restarts, without counting a drop twice', async () => {
    const { queue, log } = await openAt(dir, { maxItems: 2 });
    queue.enqueue('inventory.snapshot', makeInventory(), at);
    queue.enqueue('inventory.delta', { requested: { cpuMillis: 1, memoryMiB: 1 } }, at);
    await heartbeats(queue, 4, log);
    expect(queue.droppedByKind).toEqual({ heartbeat: 3, 'inventory.delta': 1 });
    const state = queue.toState();
    await log.close();
    for (let restart = 0; restart < 2; restart++) {
      const reopened = await openAt(dir, { maxItems: 2 });
      expect(reopened.queue.toState()).toEqual(state);
      await reopened.log.close();
    }
    const last = await openAt(dir, { maxItems: 2 });
    last.queue.enqueue('inventory.snapshot', makeInventory(), at);
    await last.log.close();
    expect((await openAt(dir, { maxItems: 2 })).queue.inventoryLost).toBe(false);
  });

  it('compacts when dropped records outweigh the queued ones, so days offline stay within bounds on disk', async () => {
    const { queue, log } = await openAt(dir, { segmentBytes: 2048, maxItems: 5 });
    queue.enqueue('inventory.snapshot', makeInventory(), at);
    await heartbeats(queue, 500, log);
    expect(log.diskBytes).toBeLessThan(2 * queue.bytes + 3 * 2048 + 4096);
    expect((await segmentFiles()).length).toBeLessThan(6);
    const state = queue.toState();
    expect(state.droppedByKind).toEqual({ heartbeat: 496 });
    await log.close();
    expect((await openAt(dir, { segmentBytes: 2048, maxItems: 5 })).queue.toState()).toEqual(state);
  });

  it('persists a renumbering and a clear as a rewrite', async () => {
    const { queue, log } = await openAt();
    await heartbeats(queue, 2, log);
    queue.acknowledge(500);
    await log.save();
    await log.close();
    const renumbered = await openAt();
    expect(seqs(renumbered.queue)).toEqual([501, 502]);
    renumbered.queue.clear();
    await renumbered.log.close();
    const cleared = await openAt();
    expect(cleared.queue.depth).toBe(0);
    expect(cleared.queue.upcomingSeq).toBe(503);
  });

  it('completes a compaction the checkpoint names, and ignores one it does not', async () => {
    const { queue, log } = await openAt();
    await heartbeats(queue, 3, log);
    queue.acknowledge(500);
    await log.close();
    opened.splice(0);
    const [segment] = await segmentFiles();
    // Crash after the checkpoint, before the rename.
    await rename(join(queueDir(), segment), join(queueDir(), `${segment}.tmp`));
    const completed = await openAt();
    expect(seqs(completed.queue)).toEqual([501, 502, 503]);
    await completed.log.close();
    // Crash before the checkpoint: a stray compaction file is not read.
    await writeFile(join(queueDir(), 'segment-000000000099.log.tmp'), frameRecord({ t: 'item', item: { seq: 9999 } }));
    const ignored = await openAt();
    expect(seqs(ignored.queue)).toEqual([501, 502, 503]);
    expect((await readdir(queueDir())).some((n) => n.endsWith('.tmp') && n !== 'checkpoint.json.tmp')).toBe(false);
  });

  it('keeps what a failed write could not store (a full disk) and writes it with the next save', async () => {
    const { queue, log } = await openAt();
    await heartbeats(queue, 2, log);
    const [segment] = await segmentFiles();
    const path = join(queueDir(), segment);
    const stored = await readFile(path);
    // Writes to /dev/full fail with ENOSPC.
    await rm(path);
    await symlink('/dev/full', path);
    await log.close();
    queue.enqueue('heartbeat', makeHeartbeatPayload({ queueDepth: 3 }), at);
    await expect(log.save()).rejects.toMatchObject({ code: 'ENOSPC' });
    // Space again: the same file, as it was before the failed write.
    await rm(path);
    await writeFile(path, stored);
    queue.enqueue('heartbeat', makeHeartbeatPayload({ queueDepth: 4 }), at);
    await log.save();
    await log.close();
    expect(seqs((await openAt()).queue)).toEqual([1, 2, 3, 4]);
  });

  it('takes over the single queue file of an older agent once, then deletes it', async () => {
    const good = { seq: 5, observedAt: at.toISOString(), kind: 'heartbeat', payload: makeHeartbeatPayload() };
    const bad = { seq: 4, observedAt: 'never', kind: 'heartbeat', payload: {} };
    await writeFile(join(dir, 'report-queue.json'), JSON.stringify({ version: 1, nextSeq: 6, droppedItemCount: 1, inventoryLost: true, items: [good, bad] }));
    const { queue, recovery, log } = await openAt();
    expect(recovery).toMatchObject({ migratedItems: 1, invalidItems: 1 });
    expect(queue.toState()).toEqual({ nextSeq: 6, droppedByKind: {}, droppedUnattributed: 2, inventoryLost: true, items: [good] });
    expect(queue.droppedItemCount).toBe(2);
    await log.close();
    await expect(stat(join(dir, 'report-queue.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await openAt()).queue.toState()).toEqual({ nextSeq: 6, droppedByKind: {}, droppedUnattributed: 2, inventoryLost: true, items: [good] });
  });

  it('moves an unreadable old queue file aside and starts empty', async () => {
    await writeFile(join(dir, 'report-queue.json'), '{"version":1,"nextSeq":');
    const { queue, recovery } = await openAt();
    expect(queue.depth).toBe(0);
    expect(recovery.legacyCorrupt?.reason).toMatch(/^not JSON/);
    expect(await readFile(recovery.legacyCorrupt!.movedTo, 'utf8')).toBe('{"version":1,"nextSeq":');
  });
});
