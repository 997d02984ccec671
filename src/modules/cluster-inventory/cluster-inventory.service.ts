import { Injectable } from '@nestjs/common';
import type { ClusterHealth } from '../../generated/prisma/client';
import { Tx } from '../../infra/database/transaction';
import type { Inventory, ReportItem } from '../../protocol';
import { ClusterInventoryRepository } from './cluster-inventory.repository';
import { foldReportItems, IngestOutcome, needsStoredInventory, newItems } from './inventory-ingestion';

/**
 * The stored inventory of each cluster: a report batch is folded into it (snapshots replace it,
 * deltas apply to it) inside the caller's transaction, with the acknowledged seq, so a batch is stored
 * completely or not at all.
 */
@Injectable()
export class ClusterInventoryService {
  constructor(private readonly inventories: ClusterInventoryRepository) {}

  /**
   * Applies a batch of report items for a cluster whose row the caller holds locked. Reads the stored
   * snapshot only when the batch needs it (a delta, or health to judge), since it can be large.
   */
  async ingest(tx: Tx, cluster: { id: string; health: ClusterHealth }, items: readonly ReportItem[], now: Date): Promise<IngestOutcome> {
    const storedSeq = await this.inventories.findAckedSeq(tx, cluster.id);
    const state = { ackedSeq: storedSeq ?? 0, inventory: null as Inventory | null };
    if (storedSeq !== null && needsStoredInventory(newItems(items, storedSeq), cluster.health)) {
      state.inventory = (await this.inventories.find(tx, cluster.id))?.snapshot ?? null;
    }
    const outcome = foldReportItems(state, items);
    if (outcome.processed > 0) {
      await this.inventories.save(tx, cluster.id, {
        ackedSeq: outcome.ackedSeq,
        snapshot: outcome.inventoryChanged ? outcome.inventory : storedSeq === null ? null : undefined,
        reportedAt: outcome.inventoryChanged || storedSeq === null ? now : undefined,
      });
    }
    return outcome;
  }
}
