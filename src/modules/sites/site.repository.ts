import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/validation/ids';
import { Prisma, Site } from '../../generated/prisma/client';
import { SortDirection, PageRequest } from '../../common/graphql/pagination';
import { LabelRequirement } from '../../common/labels/label-selector';
import { PrismaService } from '../../infra/database/prisma.service';
import { labelSelectorSql, pagedRows, SortColumn } from '../../infra/database/list-query';
import { Tx } from '../../infra/database/transaction';
import { SiteSortField } from './site.model';

export interface SiteQuery {
  organizationId: string;
  tier?: string;
  region?: string;
  connectivity?: string;
  labels: LabelRequirement[];
}

const SORT: Record<SiteSortField, SortColumn> = {
  NAME: { sql: Prisma.raw('"name"'), cast: 'text' },
  CREATED_AT: { sql: Prisma.raw('"createdAt"'), cast: 'timestamptz' },
  UPDATED_AT: { sql: Prisma.raw('"updatedAt"'), cast: 'timestamptz' },
};

@Injectable()
export class SiteRepository {
  constructor(private readonly prisma: PrismaService) {}

  page(query: SiteQuery, sort: SiteSortField, direction: SortDirection, page: PageRequest) {
    const conditions = [
      Prisma.sql`"organizationId" = ${query.organizationId}::uuid`,
      ...(query.tier ? [Prisma.sql`"tier" = ${query.tier}::"SiteTier"`] : []),
      ...(query.region ? [Prisma.sql`"region" = ${query.region}`] : []),
      ...(query.connectivity ? [Prisma.sql`"connectivity" = ${query.connectivity}::"ConnectivityMode"`] : []),
      ...labelSelectorSql(query.labels),
    ];
    return pagedRows<Site>(this.prisma, 'Site', conditions, SORT[sort], direction, page);
  }

  findByIds(organizationId: string, ids: readonly string[]): Promise<Site[]> {
    return this.prisma.site.findMany({ where: { organizationId, id: { in: ids.filter(isUuid) } } });
  }

  find(organizationId: string, id: string): Promise<Site | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.site.findFirst({ where: { organizationId, id } });
  }

  findIn(tx: Tx, organizationId: string, id: string): Promise<Site | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return tx.site.findFirst({ where: { organizationId, id } });
  }

  create(tx: Tx, data: Prisma.SiteUncheckedCreateInput): Promise<Site> {
    return tx.site.create({ data });
  }

  update(tx: Tx, id: string, data: Prisma.SiteUncheckedUpdateInput): Promise<Site> {
    return tx.site.update({ where: { id }, data });
  }

  delete(tx: Tx, id: string): Promise<Site> {
    return tx.site.delete({ where: { id } });
  }

  countClusters(tx: Tx, siteId: string): Promise<number> {
    return tx.cluster.count({ where: { siteId } });
  }
}
