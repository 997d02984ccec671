import { type LabelRequirement, parseLabelSelector } from '../../common/labels/label-selector';
import type { Constraint, EnforcementAction, PolicyAssignment, PolicyScope } from '../../generated/prisma/client';
import { globMatches, type ConstraintMatch, type LabelSelector, type LabelSelectorRequirement } from '../../policy-engine';
import type { DesiredConstraint } from '../../protocol';

/**
 * The pure part of the desired state: from the assignments in effect on a cluster to the constraints
 * its agent evaluates. A constraint assigned several times is sent once, for the strongest assignment.
 */

export type AssignmentInEffect = PolicyAssignment & { constraint: Constraint };

export interface CompiledVersion {
  bundleSha256: string | null;
  entrypoint: string | null;
}

const STRENGTH: Record<EnforcementAction, number> = { DENY: 3, WARN: 2, DRYRUN: 1 };
/** A tie between equally strong assignments goes to the most specific scope. */
const SPECIFICITY: Record<PolicyScope, number> = { CLUSTER: 5, WORKSPACE: 4, CLUSTER_GROUP: 3, SITE: 2, ORGANIZATION: 1 };

const actionOf = (a: AssignmentInEffect): EnforcementAction => a.enforcementAction ?? a.constraint.enforcementAction;

/** A Kubernetes selector string as metav1.LabelSelector expressions (`!=` and `notin` match objects without the key, like NotIn). */
export function selectorExpressions(requirements: LabelRequirement[]): LabelSelectorRequirement[] {
  return requirements.map((r): LabelSelectorRequirement => {
    switch (r.op) {
      case 'eq':
        return { key: r.key, operator: 'In', values: [r.value] };
      case 'neq':
        return { key: r.key, operator: 'NotIn', values: [r.value] };
      case 'in':
        return { key: r.key, operator: 'In', values: r.values };
      case 'notin':
        return { key: r.key, operator: 'NotIn', values: r.values };
      case 'exists':
        return { key: r.key, operator: 'Exists' };
      case 'notexists':
        return { key: r.key, operator: 'DoesNotExist' };
    }
  });
}

/** Both must hold: the constraint's selector and the assignment's expressions, ANDed. */
function andSelector(own: LabelSelector | undefined, extra: LabelSelectorRequirement[]): LabelSelector | undefined {
  if (extra.length === 0) {
    return own;
  }
  return { ...(own?.matchLabels ? { matchLabels: own.matchLabels } : {}), matchExpressions: [...(own?.matchExpressions ?? []), ...extra] };
}

/**
 * The constraint's match narrowed by the assignment: its excluded namespaces added, its namespace
 * selector ANDed, and for a workspace assignment the namespaces limited to the workspace's on this
 * cluster (those the constraint's own namespaces allow). Undefined: no criteria; null: it covers nothing here.
 */
export function assignmentMatch(a: AssignmentInEffect, workspaceNamespaces: readonly string[] | undefined): ConstraintMatch | undefined | null {
  const own = (a.constraint.match ?? {}) as ConstraintMatch;
  const match: ConstraintMatch = { ...own };
  if (a.excludedNamespaces.length > 0) {
    match.excludedNamespaces = [...new Set([...(own.excludedNamespaces ?? []), ...a.excludedNamespaces])].sort();
  }
  const namespaceSelector = andSelector(own.namespaceSelector, selectorExpressions(parseLabelSelector(a.namespaceSelector)));
  if (namespaceSelector) {
    match.namespaceSelector = namespaceSelector;
  }
  if (a.scope === 'WORKSPACE') {
    const names = (workspaceNamespaces ?? []).filter((name) => !own.namespaces || own.namespaces.some((pattern) => globMatches(pattern, name)));
    if (names.length === 0) {
      return null;
    }
    match.namespaces = names;
  }
  return Object.keys(match).length > 0 ? match : undefined;
}

/** A constraint's assignments, strongest first: DENY > WARN > DRYRUN, then the most specific scope, then the oldest. */
export function byStrength(assignments: readonly AssignmentInEffect[]): AssignmentInEffect[] {
  return [...assignments].sort(
    (x, y) =>
      STRENGTH[actionOf(y)] - STRENGTH[actionOf(x)] || SPECIFICITY[y.scope] - SPECIFICITY[x.scope] || x.createdAt.getTime() - y.createdAt.getTime() || x.id.localeCompare(y.id),
  );
}

/**
 * The constraints the agent evaluates, sorted by name. A constraint whose version has no compiled
 * bundle is left out (nothing to evaluate), and so is a workspace assignment that covers no namespace here.
 */
export function desiredConstraints(
  assignments: readonly AssignmentInEffect[],
  versions: ReadonlyMap<string, CompiledVersion>,
  namespacesByWorkspace: ReadonlyMap<string, readonly string[]>,
): DesiredConstraint[] {
  const byConstraint = new Map<string, AssignmentInEffect[]>();
  for (const a of assignments) {
    byConstraint.set(a.constraintId, [...(byConstraint.get(a.constraintId) ?? []), a]);
  }
  const out: DesiredConstraint[] = [];
  for (const group of byConstraint.values()) {
    const version = versions.get(group[0].constraint.templateVersionId);
    if (!version?.bundleSha256 || !version.entrypoint) {
      continue;
    }
    // The strongest assignment that covers something on this cluster (a workspace one may cover no namespace here).
    for (const a of byStrength(group)) {
      const match = assignmentMatch(a, a.workspaceId ? (namespacesByWorkspace.get(a.workspaceId) ?? []) : undefined);
      if (match === null) {
        continue;
      }
      out.push({
        assignmentId: a.id,
        name: a.constraint.name,
        kind: a.constraint.kind,
        bundleSha256: version.bundleSha256,
        entrypoint: version.entrypoint,
        parameters: (a.constraint.parameters ?? {}) as Record<string, unknown>,
        enforcementAction: actionOf(a).toLowerCase() as DesiredConstraint['enforcementAction'],
        ...(match ? { match } : {}),
      });
      break;
    }
  }
  return out.sort((x, y) => x.name.localeCompare(y.name));
}
