import type { EnforcementAction, PolicyAssignment } from '../../generated/prisma/client';

/** The fields of an assignment a staged rollout changes: what clusters of unreleased waves keep. */
export interface AssignmentRevision {
  labelSelector: string;
  namespaceSelector: string;
  excludedNamespaces: string[];
  enforcementAction: EnforcementAction | null;
}

export function revisionOf(a: Pick<PolicyAssignment, keyof AssignmentRevision>): AssignmentRevision {
  return { labelSelector: a.labelSelector, namespaceSelector: a.namespaceSelector, excludedNamespaces: [...a.excludedNamespaces], enforcementAction: a.enforcementAction };
}
