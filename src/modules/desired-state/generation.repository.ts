import { Injectable } from '@nestjs/common';
import { parseLabelSelector } from '../../common/labels/label-selector';
import { PolicyAssignment, Prisma } from '../../generated/prisma/client';
import { labelSelectorSql } from '../../infra/database/list-query';
import { Tx } from '../../infra/database/transaction';

/** What decides which clusters an assignment reaches. */
export type AssignmentReach = Pick<PolicyAssignment, 'scope' | 'siteId' | 'groupId' | 'clusterId' | 'workspaceId' | 'labelSelector'>;

const REACH_COLUMNS = { scope: true, siteId: true, groupId: true, clusterId: true, workspaceId: true, labelSelector: true } as const;

/** The clusters (alias c) an assignment reaches: its scope, narrowed by its cluster label selector. */
export function reachSql(a: AssignmentReach): Prisma.Sql {
  let scope: Prisma.Sql;
  switch (a.scope) {
    case 'ORGANIZATION':
      scope = Prisma.sql`TRUE`;
      break;
    case 'SITE':
      scope = Prisma.sql`c."siteId" = ${a.siteId}::uuid`;
      break;
    case 'CLUSTER_GROUP':
      scope = Prisma.sql`c."groupId" = ${a.groupId}::uuid`;
      break;
    case 'CLUSTER':
      scope = Prisma.sql`c."id" = ${a.clusterId}::uuid`;
      break;
    case 'WORKSPACE':
      scope = Prisma.sql`EXISTS (SELECT 1 FROM "Namespace" n WHERE n."clusterId" = c."id" AND n."workspaceId" = ${a.workspaceId}::uuid)`;
      break;
  }
  return Prisma.join([scope, ...labelSelectorSql(parseLabelSelector(a.labelSelector), Prisma.raw('c."labels"'))], ' AND ');
}

export interface BumpOptions {
  /** The change must not wait for the site's maintenance window. */
  urgent?: boolean;
}

const bumpSet = ({ urgent }: BumpOptions): Prisma.Sql =>
  urgent
    ? Prisma.sql`"desiredStateGeneration" = c."desiredStateGeneration" + 1, "urgentDesiredStateGeneration" = c."desiredStateGeneration" + 1`
    : Prisma.sql`"desiredStateGeneration" = c."desiredStateGeneration" + 1`;

/**
 * Desired-state generations: every change to what a cluster should enforce bumps its
 * `desiredStateGeneration`, in the transaction of the change and as one set-based UPDATE (never a
 * loop over the fleet). Each method answers the ids of the clusters bumped.
 */
@Injectable()
export class GenerationRepository {
  /**
   * Every cluster any of the assignments reaches (an update passes its old and new reach), each once.
   * An urgent change also records its generation as urgent: it is served outside maintenance windows.
   */
  async bumpReaches(tx: Tx, organizationId: string, reaches: AssignmentReach[], options: BumpOptions = {}): Promise<string[]> {
    if (reaches.length === 0) {
      return [];
    }
    const rows = await tx.$queryRaw<{ id: string }[]>(Prisma.sql`
      UPDATE "Cluster" c SET ${bumpSet(options)}
      WHERE c."organizationId" = ${organizationId}::uuid AND (${Prisma.join(
        reaches.map((r) => Prisma.sql`(${reachSql(r)})`),
        ' OR ',
      )})
      RETURNING c."id"`);
    return rows.map((r) => r.id);
  }

  /**
   * The clusters of one wave of a staged rollout, as it is released: its members (StagedRolloutCluster),
   * and for the last wave also the clusters the rollout reaches that joined after it started (no row).
   */
  async bumpRolloutWave(
    tx: Tx,
    organizationId: string,
    wave: { rolloutId: string; index: number; last: boolean; reaches: AssignmentReach[] },
    options: BumpOptions = {},
  ): Promise<string[]> {
    const member = Prisma.sql`SELECT 1 FROM "StagedRolloutCluster" m WHERE m."rolloutId" = ${wave.rolloutId}::uuid AND m."clusterId" = c."id"`;
    const joinedLater =
      wave.last && wave.reaches.length
        ? Prisma.sql`OR (NOT EXISTS (${member}) AND (${Prisma.join(
            wave.reaches.map((r) => Prisma.sql`(${reachSql(r)})`),
            ' OR ',
          )}))`
        : Prisma.empty;
    const rows = await tx.$queryRaw<{ id: string }[]>(Prisma.sql`
      UPDATE "Cluster" c SET ${bumpSet(options)}
      WHERE c."organizationId" = ${organizationId}::uuid AND (EXISTS (${member} AND m."wave" = ${wave.index}) ${joinedLater})
      RETURNING c."id"`);
    return rows.map((r) => r.id);
  }

  /** The clusters themselves (moved to another site or group, labels changed). */
  async bumpClusters(tx: Tx, organizationId: string, clusterIds: string[]): Promise<string[]> {
    if (clusterIds.length === 0) {
      return [];
    }
    const rows = await tx.$queryRaw<{ id: string }[]>(Prisma.sql`
      UPDATE "Cluster" c SET "desiredStateGeneration" = c."desiredStateGeneration" + 1
      WHERE c."organizationId" = ${organizationId}::uuid AND c."id" IN (${Prisma.join(clusterIds.map((id) => Prisma.sql`${id}::uuid`))})
      RETURNING c."id"`);
    return rows.map((r) => r.id);
  }

  /** The clusters of a group (its admission settings changed). */
  async bumpGroup(tx: Tx, organizationId: string, groupId: string): Promise<string[]> {
    const rows = await tx.$queryRaw<{ id: string }[]>(Prisma.sql`
      UPDATE "Cluster" c SET "desiredStateGeneration" = c."desiredStateGeneration" + 1
      WHERE c."organizationId" = ${organizationId}::uuid AND c."groupId" = ${groupId}::uuid
      RETURNING c."id"`);
    return rows.map((r) => r.id);
  }

  /**
   * The cluster of a namespace created, deleted or moved between workspaces, when one of those
   * workspaces has an assignment (then the namespace joins or leaves what a workspace assignment covers).
   */
  async bumpForWorkspaces(tx: Tx, organizationId: string, clusterId: string, workspaceIds: string[]): Promise<string[]> {
    const rows = await tx.$queryRaw<{ id: string }[]>(Prisma.sql`
      UPDATE "Cluster" c SET "desiredStateGeneration" = c."desiredStateGeneration" + 1
      WHERE c."organizationId" = ${organizationId}::uuid AND c."id" = ${clusterId}::uuid
        AND EXISTS (SELECT 1 FROM "PolicyAssignment" a WHERE a."organizationId" = ${organizationId}::uuid AND a."scope" = 'WORKSPACE'
          AND a."workspaceId" IN (${Prisma.join(workspaceIds.map((id) => Prisma.sql`${id}::uuid`))}))
      RETURNING c."id"`);
    return rows.map((r) => r.id);
  }

  /** Every cluster the assignments of these constraints reach (a constraint changed or is about to be deleted). */
  async bumpForConstraints(tx: Tx, organizationId: string, constraintIds: string[], options: BumpOptions = {}): Promise<string[]> {
    if (constraintIds.length === 0) {
      return [];
    }
    const reaches = await tx.policyAssignment.findMany({ where: { organizationId, constraintId: { in: constraintIds } }, select: REACH_COLUMNS });
    return this.bumpReaches(tx, organizationId, reaches, options);
  }

  /** Every cluster the organization's assignments of constraints on this template version reach (its lifecycle moved). */
  async bumpForTemplateVersion(tx: Tx, organizationId: string, versionId: string): Promise<string[]> {
    const reaches = await tx.policyAssignment.findMany({ where: { organizationId, constraint: { templateVersionId: versionId } }, select: REACH_COLUMNS });
    return this.bumpReaches(tx, organizationId, reaches);
  }
}
