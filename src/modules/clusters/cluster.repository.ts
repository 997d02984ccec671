import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/validation/ids';
import { Cluster, ClusterHealth, Prisma } from '../../generated/prisma/client';
import { PageRequest, SortDirection } from '../../common/graphql/pagination';
import { LabelRequirement } from '../../common/labels/label-selector';
import { labelSelectorSql, pagedRows, SortColumn } from '../../infra/database/list-query';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';
import { HEARTBEATING_PHASES } from './cluster-phases';
import { ClusterSortField } from './cluster.model';

export interface ClusterQuery {
  organizationId: string;
  siteId?: string;
  groupId?: string;
  phases?: string[];
  health?: string[];
  distribution?: string;
  labels: LabelRequirement[];
}

const SORT: Record<ClusterSortField, SortColumn> = {
  NAME: { sql: Prisma.raw('"name"'), cast: 'text' },
  CREATED_AT: { sql: Prisma.raw('"createdAt"'), cast: 'timestamptz' },
  UPDATED_AT: { sql: Prisma.raw('"updatedAt"'), cast: 'timestamptz' },
  NODE_COUNT: { sql: Prisma.raw('"nodeCount"'), cast: 'int' },
};

@Injectable()
export class ClusterRepository {
  constructor(private readonly prisma: PrismaService) {}

  page(query: ClusterQuery, sort: ClusterSortField, direction: SortDirection, page: PageRequest) {
    const conditions = [
      Prisma.sql`"organizationId" = ${query.organizationId}::uuid`,
      ...(query.siteId ? [Prisma.sql`"siteId" = ${query.siteId}::uuid`] : []),
      ...(query.groupId ? [Prisma.sql`"groupId" = ${query.groupId}::uuid`] : []),
      ...(query.phases?.length ? [Prisma.sql`"phase"::text = ANY(${query.phases}::text[])`] : []),
      ...(query.health?.length ? [Prisma.sql`"health"::text = ANY(${query.health}::text[])`] : []),
      ...(query.distribution ? [Prisma.sql`"distribution" = ${query.distribution}::"ClusterDistribution"`] : []),
      ...labelSelectorSql(query.labels),
    ];
    return pagedRows<Cluster>(this.prisma, 'Cluster', conditions, SORT[sort], direction, page);
  }

  find(organizationId: string, id: string): Promise<Cluster | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.cluster.findFirst({ where: { organizationId, id } });
  }

  findIn(tx: Tx, organizationId: string, id: string): Promise<Cluster | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return tx.cluster.findFirst({ where: { organizationId, id } });
  }

  /** Locks the cluster row until the transaction ends and returns it as of the lock (for decisions that must win). */
  async lock(tx: Tx, organizationId: string, id: string): Promise<Cluster | null> {
    if (!isUuid(id)) {
      return null;
    }
    await tx.$queryRaw(Prisma.sql`SELECT 1 FROM "Cluster" WHERE "id" = ${id}::uuid AND "organizationId" = ${organizationId}::uuid FOR UPDATE`);
    return this.findIn(tx, organizationId, id);
  }

  findByIds(organizationId: string, ids: readonly string[]): Promise<Cluster[]> {
    return this.prisma.cluster.findMany({ where: { organizationId, id: { in: ids.filter(isUuid) } } });
  }

  create(tx: Tx, data: Prisma.ClusterUncheckedCreateInput): Promise<Cluster> {
    return tx.cluster.create({ data });
  }

  update(tx: Tx, id: string, data: Prisma.ClusterUncheckedUpdateInput): Promise<Cluster> {
    return tx.cluster.update({ where: { id }, data });
  }

  /**
   * Compare-and-set of phase and health: writes only while the row still has the expected phase and
   * health (and lastHeartbeatAt, when given). Postgres re-checks the condition after waiting for a
   * concurrent writer's row lock, so a change committed in between makes this a no-op. False: lost.
   */
  async updateStatusIf(
    tx: Tx,
    id: string,
    expected: Pick<Cluster, 'phase' | 'health'> & { lastHeartbeatAt?: Date | null },
    data: Pick<Cluster, 'phase' | 'health' | 'phaseReason'>,
  ): Promise<boolean> {
    const where: Prisma.ClusterWhereInput = {
      id,
      phase: expected.phase,
      health: expected.health,
      ...(expected.lastHeartbeatAt !== undefined ? { lastHeartbeatAt: expected.lastHeartbeatAt } : {}),
    };
    const { count } = await tx.cluster.updateMany({ where, data });
    return count === 1;
  }

  delete(tx: Tx, id: string): Promise<Cluster> {
    return tx.cluster.delete({ where: { id } });
  }

  /**
   * Clusters with a registered agent that has been silent longer than its site's disconnect grace
   * (60 s without a site), and that are not already DISCONNECTED.
   */
  findSilent(now: Date): Promise<Cluster[]> {
    return this.prisma.$queryRaw<Cluster[]>(Prisma.sql`
      SELECT c.* FROM "Cluster" c LEFT JOIN "Site" s ON s."id" = c."siteId"
      WHERE c."phase"::text = ANY(${[...HEARTBEATING_PHASES]}::text[]) AND c."health" <> 'DISCONNECTED'
        AND coalesce(c."lastHeartbeatAt", c."updatedAt") < ${now}::timestamptz - make_interval(secs => coalesce(s."disconnectGraceSeconds", 60))`);
  }

  /** Cluster counts per site (one statement for any number of sites). */
  async countBySite(organizationId: string, siteIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.prisma.cluster.groupBy({ by: ['siteId'], where: { organizationId, siteId: { in: [...siteIds] } }, _count: { _all: true } });
    return new Map(rows.map((r) => [r.siteId!, r._count._all]));
  }

  async countByGroup(organizationId: string, groupIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.prisma.cluster.groupBy({ by: ['groupId'], where: { organizationId, groupId: { in: [...groupIds] } }, _count: { _all: true } });
    return new Map(rows.map((r) => [r.groupId, r._count._all]));
  }

  /** Health counts per site: site id → health → count. */
  async healthBySite(organizationId: string, siteIds: readonly string[]): Promise<Map<string, Partial<Record<ClusterHealth, number>>>> {
    const rows = await this.prisma.cluster.groupBy({ by: ['siteId', 'health'], where: { organizationId, siteId: { in: [...siteIds] } }, _count: { _all: true } });
    const result = new Map<string, Partial<Record<ClusterHealth, number>>>();
    for (const row of rows) {
      const summary = result.get(row.siteId!) ?? {};
      summary[row.health] = row._count._all;
      result.set(row.siteId!, summary);
    }
    return result;
  }
}
