import { ErrorCode, FarpointError } from '../../common/errors/farpoint-error';
import type { StagedRolloutState } from '../../generated/prisma/client';

/** The refusals of staged rollouts, as FarpointErrors with a stable code. */
export const StagedRolloutErrors = {
  inProgress: (assignmentId: string, rolloutId: string) =>
    new FarpointError(
      ErrorCode.STAGED_ROLLOUT_IN_PROGRESS,
      `Assignment ${assignmentId} has staged rollout ${rolloutId} in progress: abort it (abortStagedRollout) or let it complete before changing the assignment.`,
      { assignmentId, rolloutId },
    ),
  state: (id: string, state: StagedRolloutState, step: string, allowed: StagedRolloutState[]) =>
    new FarpointError(ErrorCode.STAGED_ROLLOUT_STATE, `Staged rollout ${id} is ${state}: it can be ${step} only when ${allowed.join(' or ')}.`, { rolloutId: id, state }),
  threshold: (value: number | undefined, field: string, max: number) =>
    FarpointError.badInput(`${field.split('.').pop()} must be an integer from 0 to ${max} (got ${value}).`, field),
};
