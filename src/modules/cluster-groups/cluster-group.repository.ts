import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/validation/ids';
import { ClusterGroup, Prisma } from '../../generated/prisma/client';
import { PageRequest, SortDirection } from '../../common/graphql/pagination';
import { LabelRequirement } from '../../common/labels/label-selector';
import { labelSelectorSql, pagedRows } from '../../infra/database/list-query';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';

@Injectable()
export class ClusterGroupRepository {
  constructor(private readonly prisma: PrismaService) {}

  page(organizationId: string, labels: LabelRequirement[], page: PageRequest) {
    const conditions = [Prisma.sql`"organizationId" = ${organizationId}::uuid`, ...labelSelectorSql(labels)];
    return pagedRows<ClusterGroup>(this.prisma, 'ClusterGroup', conditions, { sql: Prisma.raw('"name"'), cast: 'text' }, SortDirection.ASC, page);
  }

  find(organizationId: string, id: string): Promise<ClusterGroup | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.clusterGroup.findFirst({ where: { organizationId, id } });
  }

  findIn(tx: Tx, organizationId: string, id: string): Promise<ClusterGroup | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return tx.clusterGroup.findFirst({ where: { organizationId, id } });
  }

  findByIds(organizationId: string, ids: readonly string[]): Promise<ClusterGroup[]> {
    return this.prisma.clusterGroup.findMany({ where: { organizationId, id: { in: ids.filter(isUuid) } } });
  }

  create(tx: Tx, data: Prisma.ClusterGroupUncheckedCreateInput): Promise<ClusterGroup> {
    return tx.clusterGroup.create({ data });
  }

  update(tx: Tx, id: string, data: Prisma.ClusterGroupUncheckedUpdateInput): Promise<ClusterGroup> {
    return tx.clusterGroup.update({ where: { id }, data });
  }

  delete(tx: Tx, id: string): Promise<ClusterGroup> {
    return tx.clusterGroup.delete({ where: { id } });
  }

  countClusters(tx: Tx, groupId: string): Promise<number> {
    return tx.cluster.count({ where: { groupId } });
  }
}
