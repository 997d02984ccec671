import { Injectable } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { toConnection, toPageRequest } from '../../common/graphql/pagination';
import { Principal } from '../../common/graphql/request-context';
import type { PolicyAssignmentRolloutArgs, PolicyAssignmentRolloutModel } from './rollout.model';
import { RolloutRepository } from './rollout.repository';

/** Rollout of an assignment: the clusters it reaches and whether each agent runs the current desired state (applied == desired). */
@Injectable()
export class RolloutService {
  constructor(private readonly rollouts: RolloutRepository) {}

  async rollout(principal: Principal, args: PolicyAssignmentRolloutArgs): Promise<PolicyAssignmentRolloutModel> {
    const assignment = await this.rollouts.assignment(principal.organizationId, args.assignmentId);
    if (!assignment) {
      throw FarpointError.notFound('PolicyAssignment', args.assignmentId);
    }
    const request = toPageRequest(args, 'NAME');
    const { rows, total, counts } = await this.rollouts.page(assignment, args.state, request);
    const clusters = toConnection(
      rows.map((row) => ({ ...row, error: row.state === 'FAILED' ? row.desiredStateError : null })),
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
        failed: counts.FAILED,
        offline: counts.OFFLINE,
        total: counts.IN_SYNC + counts.PENDING + counts.FAILED + counts.OFFLINE,
      },
      ...clusters,
    };
  }
}
