import { ErrorCode, FarpointError } from '../../common/errors/farpoint-error';
import type { PolicyAssignment } from '../../generated/prisma/client';

/** The refusals of policy assignments, as FarpointErrors with a stable code. */
export const AssignmentErrors = {
  weakens: (deny: PolicyAssignment, scopeId: string, field: string) =>
    new FarpointError(
      ErrorCode.POLICY_ASSIGNMENT_WEAKENS,
      `Assignment ${deny.id} enforces this constraint as DENY at ${deny.scope} ${scopeId}, which covers this scope; a lower level may add or tighten a policy but never weaken a DENY.`,
      { field, assignmentId: deny.id, scope: deny.scope, scopeId },
    ),
  namespaceName: (name: string, field: string) => FarpointError.badInput(`"${name}" is not a Kubernetes namespace name (a DNS label of at most 63 characters).`, field),
  organizationScope: (id: string) => FarpointError.notFound('Organization', id),
};
