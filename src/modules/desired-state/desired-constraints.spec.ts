import { parseLabelSelector } from '../../common/labels/label-selector';
import type { Constraint, PolicyAssignment } from '../../generated/prisma/client';
import { assignmentMatch, byStrength, selectorExpressions, type AssignmentInEffect } from './desired-constraints';

let n = 0;
function assignment(fields: Partial<PolicyAssignment> = {}, constraint: Partial<Constraint> = {}): AssignmentInEffect {
  n += 1;
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    organizationId: 'org',
    constraintId: 'k',
    scope: 'ORGANIZATION',
    siteId: null,
    groupId: null,
    clusterId: null,
    workspaceId: null,
    activeRolloutId: null,
    labelSelector: '',
    namespaceSelector: '',
    excludedNamespaces: [],
    enforcementAction: null,
    createdBy: 'test',
    createdAt: new Date(Date.UTC(2026, 11, 1, 0, 0, n)),
    updatedAt: new Date(),
    ...fields,
    constraint: { enforcementAction: 'DENY', match: {}, ...constraint } as Constraint,
  };
}

describe('desired constraints', () => {
  it('turns a Kubernetes selector string into LabelSelector expressions with the same meaning', () => {
    expect(selectorExpressions(parseLabelSelector('tier=edge,env!=dev,zone in (a,b),team notin (x),gpu,!canary'))).toEqual([
      { key: 'tier', operator: 'In', values: ['edge'] },
      { key: 'env', operator: 'NotIn', values: ['dev'] },
      { key: 'zone', operator: 'In', values: ['a', 'b'] },
      { key: 'team', operator: 'NotIn', values: ['x'] },
      { key: 'gpu', operator: 'Exists' },
      { key: 'canary', operator: 'DoesNotExist' },
    ]);
    expect(selectorExpressions(parseLabelSelector(''))).toEqual([]);
  });

  it('orders by action (DENY > WARN > DRYRUN, the constraint action when the assignment has none), then scope specificity, then age', () => {
    const orgDeny = assignment({ scope: 'ORGANIZATION' });
    const clusterWarn = assignment({ scope: 'CLUSTER', enforcementAction: 'WARN' });
    const siteDryrun = assignment({ scope: 'SITE' }, { enforcementAction: 'DRYRUN' });
    const groupDeny = assignment({ scope: 'CLUSTER_GROUP', enforcementAction: 'DENY' });
    const olderSiteWarn = assignment({ scope: 'SITE', enforcementAction: 'WARN', createdAt: new Date(0) });
    expect(byStrength([orgDeny, clusterWarn, siteDryrun, groupDeny, olderSiteWarn]).map((a) => a.id)).toEqual([
      groupDeny.id,
      orgDeny.id,
      clusterWarn.id,
      olderSiteWarn.id,
      siteDryrun.id,
    ]);
  });

  it("keeps the constraint's match and adds the assignment's narrowing; a workspace assignment covers its namespaces the constraint allows, or nothing", () => {
    const plain = assignment({}, { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } });
    expect(assignmentMatch(plain, undefined)).toEqual({ kinds: [{ apiGroups: [''], kinds: ['Pod'] }] });
    expect(assignmentMatch(assignment(), undefined)).toBeUndefined();
    const ws = assignment({ scope: 'WORKSPACE', workspaceId: 'ws' }, { match: { namespaces: ['shop-*'] } });
    expect(assignmentMatch(ws, ['shop-a', 'till', 'shop-b'])).toEqual({ namespaces: ['shop-a', 'shop-b'] });
    expect(assignmentMatch(ws, ['till'])).toBeNull();
  });
});
