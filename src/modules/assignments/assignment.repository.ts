import { Injectable } from '@nestjs/common';
import { PageRequest, SortDirection } from '../../common/graphql/pagination';
import { parseLabelSelector } from '../../common/labels/label-selector';
import { isUuid } from '../../common/validation/ids';
import { Constraint, PolicyAssignment, PolicyScope, Prisma } from '../../generated/prisma/client';
import { labelSelectorSql, pagedRows, SortColumn } from '../../infra/database/list-query';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';
import { AssignmentReach, reachSql } from '../desired-state/generation.repository';
import { PolicyAssignmentSortField } from './assignment.model';

export interface AssignmentQuery {
  organizationId: string;
  constraintId?: string;
  scope?: PolicyScope;
  scopeId?: string;
}

export type { AssignmentReach };

export type AssignmentWithSource = PolicyAssignment & {
  constraint: Constraint;
  organization: { name: string };
  site: { name: string } | null;
  group: { name: string } | null;
  cluster: { name: string } | null;
  workspace: { name: string } | null;
};

const SORT: Record<PolicyAssignmentSortField, SortColumn> = {
  CREATED_AT: { sql: Prisma.raw('"createdAt"'), cast: 'timestamptz' },
  UPDATED_AT: { sql: Prisma.raw('"updatedAt"'), cast: 'timestamptz' },
};

const SOURCE = {
  constraint: true,
  organization: { select: { name: true } },
  site: { select: { name: true } },
  group: { select: { name: true } },
  cluster: { select: { name: true } },
  workspace: { select: { name: true } },
} as const;

/** The id column that holds the scope of an assignment (none for ORGANIZATION). */
export const SCOPE_COLUMN: Record<PolicyScope, 'siteId' | 'groupId' | 'clusterId' | 'workspaceId' | null> = {
  ORGANIZATION: null,
  SITE: 'siteId',
  CLUSTER_GROUP: 'groupId',
  CLUSTER: 'clusterId',
  WORKSPACE: 'workspaceId',
};

@Injectable()
export class AssignmentRepository {
  constructor(private readonly prisma: PrismaService) {}

  page(query: AssignmentQuery, sort: PolicyAssignmentSortField, direction: SortDirection, page: PageRequest) {
    const scopeId = query.scopeId;
    const scopeIdSql =
      scopeId === undefined
        ? []
        : !isUuid(scopeId)
          ? [Prisma.sql`FALSE`]
          : [
              Prisma.sql`(("scope" = 'ORGANIZATION' AND "organizationId" = ${scopeId}::uuid) OR "siteId" = ${scopeId}::uuid OR "groupId" = ${scopeId}::uuid OR "clusterId" = ${scopeId}::uuid OR "workspaceId" = ${scopeId}::uuid)`,
            ];
    const conditions = [
      Prisma.sql`"organizationId" = ${query.organizationId}::uuid`,
      ...(query.constraintId !== undefined ? [isUuid(query.constraintId) ? Prisma.sql`"constraintId" = ${query.constraintId}::uuid` : Prisma.sql`FALSE`] : []),
      ...(query.scope ? [Prisma.sql`"scope" = ${query.scope}::"PolicyScope"`] : []),
      ...scopeIdSql,
    ];
    return pagedRows<PolicyAssignment>(this.prisma, 'PolicyAssignment', conditions, SORT[sort], direction, page);
  }

  findIn(tx: Tx, organizationId: string, id: string): Promise<PolicyAssignment | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return tx.policyAssignment.findFirst({ where: { organizationId, id } });
  }

  /** The assignment, locked for this transaction: a change and a staged rollout's start or abort never interleave. */
  async lockIn(tx: Tx, organizationId: string, id: string): Promise<PolicyAssignment | null> {
    if (!isUuid(id)) {
      return null;
    }
    const rows = await tx.$queryRaw<{ id: string }[]>(
      Prisma.sql`SELECT "id" FROM "PolicyAssignment" WHERE "id" = ${id}::uuid AND "organizationId" = ${organizationId}::uuid FOR UPDATE`,
    );
    return rows.length ? tx.policyAssignment.findUnique({ where: { id } }) : null;
  }

  /** Whether the site, group, cluster or workspace is one of the organization's. */
  async scopeExistsIn(tx: Tx, organizationId: string, scope: Exclude<PolicyScope, 'ORGANIZATION'>, id: string): Promise<boolean> {
    if (!isUuid(id)) {
      return false;
    }
    const where = { organizationId, id };
    switch (scope) {
      case 'SITE':
        return (await tx.site.count({ where })) > 0;
      case 'CLUSTER_GROUP':
        return (await tx.clusterGroup.count({ where })) > 0;
      case 'CLUSTER':
        return (await tx.cluster.count({ where })) > 0;
      case 'WORKSPACE':
        return (await tx.workspace.count({ where })) > 0;
    }
  }

  clusterIn(tx: Tx, organizationId: string, id: string) {
    return tx.cluster.findFirst({ where: { organizationId, id }, select: { id: true, siteId: true, groupId: true, labels: true } });
  }

  create(tx: Tx, data: Prisma.PolicyAssignmentUncheckedCreateInput): Promise<PolicyAssignment> {
    return tx.policyAssignment.create({ data });
  }

  update(tx: Tx, id: string, data: Prisma.PolicyAssignmentUncheckedUpdateInput): Promise<PolicyAssignment> {
    return tx.policyAssignment.update({ where: { id }, data });
  }

  delete(tx: Tx, id: string): Promise<PolicyAssignment> {
    return tx.policyAssignment.delete({ where: { id } });
  }

  /** Whether the assignment reaches at least one cluster that the selector also selects. */
  async reachesSelected(tx: Tx, organizationId: string, reach: AssignmentReach, selector: string): Promise<boolean> {
    const rows = await tx.$queryRaw<{ hit: boolean }[]>(Prisma.sql`
      SELECT EXISTS (
        SELECT 1 FROM "Cluster" c
        WHERE ${Prisma.join([Prisma.sql`c."organizationId" = ${organizationId}::uuid`, reachSql(reach), ...labelSelectorSql(parseLabelSelector(selector), Prisma.raw('c."labels"'))], ' AND ')}
      ) AS hit`);
    return rows[0]?.hit ?? false;
  }

  /**
   * Of the given assignment ids, the organization's assignments that reach the cluster, with their
   * constraint's id and action: one query for the rows, one for the reach of all of them.
   */
  async reachingCluster(tx: Tx, organizationId: string, clusterId: string, ids: string[]) {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) {
      return [];
    }
    const rows = await tx.policyAssignment.findMany({
      where: { organizationId, id: { in: valid } },
      include: { constraint: { select: { id: true, name: true, enforcementAction: true } } },
    });
    if (rows.length === 0) {
      return [];
    }
    const reached = await tx.$queryRaw<{ id: string }[]>(Prisma.sql`
      SELECT r."id"::text AS id FROM (VALUES ${Prisma.join(rows.map((a) => Prisma.sql`(${a.id}::uuid, EXISTS (SELECT 1 FROM "Cluster" c WHERE c."organizationId" = ${organizationId}::uuid AND c."id" = ${clusterId}::uuid AND ${reachSql(a)}))`))}) AS r("id", "reaches")
      WHERE r."reaches"`);
    const ok = new Set(reached.map((r) => r.id));
    return rows.filter((a) => ok.has(a.id));
  }

  /** Assignments of the constraint at any of the given scopes (one query), other than `exceptId`. */
  sameConstraintAt(tx: Tx, organizationId: string, constraintId: string, scopes: Prisma.PolicyAssignmentWhereInput[], exceptId?: string) {
    return tx.policyAssignment.findMany({
      where: { organizationId, constraintId, OR: scopes, ...(exceptId ? { id: { not: exceptId } } : {}) },
      include: { constraint: true },
      orderBy: { createdAt: 'asc' },
    });
  }

  /** Assignments whose scope contains the cluster, or one of the scopes given (one query). */
  atScopes(organizationId: string, scopes: Prisma.PolicyAssignmentWhereInput[]): Promise<AssignmentWithSource[]> {
    return this.prisma.policyAssignment.findMany({ where: { organizationId, OR: scopes }, include: SOURCE, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  cluster(organizationId: string, id: string) {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.cluster.findFirst({ where: { organizationId, id }, select: { id: true, siteId: true, groupId: true, labels: true } });
  }

  namespace(organizationId: string, id: string) {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.namespace.findFirst({
      where: { organizationId, id },
      select: { id: true, name: true, labels: true, workspaceId: true, cluster: { select: { id: true, siteId: true, groupId: true, labels: true } } },
    });
  }
}
