import { dump } from 'js-yaml';
import { parseConstraint, parseConstraintMatch } from './constraint';
import { PolicyEngineErrorCode } from './errors';

const base = {
  apiVersion: 'constraints.gatekeeper.sh/v1beta1',
  kind: 'K8sRequiredLabels',
  metadata: { name: 'all-must-have-owner' },
  spec: {
    enforcementAction: 'warn',
    match: {
      kinds: [{ apiGroups: [''], kinds: ['Namespace'] }],
      namespaces: ['prod-*'],
      excludedNamespaces: ['kube-system'],
      labelSelector: { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] },
      namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Exists' }] },
      scope: 'Namespaced',
      name: 'web-*',
    },
    parameters: { labels: [{ key: 'owner' }] },
  },
};

const patched = (patch: (c: Record<string, any>) => void) => {
  const c = structuredClone(base) as Record<string, any>;
  patch(c);
  return c;
};

describe(parseConstraint.name, () => {
  it('reads kind, name, parameters, match and action (from YAML)', () => {
    expect(parseConstraint(dump(base))).toEqual({
      apiVersion: base.apiVersion,
      kind: 'K8sRequiredLabels',
      name: 'all-must-have-owner',
      parameters: base.spec.parameters,
      match: base.spec.match,
      enforcementAction: 'warn',
      metadata: base.metadata,
    });
  });

  it('defaults: parameters {} and action deny when absent, no match', () => {
    const c = parseConstraint({ apiVersion: 'constraints.gatekeeper.sh/v1', kind: 'K8sNoPrivileged', metadata: { name: 'x' } });
    expect(c).toMatchObject({ parameters: {}, enforcementAction: 'deny' });
    expect(c.match).toBeUndefined();
  });

  it('accepts and ignores match.source', () => {
    expect(parseConstraint(patched((c) => (c.spec.match = { source: 'All' }))).match).toEqual({});
  });

  it.each([
    ['malformed YAML', 'kind: [', PolicyEngineErrorCode.YAML_INVALID, undefined],
    ['a non-Gatekeeper apiVersion', patched((c) => (c.apiVersion = 'v1')), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'apiVersion'],
    ['no kind', patched((c) => delete c.kind), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'kind'],
    ['no name', patched((c) => delete c.metadata.name), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'metadata.name'],
    ['spec not an object', patched((c) => (c.spec = 'x')), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'spec'],
    ['parameters not an object', patched((c) => (c.spec.parameters = ['owner'])), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'spec.parameters'],
    ['an unknown action', patched((c) => (c.spec.enforcementAction = 'block')), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'spec.enforcementAction'],
    ['scoped actions', patched((c) => (c.spec.enforcementAction = 'scoped')), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'spec.enforcementAction'],
    ['an unknown match field', patched((c) => (c.spec.match.namespace = 'x')), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'spec.match.namespace'],
    ['kinds not a list', patched((c) => (c.spec.match.kinds = { kinds: ['Pod'] })), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'spec.match.kinds'],
    ['apiGroups not strings', patched((c) => (c.spec.match.kinds[0].apiGroups = [1])), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'spec.match.kinds[0].apiGroups[0]'],
    ['a glob in the middle', patched((c) => (c.spec.match.namespaces = ['a*b'])), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'spec.match.namespaces[0]'],
    ['an unknown scope', patched((c) => (c.spec.match.scope = 'cluster')), PolicyEngineErrorCode.CONSTRAINT_INVALID, 'spec.match.scope'],
    [
      'an unknown operator',
      patched((c) => (c.spec.match.labelSelector.matchExpressions[0].operator = 'Gt')),
      PolicyEngineErrorCode.CONSTRAINT_INVALID,
      'spec.match.labelSelector.matchExpressions[0].operator',
    ],
    [
      'In without values',
      patched((c) => delete c.spec.match.labelSelector.matchExpressions[0].values),
      PolicyEngineErrorCode.CONSTRAINT_INVALID,
      'spec.match.labelSelector.matchExpressions[0].values',
    ],
    [
      'Exists with values',
      patched((c) => (c.spec.match.namespaceSelector.matchExpressions[0].values = ['x'])),
      PolicyEngineErrorCode.CONSTRAINT_INVALID,
      'spec.match.namespaceSelector.matchExpressions[0].values',
    ],
    [
      'a label value that is not a string',
      patched((c) => (c.spec.match.labelSelector.matchLabels.team = 1)),
      PolicyEngineErrorCode.CONSTRAINT_INVALID,
      'spec.match.labelSelector.matchLabels.team',
    ],
  ])('refuses %s', (_what, input, code, field) => {
    expect(() => parseConstraint(input as never)).toThrow(expect.objectContaining({ code, ...(field ? { details: expect.objectContaining({ field }) } : {}) }));
  });

  it('checks a match on its own (evaluatePolicy takes one)', () => {
    expect(parseConstraintMatch({ kinds: [{ kinds: ['Pod'] }] })).toEqual({ kinds: [{ kinds: ['Pod'] }] });
    expect(() => parseConstraintMatch({ scope: 'x' })).toThrow(expect.objectContaining({ code: PolicyEngineErrorCode.CONSTRAINT_INVALID, details: { field: 'match.scope' } }));
  });
});
