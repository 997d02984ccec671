import { Injectable } from '@nestjs/common';
import { ClusterOperation, OperationKind, OperationState, Prisma } from '../../generated/prisma/client';
import { isUuid } from '../../common/validation/ids';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';

/** States an operation is open in: its job may still run. */
export const OPEN_OPERATION_STATES: OperationState[] = ['QUEUED', 'RUNNING', 'WAITING_FOR_AGENT'];

/** An operation that ends forgets its sealed job payload (the outbox keeps it only while it may be needed). */
function closing<T extends { state?: unknown; sealedPayload?: unknown }>(data: T): T {
  const state = typeof data.state === 'string' ? data.state : undefined;
  return state && !OPEN_OPERATION_STATES.includes(state as OperationState) ? { ...data, sealedPayload: null } : data;
}

@Injectable()
export class ClusterOperationRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(
    tx: Tx,
    data: { id?: string; organizationId: string; clusterId: string; kind: OperationKind; state?: OperationState; createdBy: string; sealedPayload?: string },
  ): Promise<ClusterOperation> {
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
    return this.prisma.clusterOperation.update({ where: { id }, data: closing(data) });
  }

  updateIn(tx: Tx, id: string, data: Prisma.ClusterOperationUpdateInput): Promise<ClusterOperation> {
    return tx.clusterOperation.update({ where: { id }, data: closing(data) });
  }

  /** Open operations with a sealed payload created before `before`, oldest first: candidates for the reconciler. */
  openWithPayload(before: Date, limit: number): Promise<Array<Pick<ClusterOperation, 'id' | 'kind' | 'sealedPayload' | 'createdAt'>>> {
    return this.prisma.clusterOperation.findMany({
      where: { state: { in: OPEN_OPERATION_STATES }, sealedPayload: { not: null }, createdAt: { lt: before } },
      select: { id: true, kind: true, sealedPayload: true, createdAt: true },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
  }

  /** Newest first, for many clusters at once (DataLoader batch). */
  listForClusters(organizationId: string, clusterIds: readonly string[]): Promise<ClusterOperation[]> {
    return this.prisma.clusterOperation.findMany({ where: { organizationId, clusterId: { in: [...clusterIds] } }, orderBy: { createdAt: 'desc' } });
  }

  /** Marks the open operations of a kind on a cluster as finished (e.g. when a detach completes). */
  async finishOpen(tx: Tx, clusterId: string, kind: OperationKind, state: OperationState, lastError: string | null = null): Promise<number> {
    const { count } = await tx.clusterOperation.updateMany({
      where: { clusterId, kind, state: { in: OPEN_OPERATION_STATES } },
      data: closing({ state, lastError, finishedAt: new Date() }),
    });
    return count;
  }
}
