import { PolicyEngineErrorCode } from './errors';
import { assertKubernetesObject, groupVersionKind, reviewForObject } from './kubernetes';

describe(assertKubernetesObject.name, () => {
  it.each([
    ['a string', 'pod'],
    ['an array', [{ kind: 'Pod' }]],
    ['null', null],
    ['no apiVersion', { kind: 'Pod', metadata: { name: 'a' } }],
    ['a bad apiVersion', { apiVersion: 'apps/version1', kind: 'Pod', metadata: { name: 'a' } }],
    ['no kind', { apiVersion: 'v1', metadata: { name: 'a' } }],
    ['no metadata', { apiVersion: 'v1', kind: 'Pod' }],
    ['no name', { apiVersion: 'v1', kind: 'Pod', metadata: {} }],
    ['labels that are not strings', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', labels: { a: 1 } } }],
  ])('refuses %s with NOT_A_KUBERNETES_OBJECT', (_what, value) => {
    expect(() => assertKubernetesObject(value)).toThrow(expect.objectContaining({ code: PolicyEngineErrorCode.NOT_A_KUBERNETES_OBJECT }));
  });

  it('accepts an object with generateName (a pod of a ReplicaSet at admission)', () => {
    expect(() => assertKubernetesObject({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-' } })).not.toThrow();
  });
});

describe(reviewForObject.name, () => {
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'shop' } };

  it('builds the review Gatekeeper gives for an object alone', () => {
    expect(reviewForObject(deployment)).toEqual({
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      name: 'd',
      namespace: 'shop',
      operation: 'CREATE',
      object: deployment,
      oldObject: null,
    });
  });

  it('puts the object in oldObject for DELETE', () => {
    expect(reviewForObject(deployment, 'DELETE')).toMatchObject({ operation: 'DELETE', object: null, oldObject: deployment });
  });

  it('refuses what is not a Kubernetes object', () => {
    expect(() => reviewForObject({ hello: 'world' })).toThrow(expect.objectContaining({ code: PolicyEngineErrorCode.NOT_A_KUBERNETES_OBJECT }));
  });

  it('splits core and named groups', () => {
    expect(groupVersionKind('v1', 'Pod')).toEqual({ group: '', version: 'v1', kind: 'Pod' });
    expect(groupVersionKind('networking.k8s.io/v1', 'Ingress')).toEqual({ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' });
  });
});
