import { readFile, rename } from 'node:fs/promises';
import { z } from 'zod';
import { ReportItemSchema } from '../../protocol/reports';
import type { ReportQueueState } from './report-queue';

/** The single JSON file agents before the segmented log kept (`<stateDir>/report-queue.json`). */
const LegacyQueueStateSchema = z.object({
  version: z.literal(1),
  nextSeq: z.number().int().min(1),
  droppedItemCount: z.number().int().min(0),
  inventoryLost: z.boolean(),
  items: z.array(z.unknown()),
});

export type LegacyLoadResult =
  | { kind: 'missing' }
  | { kind: 'loaded'; state: ReportQueueState; invalidItems: number }
  /** Unreadable file, moved aside to `movedTo`. */
  | { kind: 'corrupt'; movedTo: string; reason: string };

/**
 * Reads the queue file of an older agent once, so an upgrade keeps its backlog: QueueLog converts
 * it into a segment and deletes it. Its drops had no kind; they are carried as unattributed.
 */
export async function readLegacyQueueFile(path: string): Promise<LegacyLoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { kind: 'missing' };
    }
    throw error;
  }
  let reason: string;
  try {
    const parsed = LegacyQueueStateSchema.safeParse(JSON.parse(text));
    if (parsed.success) {
      // Items are validated one by one so a single bad item does not lose the queue.
      const items = parsed.data.items.flatMap((raw) => {
        const item = ReportItemSchema.safeParse(raw);
        return item.success ? [item.data] : [];
      });
      const invalidItems = parsed.data.items.length - items.length;
      const state: ReportQueueState = {
        nextSeq: parsed.data.nextSeq,
        droppedByKind: {},
        droppedUnattributed: parsed.data.droppedItemCount + invalidItems,
        inventoryLost: parsed.data.inventoryLost,
        items: items.sort((a, b) => a.seq - b.seq),
      };
      return { kind: 'loaded', state, invalidItems };
    }
    reason = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  } catch (error) {
    reason = `not JSON: ${(error as Error).message}`;
  }
  const movedTo = `${path}.corrupt-${Date.now()}`;
  await rename(path, movedTo);
  return { kind: 'corrupt', movedTo, reason };
}
