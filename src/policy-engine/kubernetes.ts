import { PolicyEngineError, PolicyEngineErrorCode } from './errors';
import type { AdmissionReviewRequest, GroupVersionKind } from './types';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws NOT_A_KUBERNETES_OBJECT unless value has apiVersion, kind and metadata.name (or generateName). */
export function assertKubernetesObject(value: unknown): asserts value is Record<string, unknown> {
  const fail = (problem: string): never => {
    throw new PolicyEngineError(PolicyEngineErrorCode.NOT_A_KUBERNETES_OBJECT, `not a Kubernetes object: ${problem}`, { field: problem.split(' ')[0] });
  };
  if (!isObject(value)) {
    fail('object must be a mapping with apiVersion, kind and metadata');
  }
  const o = value as Record<string, unknown>;
  if (typeof o.apiVersion !== 'string' || !/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(o.apiVersion)) {
    fail('apiVersion must be a string like "v1" or "apps/v1"');
  }
  if (typeof o.kind !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(o.kind)) {
    fail('kind must be a Kubernetes kind such as "Pod"');
  }
  if (!isObject(o.metadata)) {
    fail('metadata must be a mapping');
  }
  const metadata = o.metadata as Record<string, unknown>;
  const named = (typeof metadata.name === 'string' && metadata.name !== '') || (typeof metadata.generateName === 'string' && metadata.generateName !== '');
  if (!named) {
    fail('metadata.name must be a non-empty string');
  }
  if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') {
    fail('metadata.namespace must be a string');
  }
  if (metadata.labels !== undefined && metadata.labels !== null) {
    if (!isObject(metadata.labels) || Object.values(metadata.labels).some((v) => typeof v !== 'string')) {
      fail('metadata.labels must map names to strings');
    }
  }
}

/** "apps/v1" → { group: "apps", version: "v1" }, "v1" → { group: "", version: "v1" }. */
export function groupVersionKind(apiVersion: string, kind: string): GroupVersionKind {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? { group: '', version: apiVersion, kind } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind };
}

/**
 * The review Gatekeeper builds for an object on its own (audit, gator, authors): kind, name and namespace
 * from the object; CREATE unless told; DELETE carries the object as oldObject, as the API server sends it.
 */
export function reviewForObject(object: Record<string, unknown>, operation: AdmissionReviewRequest['operation'] = 'CREATE'): AdmissionReviewRequest {
  assertKubernetesObject(object);
  const metadata = object.metadata as { name?: string; namespace?: string };
  return {
    kind: groupVersionKind(object.apiVersion as string, object.kind as string),
    ...(metadata.name ? { name: metadata.name } : {}),
    ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
    operation,
    object: operation === 'DELETE' ? null : object,
    oldObject: operation === 'DELETE' ? object : null,
  };
}
