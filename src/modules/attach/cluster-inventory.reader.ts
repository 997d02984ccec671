import { Injectable } from '@nestjs/common';
import { Inventory } from '../../protocol';
import { PrismaService } from '../../infra/database/prisma.service';

/** Reads the inventory snapshots agents reported (written by the agent gateway). */
@Injectable()
export class ClusterInventoryReader {
  constructor(private readonly prisma: PrismaService) {}

  async forClusters(clusterIds: readonly string[]): Promise<Map<string, { snapshot: Inventory; reportedAt: Date }>> {
    const rows = await this.prisma.clusterInventory.findMany({ where: { clusterId: { in: [...clusterIds] } } });
    return new Map(rows.map((r) => [r.clusterId, { snapshot: r.snapshot as unknown as Inventory, reportedAt: r.reportedAt }]));
  }
}
