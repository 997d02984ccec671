import { Injectable } from '@nestjs/common';
import { Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';
import type { Inventory } from '../../protocol';

export interface StoredInventory {
  /** null until the agent's first inventory.snapshot (the row exists earlier to hold ackedSeq). */
  snapshot: Inventory | null;
  ackedSeq: number;
}

/**
 * ClusterInventory, written only by report ingestion. Before the first snapshot the row holds the
 * JSON value null in `snapshot`, so heartbeats still advance ackedSeq durably; `reportedAt` is when
 * the inventory last changed (or the row was created).
 */
@Injectable()
export class ClusterInventoryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The latest snapshots of an organization's clusters (GraphQL cluster detail, batched by a DataLoader). */
  async snapshotsOf(organizationId: string, clusterIds: readonly string[]): Promise<Map<string, { snapshot: Inventory | null; reportedAt: Date }>> {
    const rows = await this.prisma.clusterInventory.findMany({ where: { clusterId: { in: [...clusterIds] }, cluster: { organizationId } } });
    return new Map(rows.map((r) => [r.clusterId, { snapshot: (r.snapshot ?? null) as unknown as Inventory | null, reportedAt: r.reportedAt }]));
  }

  /** Only the acknowledged seq (null: no row yet), without reading the possibly large snapshot. */
  async findAckedSeq(tx: Tx, clusterId: string): Promise<number | null> {
    const row = await tx.clusterInventory.findUnique({ where: { clusterId }, select: { ackedSeq: true } });
    return row?.ackedSeq ?? null;
  }

  async find(tx: Tx, clusterId: string): Promise<StoredInventory | null> {
    const row = await tx.clusterInventory.findUnique({ where: { clusterId }, select: { snapshot: true, ackedSeq: true } });
    if (!row) {
      return null;
    }
    return { snapshot: (row.snapshot ?? null) as unknown as Inventory | null, ackedSeq: row.ackedSeq };
  }

  /** Writes ackedSeq; `snapshot` and `reportedAt` are written when given (undefined keeps the stored value). */
  async save(tx: Tx, clusterId: string, data: { ackedSeq: number; snapshot?: Inventory | null; reportedAt?: Date }): Promise<void> {
    const snapshot = data.snapshot === undefined ? undefined : data.snapshot === null ? Prisma.JsonNull : (data.snapshot as unknown as Prisma.InputJsonValue);
    await tx.clusterInventory.upsert({
      where: { clusterId },
      create: { clusterId, ackedSeq: data.ackedSeq, snapshot: snapshot ?? Prisma.JsonNull, reportedAt: data.reportedAt ?? new Date() },
      update: { ackedSeq: data.ackedSeq, ...(snapshot !== undefined ? { snapshot } : {}), ...(data.reportedAt ? { reportedAt: data.reportedAt } : {}) },
    });
  }
}
