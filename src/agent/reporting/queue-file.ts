import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ReportItemSchema } from '../../protocol/reports';
import type { ReportQueueState } from './report-queue';

const QueueStateSchema = z.object({
  version: z.literal(1),
  nextSeq: z.number().int().min(1),
  droppedItemCount: z.number().int().min(0),
  inventoryLost: z.boolean(),
  items: z.array(z.unknown()),
});

export type LoadResult =
  | { kind: 'missing' }
  | { kind: 'loaded'; state: ReportQueueState; invalidItems: number }
  /** Unreadable file, moved aside to `movedTo`; the agent starts with an empty queue. */
  | { kind: 'corrupt'; movedTo: string; reason: string };

/**
 * The report queue on disk: one JSON file replaced atomically (write a temporary file, fsync,
 * rename, fsync the directory), so a crash leaves either the old or the new state. Saves are
 * serialised and coalesced: while one write runs, later saves collapse into one more write of the
 * newest state.
 */
export class QueueFile {
  readonly path: string;
  private writing: Promise<void> | undefined;
  private pending: (() => ReportQueueState) | undefined;

  constructor(stateDir: string, fileName = 'report-queue.json') {
    this.path = join(stateDir, fileName);
  }

  async load(): Promise<LoadResult> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { kind: 'missing' };
      }
      throw error;
    }
    let reason: string;
    try {
      const parsed = QueueStateSchema.safeParse(JSON.parse(text));
      if (parsed.success) {
        // Items are validated one by one so a single bad item does not lose the queue.
        const items = parsed.data.items.flatMap((raw) => {
          const item = ReportItemSchema.safeParse(raw);
          return item.success ? [item.data] : [];
        });
        const invalidItems = parsed.data.items.length - items.length;
        const state: ReportQueueState = {
          ...parsed.data,
          droppedItemCount: parsed.data.droppedItemCount + invalidItems,
          items: items.sort((a, b) => a.seq - b.seq),
        };
        return { kind: 'loaded', state, invalidItems };
      }
      reason = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    } catch (error) {
      reason = `not JSON: ${(error as Error).message}`;
    }
    const movedTo = `${this.path}.corrupt-${Date.now()}`;
    await rename(this.path, movedTo);
    return { kind: 'corrupt', movedTo, reason };
  }

  /** Schedules a write of the state returned by `snapshot` (called when the write starts). */
  save(snapshot: () => ReportQueueState): Promise<void> {
    this.pending = snapshot;
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
      await this.writing;
    }
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const snapshot = this.pending;
      this.pending = undefined;
      await this.writeAtomically(JSON.stringify(snapshot()));
    }
  }

  private async writeAtomically(text: string): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, this.path);
    const directory = await open(dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
}
