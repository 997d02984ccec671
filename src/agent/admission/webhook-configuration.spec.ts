import type { ConstraintForEvaluation } from '../../policy-engine';
import { desiredWebhooks, resourceForKind, rulesFor, webhooksHash } from './webhook-configuration';

const c = (match?: ConstraintForEvaluation['match']): ConstraintForEvaluation => ({
  name: 'x',
  kind: 'K',
  bundleSha256: 'a'.repeat(64),
  entrypoint: 'k/violation',
  parameters: {},
  enforcementAction: 'deny',
  match,
});

describe('webhook configuration', () => {
  it('names resources by their plural', () => {
    expect(['Pod', 'Deployment', 'Ingress', 'NetworkPolicy', 'Service', 'Endpoints', 'StatefulSet', '*'].map(resourceForKind)).toEqual([
      'pods',
      'deployments',
      'ingresses',
      'networkpolicies',
      'services',
      'endpoints',
      'statefulsets',
      '*',
    ]);
  });

  it('has one rule per API group over the kinds the constraints match, "*" when a constraint matches every kind', () => {
    expect(rulesFor([c({ kinds: [{ apiGroups: [''], kinds: ['Pod'] }] }), c({ kinds: [{ apiGroups: ['apps', ''], kinds: ['Deployment', 'Pod'] }] })])).toEqual([
      { apiGroups: [''], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['deployments', 'pods'], scope: '*' },
      { apiGroups: ['apps'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['deployments', 'pods'], scope: '*' },
    ]);
    expect(rulesFor([c({ kinds: [{ apiGroups: [''], kinds: ['Pod'] }] }), c()])).toEqual([
      { apiGroups: [''], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['pods'], scope: '*' },
      { apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['*'], scope: '*' },
    ]);
  });

  it('spares farpoint-system and kube-system, fails open by default with a short timeout, and holds nothing without constraints', () => {
    const settings = { endpoint: { url: 'https://10.0.0.5:9443/validate' }, caBundlePem: 'PEM' };
    const [webhook] = desiredWebhooks([c({ kinds: [{ apiGroups: [''], kinds: ['Pod'] }] })], settings);
    expect(webhook).toMatchObject({
      name: 'admission.agent.farpoint.dev',
      clientConfig: { url: 'https://10.0.0.5:9443/validate', caBundle: Buffer.from('PEM').toString('base64') },
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['farpoint-system', 'kube-system'] }] },
      failurePolicy: 'Ignore',
      timeoutSeconds: 3,
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
    });
    expect(desiredWebhooks([], settings)).toEqual([]);
    expect(webhooksHash(desiredWebhooks([c()], settings))).not.toBe(webhooksHash(desiredWebhooks([c()], { ...settings, failurePolicy: 'Fail' })));
  });
});
