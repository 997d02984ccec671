import { Injectable } from '@nestjs/common';
import { PageRequest, SortDirection } from '../../common/graphql/pagination';
import { EnforcementAction, PolicyViolation, PolicyViolationSummary, Prisma, ViolationState } from '../../generated/prisma/client';
import { pagedRows, SortColumn } from '../../infra/database/list-query';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';

export interface ViolationQuery {
  organizationId: string;
  templateId?: string;
  assignmentId?: string;
  constraintId?: string;
  clusterId?: string;
  siteId?: string;
  groupId?: string;
  namespace?: string;
  action?: EnforcementAction;
  state?: ViolationState;
}

/** A violation as an audit reported it, keyed for its row. */
export interface ReportedViolation {
  objectKey: string;
  objectUid: string | null;
  kind: string;
  apiGroup: string;
  namespace: string;
  name: string;
  message: string;
  action: EnforcementAction;
}

export type ViolationGrouping = 'CONSTRAINT' | 'ASSIGNMENT' | 'CLUSTER' | 'SITE';

export interface ViolationCountRow {
  id: string | null;
  open: number;
  deny: number;
  warn: number;
  dryrun: number;
}

export interface ImpactRow {
  objects: number;
  namespaces: number;
  clusters: number;
  sites: number;
}

export const VIOLATION_SORT: Record<'FIRST_SEEN_AT' | 'LAST_SEEN_AT', SortColumn> = {
  FIRST_SEEN_AT: { sql: Prisma.raw('"firstSeenAt"'), cast: 'timestamptz' },
  LAST_SEEN_AT: { sql: Prisma.raw('"lastSeenAt"'), cast: 'timestamptz' },
};

/** Conditions over "PolicyViolation" (unaliased) for a query; ids are validated by the caller. */
function conditions(q: ViolationQuery): Prisma.Sql[] {
  return [
    Prisma.sql`"organizationId" = ${q.organizationId}::uuid`,
    ...(q.assignmentId ? [Prisma.sql`"assignmentId" = ${q.assignmentId}::uuid`] : []),
    ...(q.constraintId ? [Prisma.sql`"constraintId" = ${q.constraintId}::uuid`] : []),
    ...(q.clusterId ? [Prisma.sql`"clusterId" = ${q.clusterId}::uuid`] : []),
    ...(q.templateId
      ? [
          Prisma.sql`"constraintId" IN (SELECT k."id" FROM "Constraint" k JOIN "PolicyTemplateVersion" v ON v."id" = k."templateVersionId" WHERE k."organizationId" = ${q.organizationId}::uuid AND v."templateId" = ${q.templateId}::uuid)`,
        ]
      : []),
    ...(q.siteId ? [Prisma.sql`"clusterId" IN (SELECT c."id" FROM "Cluster" c WHERE c."organizationId" = ${q.organizationId}::uuid AND c."siteId" = ${q.siteId}::uuid)`] : []),
    ...(q.groupId ? [Prisma.sql`"clusterId" IN (SELECT c."id" FROM "Cluster" c WHERE c."organizationId" = ${q.organizationId}::uuid AND c."groupId" = ${q.groupId}::uuid)`] : []),
    ...(q.namespace !== undefined ? [Prisma.sql`"namespace" = ${q.namespace}`] : []),
    ...(q.action ? [Prisma.sql`"action" = ${q.action}::"EnforcementAction"`] : []),
    ...(q.state ? [Prisma.sql`"state" = ${q.state}::"ViolationState"`] : []),
  ];
}

const GROUP_COLUMN: Record<ViolationGrouping, Prisma.Sql> = {
  CONSTRAINT: Prisma.raw('v."constraintId"'),
  ASSIGNMENT: Prisma.raw('v."assignmentId"'),
  CLUSTER: Prisma.raw('v."clusterId"'),
  SITE: Prisma.raw('c."siteId"'),
};

@Injectable()
export class ViolationRepository {
  constructor(private readonly prisma: PrismaService) {}

  page(query: ViolationQuery, sort: keyof typeof VIOLATION_SORT, direction: SortDirection, page: PageRequest) {
    return pagedRows<PolicyViolation>(this.prisma, 'PolicyViolation', conditions(query), VIOLATION_SORT[sort], direction, page);
  }

  /** Open violations counted per constraint, assignment, cluster or site, largest first. */
  async counts(query: ViolationQuery, by: ViolationGrouping): Promise<ViolationCountRow[]> {
    const where = Prisma.join(
      conditions({ ...query, state: 'OPEN' }).map((c) => Prisma.sql`v.${c}`),
      ' AND ',
    );
    const column = GROUP_COLUMN[by];
    return this.prisma.$queryRaw<ViolationCountRow[]>(Prisma.sql`
      SELECT ${column}::text AS id, count(*)::int AS open,
             count(*) FILTER (WHERE v."action" = 'DENY')::int AS deny,
             count(*) FILTER (WHERE v."action" = 'WARN')::int AS warn,
             count(*) FILTER (WHERE v."action" = 'DRYRUN')::int AS dryrun
      FROM "PolicyViolation" v JOIN "Cluster" c ON c."id" = v."clusterId"
      WHERE ${where}
      GROUP BY ${column} ORDER BY open DESC, id ASC NULLS LAST LIMIT 1000`);
  }

  /** Clusters in scope (not DETACHED), those with open violations, and the open violations by action. */
  async compliance(organizationId: string, clusterId: string | undefined, siteId: string | undefined) {
    const scope = Prisma.join(
      [
        Prisma.sql`c."organizationId" = ${organizationId}::uuid`,
        Prisma.sql`c."phase" <> 'DETACHED'`,
        ...(clusterId ? [Prisma.sql`c."id" = ${clusterId}::uuid`] : []),
        ...(siteId ? [Prisma.sql`c."siteId" = ${siteId}::uuid`] : []),
      ],
      ' AND ',
    );
    const [row] = await this.prisma.$queryRaw<{ clusters: number; violating: number; deny: number; warn: number; dryrun: number }[]>(Prisma.sql`
      SELECT (SELECT count(*)::int FROM "Cluster" c WHERE ${scope}) AS clusters,
             count(DISTINCT v."clusterId")::int AS violating,
             count(*) FILTER (WHERE v."action" = 'DENY')::int AS deny,
             count(*) FILTER (WHERE v."action" = 'WARN')::int AS warn,
             count(*) FILTER (WHERE v."action" = 'DRYRUN')::int AS dryrun
      FROM "PolicyViolation" v JOIN "Cluster" c ON c."id" = v."clusterId"
      WHERE v."state" = 'OPEN' AND ${scope}`);
    return row;
  }

  /** What the open violations of an assignment span: objects, namespaces (per cluster), clusters, sites. */
  async impact(organizationId: string, assignmentId: string): Promise<ImpactRow & { reported: number }> {
    const [row] = await this.prisma.$queryRaw<(ImpactRow & { reported: number })[]>(Prisma.sql`
      SELECT count(*)::int AS objects,
             count(DISTINCT (v."clusterId", v."namespace")) FILTER (WHERE v."namespace" <> '')::int AS namespaces,
             count(DISTINCT v."clusterId")::int AS clusters,
             count(DISTINCT c."siteId")::int AS sites,
             (SELECT coalesce(sum(s."totalViolations"), 0)::int FROM "PolicyViolationSummary" s
               WHERE s."organizationId" = ${organizationId}::uuid AND s."assignmentId" = ${assignmentId}::uuid) AS reported
      FROM "PolicyViolation" v JOIN "Cluster" c ON c."id" = v."clusterId"
      WHERE v."organizationId" = ${organizationId}::uuid AND v."assignmentId" = ${assignmentId}::uuid AND v."state" = 'OPEN'`);
    return row;
  }

  /** Whether the cluster or site is one of the organization's. */
  async exists(organizationId: string, kind: 'cluster' | 'site', id: string): Promise<boolean> {
    const where = { organizationId, id };
    return (kind === 'cluster' ? await this.prisma.cluster.count({ where }) : await this.prisma.site.count({ where })) > 0;
  }

  summary(tx: Tx, clusterId: string, assignmentId: string): Promise<PolicyViolationSummary | null> {
    return tx.policyViolationSummary.findUnique({ where: { clusterId_assignmentId: { clusterId, assignmentId } } });
  }

  saveSummary(tx: Tx, data: PolicyViolationSummary): Promise<PolicyViolationSummary> {
    const { clusterId, assignmentId, ...rest } = data;
    return tx.policyViolationSummary.upsert({ where: { clusterId_assignmentId: { clusterId, assignmentId } }, create: data, update: rest });
  }

  /** Object uids among `uids` that rows of another cluster of the organization hold. */
  async uidsOfOtherClusters(tx: Tx, organizationId: string, clusterId: string, uids: string[]): Promise<string[]> {
    if (uids.length === 0) {
      return [];
    }
    const rows = await tx.policyViolation.findMany({
      where: { organizationId, clusterId: { not: clusterId }, objectUid: { in: uids } },
      select: { objectUid: true },
      distinct: ['objectUid'],
      take: 10,
    });
    return rows.map((r) => r.objectUid!);
  }

  /** The rows of these keys for (cluster, assignment), open or resolved. */
  existing(tx: Tx, clusterId: string, assignmentId: string, keys: string[]) {
    return tx.policyViolation.findMany({ where: { clusterId, assignmentId, objectKey: { in: keys } }, select: { objectKey: true, state: true } });
  }

  countOpen(tx: Tx, where: { clusterId: string; assignmentId?: string; notAssignmentId?: string }): Promise<number> {
    return tx.policyViolation.count({
      where: {
        clusterId: where.clusterId,
        state: 'OPEN',
        ...(where.assignmentId ? { assignmentId: where.assignmentId } : {}),
        ...(where.notAssignmentId ? { assignmentId: { not: where.notAssignmentId } } : {}),
      },
    });
  }

  /** Inserts new rows and refreshes (reopening resolved ones) existing rows, in one statement. */
  async upsertOpen(tx: Tx, scope: { organizationId: string; clusterId: string; assignmentId: string; constraintId: string }, rows: ReportedViolation[], now: Date): Promise<void> {
    if (rows.length === 0) {
      return;
    }
    const values = rows.map(
      (r) =>
        Prisma.sql`(gen_random_uuid(), ${scope.organizationId}::uuid, ${scope.clusterId}::uuid, ${scope.assignmentId}::uuid, ${scope.constraintId}::uuid, ${r.objectKey}, ${r.objectUid}, ${r.kind}, ${r.apiGroup}, ${r.namespace}, ${r.name}, ${r.message}, ${r.action}::"EnforcementAction", 'OPEN'::"ViolationState", ${now}, ${now}, NULL::timestamptz)`,
    );
    await tx.$executeRaw(Prisma.sql`
      INSERT INTO "PolicyViolation" ("id", "organizationId", "clusterId", "assignmentId", "constraintId", "objectKey", "objectUid", "kind", "apiGroup", "namespace", "name", "message", "action", "state", "firstSeenAt", "lastSeenAt", "resolvedAt")
      VALUES ${Prisma.join(values)}
      ON CONFLICT ("clusterId", "assignmentId", "objectKey") DO UPDATE SET
        "lastSeenAt" = EXCLUDED."lastSeenAt", "message" = EXCLUDED."message", "action" = EXCLUDED."action",
        "objectUid" = EXCLUDED."objectUid", "kind" = EXCLUDED."kind", "apiGroup" = EXCLUDED."apiGroup", "namespace" = EXCLUDED."namespace", "name" = EXCLUDED."name",
        "firstSeenAt" = CASE WHEN "PolicyViolation"."state" = 'RESOLVED' THEN EXCLUDED."firstSeenAt" ELSE "PolicyViolation"."firstSeenAt" END,
        "state" = 'OPEN', "resolvedAt" = NULL`);
  }

  /** Resolves the open rows of (cluster, assignment) whose key is not in `keep`. Answers how many. */
  async resolveAllBut(tx: Tx, clusterId: string, assignmentId: string, keep: string[], now: Date): Promise<number> {
    const result = await tx.policyViolation.updateMany({
      where: { clusterId, assignmentId, state: 'OPEN', ...(keep.length > 0 ? { objectKey: { notIn: keep } } : {}) },
      data: { state: 'RESOLVED', resolvedAt: now },
    });
    return result.count;
  }

  /** Deletes resolved rows resolved before the cutoff, in chunks so no statement holds many locks. */
  async purgeResolvedBefore(cutoff: Date, chunk = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.prisma.$executeRaw(Prisma.sql`
        DELETE FROM "PolicyViolation" WHERE "id" IN (
          SELECT "id" FROM "PolicyViolation" WHERE "state" = 'RESOLVED' AND "resolvedAt" < ${cutoff} LIMIT ${chunk})`);
      total += deleted;
      if (deleted < chunk) {
        return total;
      }
    }
  }
}
