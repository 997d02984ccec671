import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/validation/ids';
import { Namespace, Prisma } from '../../generated/prisma/client';
import { PageRequest, SortDirection } from '../../common/graphql/pagination';
import { LabelRequirement } from '../../common/labels/label-selector';
import { labelSelectorSql, pagedRows } from '../../infra/database/list-query';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';

@Injectable()
export class NamespaceRepository {
  constructor(private readonly prisma: PrismaService) {}

  page(query: { organizationId: string; clusterId?: string; workspaceId?: string; labels: LabelRequirement[] }, page: PageRequest) {
    const conditions = [
      Prisma.sql`"organizationId" = ${query.organizationId}::uuid`,
      ...(query.clusterId ? [Prisma.sql`"clusterId" = ${query.clusterId}::uuid`] : []),
      ...(query.workspaceId ? [Prisma.sql`"workspaceId" = ${query.workspaceId}::uuid`] : []),
      ...labelSelectorSql(query.labels),
    ];
    return pagedRows<Namespace>(this.prisma, 'Namespace', conditions, { sql: Prisma.raw('"name"'), cast: 'text' }, SortDirection.ASC, page);
  }

  find(organizationId: string, id: string): Promise<Namespace | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.namespace.findFirst({ where: { organizationId, id } });
  }

  create(tx: Tx, data: Prisma.NamespaceUncheckedCreateInput): Promise<Namespace> {
    return tx.namespace.create({ data });
  }

  update(tx: Tx, id: string, data: Prisma.NamespaceUncheckedUpdateInput): Promise<Namespace> {
    return tx.namespace.update({ where: { id }, data });
  }

  delete(tx: Tx, id: string): Promise<Namespace> {
    return tx.namespace.delete({ where: { id } });
  }

  async countByCluster(organizationId: string, clusterIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.prisma.namespace.groupBy({ by: ['clusterId'], where: { organizationId, clusterId: { in: [...clusterIds] } }, _count: { _all: true } });
    return new Map(rows.map((r) => [r.clusterId, r._count._all]));
  }

  async countByWorkspace(organizationId: string, workspaceIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.prisma.namespace.groupBy({ by: ['workspaceId'], where: { organizationId, workspaceId: { in: [...workspaceIds] } }, _count: { _all: true } });
    return new Map(rows.map((r) => [r.workspaceId, r._count._all]));
  }
}
