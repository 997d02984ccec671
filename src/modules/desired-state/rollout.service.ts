import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/time/clock';
import { maintenanceWindowAt, type MaintenanceWindow } from '../sites/maintenance-windows';
import { FarpointError } from '../../common/errors/farpoint-error';
import { toConnection, toPageRequest } from '../../common/graphql/pagination';
import { Principal } from '../../common/graphql/request-context';
import type { PolicyAssignmentRolloutArgs, PolicyAssignmentRolloutModel } from './rollout.model';
import { RolloutRepository } from './rollout.repository';

/**
 * Rollout of an assignment: the clusters it reaches and whether each agent runs the current desired
 * state (applied == desired), or waits for its site's next maintenance window (pendingUntil).
 */
@Injectable()
export class RolloutService {
  constructor(
    private readonly rollouts: RolloutRepository,
    private readonly clock: Clock,
  ) {}

  async rollout(principal: Principal, args: PolicyAssignmentRolloutArgs): Promise<PolicyAssignmentRolloutModel> {
    const assignment = await this.rollouts.assignment(principal.organizationId, args.assignmentId);
    if (!assignment) {
      throw FarpointError.notFound('PolicyAssignment', args.assignmentId);
    }
    const request = toPageRequest(args, 'NAME');
    // Sites outside every window now, with their next opening: the same clock as the desired-state endpoint.
    const now = this.clock.now();
    const closed = new Map<string, Date | null>();
    for (const site of await this.rollouts.sitesWithWindows(principal.organizationId)) {
      const at = maintenanceWindowAt(site.maintenanceWindows as MaintenanceWindow[], now);
      if (!at.open) {
        closed.set(site.id, at.nextStart);
      }
    }
    const { rows, total, counts } = await this.rollouts.page(assignment, args.state, request, [...closed.keys()]);
    const clusters = toConnection(
      rows.map((row) => ({
        ...row,
        error: row.state === 'FAILED' ? row.desiredStateError : null,
        pendingUntil: row.state === 'WAITING_FOR_WINDOW' && row.siteId ? (closed.get(row.siteId) ?? null) : null,
      })),
      request,
      total,
      'NAME',
      (row) => row.name,
    );
    return {
      assignmentId: assignment.id,
      counts: {
        inSync: counts.IN_SYNC,
        pending: counts.PENDING,
        waitingForWindow: counts.WAITING_FOR_WINDOW,
        failed: counts.FAILED,
        offline: counts.OFFLINE,
        total: counts.IN_SYNC + counts.PENDING + counts.WAITING_FOR_WINDOW + counts.FAILED + counts.OFFLINE,
      },
      ...clusters,
    };
  }
}
