import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeHeartbeatPayload } from '../../protocol/testing/factories';
import { QueueFile } from './queue-file';
import { ReportQueue } from './report-queue';

describe(QueueFile.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'farpoint-queue-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const at = new Date('2026-11-26T10:00:00Z');

  it('reports a missing file', async () => {
    expect(await new QueueFile(dir).load()).toEqual({ kind: 'missing' });
  });

  it('writes the state atomically and reads it back', async () => {
    const q = new ReportQueue({ maxItems: 10, maxBytes: 100_000 });
    q.raiseNextSeq(7);
    q.enqueue('heartbeat', makeHeartbeatPayload(), at);
    const file = new QueueFile(join(dir, 'nested'));
    await file.save(() => q.toState());
    expect(await file.load()).toEqual({ kind: 'loaded', state: q.toState(), invalidItems: 0 });
    expect(await readdir(join(dir, 'nested'))).toEqual(['report-queue.json']);
  });

  it('coalesces saves made while a write runs into one write of the newest state', async () => {
    const q = new ReportQueue({ maxItems: 100, maxBytes: 100_000 });
    const file = new QueueFile(dir);
    let snapshots = 0;
    const snapshot = () => {
      snapshots += 1;
      return q.toState();
    };
    const writes = [];
    for (let i = 0; i < 10; i++) {
      q.enqueue('heartbeat', makeHeartbeatPayload(), at);
      writes.push(file.save(snapshot));
    }
    await Promise.all(writes);
    await file.flush();
    expect(snapshots).toBe(2);
    const loaded = await file.load();
    expect(loaded.kind === 'loaded' && loaded.state.items.length).toBe(10);
  });

  it('moves a corrupt file aside instead of failing', async () => {
    const file = new QueueFile(dir);
    await writeFile(file.path, '{"version":1,"nextSeq":');
    const result = await file.load();
    expect(result).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/^not JSON/) });
    expect(await readFile(result.kind === 'corrupt' ? result.movedTo : '', 'utf8')).toBe('{"version":1,"nextSeq":');
    expect(await new QueueFile(dir).load()).toEqual({ kind: 'missing' });
  });

  it('drops invalid items one by one and counts them as dropped', async () => {
    const file = new QueueFile(dir);
    const good = { seq: 5, observedAt: at.toISOString(), kind: 'heartbeat', payload: makeHeartbeatPayload() };
    const bad = { seq: 4, observedAt: 'never', kind: 'heartbeat', payload: {} };
    await writeFile(file.path, JSON.stringify({ version: 1, nextSeq: 6, droppedItemCount: 1, inventoryLost: false, items: [good, bad] }));
    expect(await file.load()).toEqual({
      kind: 'loaded',
      invalidItems: 1,
      state: { version: 1, nextSeq: 6, droppedItemCount: 2, inventoryLost: false, items: [good] },
    });
  });
});
