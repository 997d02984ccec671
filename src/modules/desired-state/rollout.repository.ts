import { Injectable } from '@nestjs/common';
import { PageRequest } from '../../common/graphql/pagination';
import { isUuid } from '../../common/validation/ids';
import { ClusterHealth, ClusterPhase, PolicyAssignment, Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { AGENT_REGISTERED_PHASES } from '../clusters/cluster-phases';
import { reachSql } from './generation.repository';

export type RolloutState = 'IN_SYNC' | 'PENDING' | 'WAITING_FOR_WINDOW' | 'FAILED' | 'OFFLINE';
export const ROLLOUT_STATES: RolloutState[] = ['IN_SYNC', 'PENDING', 'WAITING_FOR_WINDOW', 'FAILED', 'OFFLINE'];

export interface RolloutRow {
  id: string;
  name: string;
  siteId: string | null;
  phase: ClusterPhase;
  health: ClusterHealth;
  lastHeartbeatAt: Date | null;
  desiredStateGeneration: number;
  appliedDesiredStateGeneration: number | null;
  desiredStateError: { code: string; message: string } | null;
  state: RolloutState;
}

const REGISTERED = Prisma.join([...AGENT_REGISTERED_PHASES].map((p) => Prisma.sql`${p}::"ClusterPhase"`));

/**
 * A cluster's rollout state, in SQL so that counts and pages come from the same rule: not reporting
 * (never registered, detached, DISCONNECTED) is OFFLINE unless it already runs the desired generation;
 * applied == desired is IN_SYNC; an agent that reported why it cannot run it is FAILED; one that runs a
 * generation at a site outside its maintenance windows (`closedSiteIds`, decided by the caller's clock)
 * with no urgent change since is WAITING_FOR_WINDOW (the desired-state endpoint holds it back:
 * generationToServe); else PENDING.
 */
export function clusterRolloutStateSql(closedSiteIds: string[] = []): Prisma.Sql {
  const waiting = closedSiteIds.length
    ? Prisma.sql`WHEN c."siteId" IN (${Prisma.join(closedSiteIds.map((id) => Prisma.sql`${id}::uuid`))}) AND c."appliedDesiredStateGeneration" IS NOT NULL
        AND (c."urgentDesiredStateGeneration" IS NULL OR c."urgentDesiredStateGeneration" <= c."appliedDesiredStateGeneration") THEN 'WAITING_FOR_WINDOW'`
    : Prisma.empty;
  return Prisma.sql`CASE
  WHEN c."phase" NOT IN (${REGISTERED}) THEN 'OFFLINE'
  WHEN c."appliedDesiredStateGeneration" = c."desiredStateGeneration" THEN 'IN_SYNC'
  WHEN c."health" = 'DISCONNECTED' THEN 'OFFLINE'
  WHEN c."desiredStateError" IS NOT NULL THEN 'FAILED'
  ${waiting}
  ELSE 'PENDING' END`;
}

/** The clusters an assignment reaches, with where each stands in applying the desired state. */
@Injectable()
export class RolloutRepository {
  constructor(private readonly prisma: PrismaService) {}

  assignment(organizationId: string, id: string): Promise<PolicyAssignment | null> {
    if (!isUuid(id)) {
      return Promise.resolve(null);
    }
    return this.prisma.policyAssignment.findFirst({ where: { organizationId, id } });
  }

  /** The organization's sites that declare maintenance windows. */
  sitesWithWindows(organizationId: string): Promise<{ id: string; maintenanceWindows: unknown }[]> {
    return this.prisma.site.findMany({ where: { organizationId, NOT: { maintenanceWindows: { equals: [] } } }, select: { id: true, maintenanceWindows: true } });
  }

  /** One page by name (keyset), the total and the count per state: three statements whatever the fleet size. */
  async page(
    a: PolicyAssignment,
    state: RolloutState | undefined,
    page: PageRequest,
    closedSiteIds: string[] = [],
  ): Promise<{ rows: RolloutRow[]; total: number; counts: Record<RolloutState, number> }> {
    const reached = Prisma.sql`FROM (SELECT c.*, ${clusterRolloutStateSql(closedSiteIds)} AS "state" FROM "Cluster" c WHERE c."organizationId" = ${a.organizationId}::uuid AND (${reachSql(a)})) r`;
    const filter = state ? Prisma.sql`WHERE r."state" = ${state}` : Prisma.sql`WHERE TRUE`;
    const after = page.after ? Prisma.sql`AND (r."name", r."id") > (${String(page.after.sortValue)}, ${page.after.id}::uuid)` : Prisma.empty;
    const [rows, counted] = await Promise.all([
      this.prisma.$queryRaw<RolloutRow[]>(Prisma.sql`
        SELECT r."id", r."name", r."siteId", r."phase", r."health", r."lastHeartbeatAt", r."desiredStateGeneration", r."appliedDesiredStateGeneration", r."desiredStateError", r."state"
        ${reached} ${filter} ${after} ORDER BY r."name", r."id" LIMIT ${page.size + 1}`),
      this.prisma.$queryRaw<{ state: RolloutState; count: number }[]>(Prisma.sql`SELECT r."state", count(*)::int AS count ${reached} GROUP BY r."state"`),
    ]);
    const counts: Record<RolloutState, number> = { IN_SYNC: 0, PENDING: 0, WAITING_FOR_WINDOW: 0, FAILED: 0, OFFLINE: 0 };
    for (const row of counted) {
      counts[row.state] = row.count;
    }
    const total = state ? counts[state] : Object.values(counts).reduce((x, y) => x + y, 0);
    return { rows, total, counts };
  }
}
