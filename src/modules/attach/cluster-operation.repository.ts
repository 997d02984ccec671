import { Injectable } from '@nestjs/common';
import { ClusterOperation, OperationKind, OperationState, Prisma } from '../../generated/prisma/client';
import { isUuid } from '../../common/validation/ids';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';

@Injectable()
export class ClusterOperationRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(tx: Tx, data: { organizationId: string; clusterId: string; kind: OperationKind; state?: OperationState; createdBy: string }): Promise<ClusterOperation> {
    return tx.clusterOperation.create({ data });
  }

  find(id: string, organizationId?: string): Promise<ClusterOperation | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.clusterOperation.findFirst({ where: { id, ...(organizationId ? { organizationId } : {}) } });
  }

  /** A single-row write on its own (the attach worker's progress); inside a transaction use updateIn. */
  update(id: string, data: Prisma.ClusterOperationUpdateInput): Promise<ClusterOperation> {
    return this.prisma.clusterOperation.update({ where: { id }, data });
  }

  updateIn(tx: Tx, id: string, data: Prisma.ClusterOperationUpdateInput): Promise<ClusterOperation> {
    return tx.clusterOperation.update({ where: { id }, data });
  }

  /** Newest first, for many clusters at once (DataLoader batch). */
  listForClusters(organizationId: string, clusterIds: readonly string[]): Promise<ClusterOperation[]> {
    return this.prisma.clusterOperation.findMany({ where: { organizationId, clusterId: { in: [...clusterIds] } }, orderBy: { createdAt: 'desc' } });
  }

  /** Marks the open operations of a kind on a cluster as finished (e.g. when a detach completes). */
  async finishOpen(tx: Tx, clusterId: string, kind: OperationKind, state: OperationState, lastError: string | null = null): Promise<number> {
    const { count } = await tx.clusterOperation.updateMany({
      where: { clusterId, kind, state: { in: ['QUEUED', 'RUNNING', 'WAITING_FOR_AGENT'] } },
      data: { state, lastError, finishedAt: new Date() },
    });
    return count;
  }
}
