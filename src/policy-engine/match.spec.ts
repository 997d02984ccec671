import { PolicyEngineErrorCode } from './errors';
import { reviewForObject } from './kubernetes';
import { globMatches, matchesConstraint, selectorMatches } from './match';
import type { AdmissionReviewRequest, ConstraintMatch } from './types';

// Gatekeeper's documented match semantics ("The match field", pkg/mutation/match), case by case.
const pod = (ns: string, labels: Record<string, string> = {}, name = 'web-1') => reviewForObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels } });
const deployment = (ns: string) => reviewForObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: ns } });
const namespace = (name: string, labels: Record<string, string> = {}) => reviewForObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const clusterRole = () => reviewForObject({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'admin', labels: { tier: 'x' } } });
const nsObject = (name: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

type Row = [string, ConstraintMatch | undefined, AdmissionReviewRequest, boolean, Record<string, unknown>?];

const rows: Row[] = [
  ['no match: everything', undefined, pod('a'), true],
  ['empty match: everything', {}, clusterRole(), true],
  // kinds: apiGroups × kinds, one entry is enough
  ['kinds: core Pod', { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] }, pod('a'), true],
  ['kinds: core Pod does not match apps Deployment', { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] }, deployment('a'), false],
  ['kinds: group must match too', { kinds: [{ apiGroups: ['apps'], kinds: ['Pod'] }] }, pod('a'), false],
  ['kinds: "*" group', { kinds: [{ apiGroups: ['*'], kinds: ['Deployment'] }] }, deployment('a'), true],
  ['kinds: "*" kind', { kinds: [{ apiGroups: ['apps'], kinds: ['*'] }] }, deployment('a'), true],
  ['kinds: empty lists match all', { kinds: [{}] }, deployment('a'), true],
  [
    'kinds: second entry matches',
    {
      kinds: [
        { apiGroups: [''], kinds: ['Pod'] },
        { apiGroups: ['apps'], kinds: ['Deployment'] },
      ],
    },
    deployment('a'),
    true,
  ],
  // scope
  ['scope Cluster: cluster-scoped object', { scope: 'Cluster' }, clusterRole(), true],
  ['scope Cluster: a Namespace counts as cluster-scoped', { scope: 'Cluster' }, namespace('a'), true],
  ['scope Cluster: namespaced object', { scope: 'Cluster' }, pod('a'), false],
  ['scope Namespaced: namespaced object', { scope: 'Namespaced' }, pod('a'), true],
  ['scope Namespaced: a Namespace is not namespaced', { scope: 'Namespaced' }, namespace('a'), false],
  ['scope Namespaced: cluster-scoped object', { scope: 'Namespaced' }, clusterRole(), false],
  ['scope *', { scope: '*' }, clusterRole(), true],
  // namespaces / excludedNamespaces, with prefix and suffix globs
  ['namespaces: listed', { namespaces: ['a', 'b'] }, pod('b'), true],
  ['namespaces: not listed', { namespaces: ['a'] }, pod('b'), false],
  ['namespaces: prefix glob', { namespaces: ['kube-*'] }, pod('kube-system'), true],
  ['namespaces: suffix glob', { namespaces: ['*-system'] }, pod('gatekeeper-system'), true],
  ['namespaces: glob not matching', { namespaces: ['kube-*'] }, pod('default'), false],
  ['namespaces: a Namespace is matched by its own name', { namespaces: ['prod'] }, namespace('prod'), true],
  ['namespaces: cluster-scoped objects are not excluded by a namespace list', { namespaces: ['a'] }, clusterRole(), true],
  ['excludedNamespaces: excluded', { excludedNamespaces: ['kube-*'] }, pod('kube-public'), false],
  ['excludedNamespaces: not excluded', { excludedNamespaces: ['kube-*'] }, pod('default'), true],
  ['excludedNamespaces: a Namespace by its own name', { excludedNamespaces: ['kube-system'] }, namespace('kube-system'), false],
  ['excludedNamespaces: cluster-scoped objects stay matched', { excludedNamespaces: ['*'] }, clusterRole(), true],
  ['namespaces and excludedNamespaces together', { namespaces: ['prod-*'], excludedNamespaces: ['prod-legacy'] }, pod('prod-legacy'), false],
  // labelSelector on the object's labels
  ['labelSelector: matchLabels', { labelSelector: { matchLabels: { app: 'web' } } }, pod('a', { app: 'web' }), true],
  ['labelSelector: matchLabels differs', { labelSelector: { matchLabels: { app: 'web' } } }, pod('a', { app: 'db' }), false],
  ['labelSelector: In', { labelSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] } }, pod('a', { tier: 'b' }), true],
  ['labelSelector: In without the label', { labelSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] } }, pod('a'), false],
  ['labelSelector: NotIn without the label matches', { labelSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] } }, pod('a'), true],
  ['labelSelector: NotIn with a listed value', { labelSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] } }, pod('a', { tier: 'a' }), false],
  ['labelSelector: Exists', { labelSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }, pod('a', { tier: '' }), true],
  ['labelSelector: DoesNotExist', { labelSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } }, pod('a', { tier: 'x' }), false],
  [
    'labelSelector: all requirements ANDed',
    { labelSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] } },
    pod('a', { app: 'web' }),
    false,
  ],
  ['labelSelector: applies to cluster-scoped objects too', { labelSelector: { matchLabels: { tier: 'x' } } }, clusterRole(), true],
  // namespaceSelector on the namespace's labels (the object's own for a Namespace)
  ['namespaceSelector: namespace labels match', { namespaceSelector: { matchLabels: { env: 'prod' } } }, pod('a'), true, nsObject('a', { env: 'prod' })],
  ['namespaceSelector: namespace labels differ', { namespaceSelector: { matchLabels: { env: 'prod' } } }, pod('a'), false, nsObject('a', { env: 'dev' })],
  ['namespaceSelector: a Namespace by its own labels', { namespaceSelector: { matchLabels: { env: 'prod' } } }, namespace('a', { env: 'prod' }), true],
  ['namespaceSelector: a Namespace without the labels', { namespaceSelector: { matchLabels: { env: 'prod' } } }, namespace('a'), false],
  ['namespaceSelector: cluster-scoped objects match', { namespaceSelector: { matchLabels: { env: 'prod' } } }, clusterRole(), true],
  ['namespaces: the given Namespace object names the namespace', { namespaces: ['a'] }, { ...pod('a'), namespace: undefined }, true, nsObject('a', {})],
  // name
  ['name: exact', { name: 'web-1' }, pod('a'), true],
  ['name: prefix glob', { name: 'web-*' }, pod('a'), true],
  ['name: suffix glob', { name: '*-2' }, pod('a'), false],
  // all criteria must hold
  [
    'everything at once',
    { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], namespaces: ['prod-*'], labelSelector: { matchLabels: { app: 'web' } }, scope: 'Namespaced', name: 'web-*' },
    pod('prod-eu', { app: 'web' }),
    true,
  ],
  [
    'everything but one',
    { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], namespaces: ['prod-*'], labelSelector: { matchLabels: { app: 'web' } }, scope: 'Namespaced', name: 'api-*' },
    pod('prod-eu', { app: 'web' }),
    false,
  ],
];

describe(matchesConstraint.name, () => {
  it.each(rows)('%s', (...[, match, review, expected, namespaceObject]: Row) => {
    expect(matchesConstraint(match, review, namespaceObject)).toBe(expected);
  });

  it('uses oldObject on DELETE', () => {
    const review = reviewForObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a', labels: { app: 'web' } } }, 'DELETE');
    expect(review.object).toBeNull();
    expect(matchesConstraint({ labelSelector: { matchLabels: { app: 'web' } } }, review)).toBe(true);
  });

  it('needs the Namespace object for a namespaceSelector on a namespaced object, as Gatekeeper', () => {
    expect(() => matchesConstraint({ namespaceSelector: { matchLabels: { env: 'prod' } } }, pod('a'))).toThrow(
      expect.objectContaining({ code: PolicyEngineErrorCode.NAMESPACE_OBJECT_REQUIRED }),
    );
  });
});

describe(globMatches.name, () => {
  it.each([
    ['kube-*', 'kube-system', true],
    ['kube-*', 'kube', false],
    ['*-system', 'kube-system', true],
    ['*mid*', 'a-mid-b', true],
    ['*', 'anything', true],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
  ])('%s vs %s', (pattern, candidate, expected) => expect(globMatches(pattern, candidate)).toBe(expected));
});

describe(selectorMatches.name, () => {
  it('an empty selector matches everything', () => expect(selectorMatches({}, {})).toBe(true));
});
