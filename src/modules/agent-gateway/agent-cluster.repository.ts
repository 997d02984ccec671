import { Injectable } from '@nestjs/common';
import { Cluster, Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';

export type ClusterWithSite = Cluster & { site: { heartbeatIntervalSeconds: number } | null };

const WITH_SITE = { site: { select: { heartbeatIntervalSeconds: true } } } as const;

/** A JSON column value for "no error": SQL NULL (Prisma's DbNull), not the JSON null. */
export const jsonOrDbNull = (value: Prisma.InputJsonValue | null | undefined): Prisma.InputJsonValue | typeof Prisma.DbNull => value ?? Prisma.DbNull;

/** The cluster reads the gateway needs beyond ClusterRepository: with the site's intervals, and under a row lock. */
@Injectable()
export class AgentClusterRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(id: string): Promise<ClusterWithSite | null> {
    return this.prisma.cluster.findUnique({ where: { id }, include: WITH_SITE });
  }

  findIn(tx: Tx, id: string): Promise<ClusterWithSite | null> {
    return tx.cluster.findUnique({ where: { id }, include: WITH_SITE });
  }

  /**
   * Locks the cluster row until the transaction ends and returns it as of the lock. Every agent
   * request that changes a cluster takes this lock first, so two report batches, a registration and
   * a detach of one cluster never interleave.
   */
  async lock(tx: Tx, id: string): Promise<ClusterWithSite | null> {
    await tx.$queryRaw(Prisma.sql`SELECT 1 FROM "Cluster" WHERE "id" = ${id}::uuid FOR UPDATE`);
    return this.findIn(tx, id);
  }
}
