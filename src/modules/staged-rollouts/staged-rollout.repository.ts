import { Injectable } from '@nestjs/common';
import { PageRequest, SortDirection } from '../../common/graphql/pagination';
import { isUuid } from '../../common/validation/ids';
import { Prisma, StagedRollout, StagedRolloutState } from '../../generated/prisma/client';
import { pagedRows } from '../../infra/database/list-query';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';
import { AssignmentReach, reachSql } from '../desired-state/generation.repository';
import { clusterRolloutStateSql, RolloutState } from '../desired-state/rollout.repository';
import type { AssignmentRevision } from './assignment-revision';

/** States in which a rollout holds unreleased waves back (and locks its assignment). */
export const ACTIVE_STATES: StagedRolloutState[] = ['RUNNING', 'PAUSED', 'HALTED'];
const ACTIVE_SQL = Prisma.join(ACTIVE_STATES.map((s) => Prisma.sql`${s}::"StagedRolloutState"`));

export type WaveStateCounts = Map<number, Record<RolloutState, number>>;

const emptyCounts = (): Record<RolloutState, number> => ({ IN_SYNC: 0, PENDING: 0, WAITING_FOR_WINDOW: 0, FAILED: 0, OFFLINE: 0 });

@Injectable()
export class StagedRolloutRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The clusters any of the reaches takes in (ids and labels, for placing them in waves). */
  reachedClusters(tx: Tx, organizationId: string, reaches: AssignmentReach[]): Promise<{ id: string; labels: Record<string, string> }[]> {
    return tx.$queryRaw(Prisma.sql`
      SELECT c."id"::text AS id, c."labels" AS labels FROM "Cluster" c
      WHERE c."organizationId" = ${organizationId}::uuid AND (${Prisma.join(
        reaches.map((r) => Prisma.sql`(${reachSql(r)})`),
        ' OR ',
      )})`);
  }

  /** The rollout and its clusters' waves; the assignment is locked to it (its unique activeRolloutId). */
  async create(
    tx: Tx,
    data: Omit<Prisma.StagedRolloutUncheckedCreateInput, 'previous'> & { assignmentId: string; previous: AssignmentRevision | null },
    waves: Map<string, number>,
  ): Promise<StagedRollout> {
    const previous = data.previous === null ? Prisma.DbNull : (data.previous as unknown as Prisma.InputJsonObject);
    const rollout = await tx.stagedRollout.create({ data: { ...data, previous } });
    const rows = [...waves].map(([clusterId, wave]) => ({ rolloutId: rollout.id, clusterId, wave }));
    for (let i = 0; i < rows.length; i += 5000) {
      await tx.stagedRolloutCluster.createMany({ data: rows.slice(i, i + 5000) });
    }
    await tx.policyAssignment.update({ where: { id: data.assignmentId }, data: { activeRolloutId: rollout.id } });
    return rollout;
  }

  /** The organization's rollout, locked for this transaction (steps of one rollout run one at a time). */
  async lockIn(tx: Tx, organizationId: string, id: string): Promise<StagedRollout | null> {
    if (!isUuid(id)) {
      return null;
    }
    const rows = await tx.$queryRaw<{ id: string }[]>(
      Prisma.sql`SELECT "id" FROM "StagedRollout" WHERE "id" = ${id}::uuid AND "organizationId" = ${organizationId}::uuid FOR UPDATE`,
    );
    return rows.length ? tx.stagedRollout.findUnique({ where: { id } }) : null;
  }

  /** A RUNNING rollout locked for the advance job, or null when another worker holds it or it moved on. */
  async lockRunning(tx: Tx, id: string): Promise<StagedRollout | null> {
    const rows = await tx.$queryRaw<{ id: string }[]>(Prisma.sql`SELECT "id" FROM "StagedRollout" WHERE "id" = ${id}::uuid AND "state" = 'RUNNING' FOR UPDATE SKIP LOCKED`);
    return rows.length ? tx.stagedRollout.findUnique({ where: { id } }) : null;
  }

  /** RUNNING rollouts, the longest untouched first. */
  async running(limit: number): Promise<string[]> {
    const rows = await this.prisma.stagedRollout.findMany({ where: { state: 'RUNNING' }, select: { id: true }, orderBy: { updatedAt: 'asc' }, take: limit });
    return rows.map((r) => r.id);
  }

  update(tx: Tx, id: string, data: Prisma.StagedRolloutUncheckedUpdateInput): Promise<StagedRollout> {
    return tx.stagedRollout.update({ where: { id }, data });
  }

  /** Unlocks the assignment (the rollout finished), optionally putting its fields back. */
  async releaseAssignment(tx: Tx, assignmentId: string, revert?: AssignmentRevision): Promise<void> {
    await tx.policyAssignment.update({ where: { id: assignmentId }, data: { activeRolloutId: null, ...(revert ?? {}) } });
  }

  deleteAssignment(tx: Tx, assignmentId: string) {
    return tx.policyAssignment.delete({ where: { id: assignmentId } });
  }

  /** The rollout's assignment, in the transaction when one is given. */
  assignment(id: string, tx?: Tx) {
    return (tx ?? this.prisma).policyAssignment.findUnique({ where: { id } });
  }

  /**
   * Rollout states of the clusters per wave (one statement): members by their wave, clusters that
   * joined after the start in the last wave.
   */
  async waveCounts(rollout: Pick<StagedRollout, 'id' | 'organizationId'>, lastWave: number, reaches: AssignmentReach[], tx?: Tx): Promise<WaveStateCounts> {
    const db = tx ?? this.prisma;
    const reached = reaches.length
      ? Prisma.sql`OR ${Prisma.join(
          reaches.map((r) => Prisma.sql`(${reachSql(r)})`),
          ' OR ',
        )}`
      : Prisma.empty;
    const rows = await db.$queryRaw<{ wave: number; state: RolloutState; count: number }[]>(Prisma.sql`
      SELECT COALESCE(m."wave", ${lastWave}) AS wave, ${clusterRolloutStateSql()} AS state, count(*)::int AS count
      FROM "Cluster" c LEFT JOIN "StagedRolloutCluster" m ON m."rolloutId" = ${rollout.id}::uuid AND m."clusterId" = c."id"
      WHERE c."organizationId" = ${rollout.organizationId}::uuid AND (m."clusterId" IS NOT NULL ${reached})
      GROUP BY 1, 2`);
    const out: WaveStateCounts = new Map();
    for (const row of rows) {
      const counts = out.get(row.wave) ?? emptyCounts();
      counts[row.state] = row.count;
      out.set(row.wave, counts);
    }
    return out;
  }

  /**
   * Admission requests the assignment refused (DENY decisions of the agents' admission summaries) on
   * the clusters of released waves since `since`.
   */
  async admissionRefusals(tx: Tx, rollout: Pick<StagedRollout, 'id' | 'organizationId' | 'assignmentId' | 'releasedWaves'>, since: Date, lastWave: number): Promise<number> {
    const released =
      rollout.releasedWaves > lastWave
        ? Prisma.sql`TRUE`
        : Prisma.sql`EXISTS (SELECT 1 FROM "StagedRolloutCluster" m WHERE m."rolloutId" = ${rollout.id}::uuid AND m."clusterId" = ev."objectId" AND m."wave" < ${rollout.releasedWaves})`;
    const rows = await tx.$queryRaw<{ refused: number }[]>(Prisma.sql`
      SELECT COALESCE(sum((e->>'count')::int), 0)::int AS refused
      FROM "Event" ev, jsonb_array_elements(ev."data"->'entries') e
      WHERE ev."organizationId" = ${rollout.organizationId}::uuid AND ev."objectKind" = 'Cluster' AND ev."type" = 'PolicyAdmissionSummary'
        AND ev."occurredAt" >= ${since} AND e->>'assignmentId' = ${rollout.assignmentId} AND e->>'action' = 'DENY' AND ${released}`);
    return rows[0]?.refused ?? 0;
  }

  /**
   * The assignments a cluster must still see as they were (one statement): active rollouts whose wave
   * for this cluster (the last one when it joined later) is not released. null: it does not see the assignment.
   */
  async heldRevisions(organizationId: string, clusterId: string): Promise<Map<string, AssignmentRevision | null>> {
    const rows = await this.prisma.$queryRaw<{ assignmentId: string; previous: AssignmentRevision | null }[]>(Prisma.sql`
      SELECT r."assignmentId"::text AS "assignmentId", r."previous" FROM "StagedRollout" r
      LEFT JOIN "StagedRolloutCluster" m ON m."rolloutId" = r."id" AND m."clusterId" = ${clusterId}::uuid
      WHERE r."organizationId" = ${organizationId}::uuid AND r."state" IN (${ACTIVE_SQL}) AND r."assignmentId" IS NOT NULL
        AND COALESCE(m."wave", jsonb_array_length(r."waves") - 1) >= r."releasedWaves"`);
    return new Map(rows.map((r) => [r.assignmentId, r.previous]));
  }

  find(organizationId: string, id: string): Promise<StagedRollout | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.stagedRollout.findFirst({ where: { organizationId, id } });
  }

  /** The organization's active rollouts of these assignments (one statement, for PolicyAssignment.activeRollout). */
  activeOf(organizationId: string, ids: string[]): Promise<StagedRollout[]> {
    return this.prisma.stagedRollout.findMany({ where: { organizationId, id: { in: ids } } });
  }

  page(organizationId: string, filter: { assignmentId?: string; state?: StagedRolloutState }, page: PageRequest) {
    const conditions = [
      Prisma.sql`"organizationId" = ${organizationId}::uuid`,
      ...(filter.assignmentId !== undefined ? [isUuid(filter.assignmentId) ? Prisma.sql`"assignmentId" = ${filter.assignmentId}::uuid` : Prisma.sql`FALSE`] : []),
      ...(filter.state ? [Prisma.sql`"state" = ${filter.state}::"StagedRolloutState"`] : []),
    ];
    return pagedRows<StagedRollout>(this.prisma, 'StagedRollout', conditions, { sql: Prisma.raw('"createdAt"'), cast: 'timestamptz' }, SortDirection.DESC, page);
  }
}
