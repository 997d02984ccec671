import { createHash } from 'node:crypto';
import type { AdmissionregistrationV1Api, V1ValidatingWebhook } from '@kubernetes/client-node';
import type { ConstraintForEvaluation } from '../../policy-engine/types';
import { SPARED_NAMESPACES } from './admission-review';

export const WEBHOOK_NAME = 'admission.agent.farpoint.dev';
/** Records which webhooks the agent wrote, so an unchanged configuration is not written again. */
export const CONFIG_HASH_ANNOTATION = 'farpoint.dev/admission-config-sha256';

export interface WebhookSettings {
  /** https URL of the agent's /validate (an agent outside the cluster), or a Service reference. */
  endpoint: { url: string } | { service: { namespace: string; name: string; port: number; path: string } };
  caBundlePem: string;
  /** Ignore (fail open, the default) or Fail. */
  failurePolicy?: 'Ignore' | 'Fail';
  timeoutSeconds?: number;
}

// Kinds whose plural is not the lowercase kind + "s" (the apiserver's rules name resources, not kinds).
const IRREGULAR_PLURALS: Record<string, string> = {
  Endpoints: 'endpoints',
  Ingress: 'ingresses',
  IngressClass: 'ingressclasses',
  NetworkPolicy: 'networkpolicies',
  PodSecurityPolicy: 'podsecuritypolicies',
  StorageClass: 'storageclasses',
  PriorityClass: 'priorityclasses',
  RuntimeClass: 'runtimeclasses',
  ResourceQuota: 'resourcequotas',
};

/** Pod → pods, Ingress → ingresses, NetworkPolicy → networkpolicies; "*" stays "*". */
export function resourceForKind(kind: string): string {
  if (kind === '*') {
    return '*';
  }
  const irregular = IRREGULAR_PLURALS[kind];
  if (irregular) {
    return irregular;
  }
  const lower = kind.toLowerCase();
  if (/[^aeiou]y$/.test(lower)) {
    return `${lower.slice(0, -1)}ies`;
  }
  return /(s|x|ch|sh)$/.test(lower) ? `${lower}es` : `${lower}s`;
}

/**
 * One rule per API group over the resources the constraints match (CREATE and UPDATE, every version);
 * a constraint without match.kinds, or with "*", matches every kind of its groups.
 */
export function rulesFor(constraints: readonly ConstraintForEvaluation[]): NonNullable<V1ValidatingWebhook['rules']> {
  const byGroup = new Map<string, Set<string>>();
  const add = (group: string, resource: string) => {
    const set = byGroup.get(group) ?? new Set<string>();
    set.add(resource);
    byGroup.set(group, set);
  };
  for (const c of constraints) {
    const kinds = c.match?.kinds?.length ? c.match.kinds : [{ apiGroups: ['*'], kinds: ['*'] }];
    for (const k of kinds) {
      const groups = k.apiGroups?.length ? k.apiGroups : ['*'];
      const names = k.kinds?.length ? k.kinds : ['*'];
      for (const group of groups) {
        for (const name of names) {
          add(group, resourceForKind(name));
        }
      }
    }
  }
  return [...byGroup.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, resources]) => ({
      apiGroups: [group],
      apiVersions: ['*'],
      operations: ['CREATE', 'UPDATE'],
      // "*" covers the others, and mixing it with names is allowed but pointless.
      resources: resources.has('*') ? ['*'] : [...resources].sort(),
      scope: '*',
    }));
}

/** The webhooks the agent's configuration should hold: none without constraints (nothing is sent). */
export function desiredWebhooks(constraints: readonly ConstraintForEvaluation[], settings: WebhookSettings): V1ValidatingWebhook[] {
  if (constraints.length === 0) {
    return [];
  }
  return [
    {
      name: WEBHOOK_NAME,
      clientConfig: { ...settings.endpoint, caBundle: Buffer.from(settings.caBundlePem).toString('base64') },
      rules: rulesFor(constraints),
      // Always spares farpoint-system and kube-system, so a broken agent can never lock the cluster.
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...SPARED_NAMESPACES] }] },
      failurePolicy: settings.failurePolicy ?? 'Ignore',
      timeoutSeconds: settings.timeoutSeconds ?? 3,
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      matchPolicy: 'Equivalent',
    },
  ];
}

export function webhooksHash(webhooks: readonly V1ValidatingWebhook[]): string {
  return createHash('sha256').update(JSON.stringify(webhooks)).digest('hex');
}

/**
 * Puts the webhooks into the agent's own ValidatingWebhookConfiguration (created empty by the install
 * manifests; RBAC allows get/update on that name only). Reads it, and replaces it with the read
 * resourceVersion only when the hash annotation differs; answers whether it wrote.
 */
export async function syncWebhookConfiguration(api: AdmissionregistrationV1Api, name: string, webhooks: V1ValidatingWebhook[]): Promise<boolean> {
  const hash = webhooksHash(webhooks);
  const current = await api.readValidatingWebhookConfiguration({ name });
  if (current.metadata?.annotations?.[CONFIG_HASH_ANNOTATION] === hash) {
    return false;
  }
  await api.replaceValidatingWebhookConfiguration({
    name,
    body: {
      ...current,
      metadata: { ...current.metadata, annotations: { ...current.metadata?.annotations, [CONFIG_HASH_ANNOTATION]: hash } },
      webhooks,
    },
  });
  return true;
}
