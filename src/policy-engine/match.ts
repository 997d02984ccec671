import { PolicyEngineError, PolicyEngineErrorCode } from './errors';
import type { AdmissionReviewRequest, ConstraintMatch, LabelSelector } from './types';

/**
 * Gatekeeper's Constraint match (pkg/mutation/match in Gatekeeper, documented under "The match field"):
 * every criterion that is set must hold; an unset one matches everything.
 * - kinds: some entry whose kinds contain "*" or the kind (empty: any) and apiGroups "*" or the group (empty: any);
 * - scope: Cluster = the object has no namespace or is a Namespace; Namespaced = has one and is not a Namespace;
 * - namespaces / excludedNamespaces: the object's namespace (a Namespace's own name) against names and
 *   prefix/suffix globs; a cluster-scoped object that is not a Namespace is neither included nor excluded;
 * - labelSelector: the object's labels (oldObject's on DELETE);
 * - namespaceSelector: the labels of the object's Namespace (the object itself when it is one); cluster-scoped
 *   objects always match; a namespaced object needs its Namespace object (NAMESPACE_OBJECT_REQUIRED);
 * - name: the object's name, exact or glob.
 */
export function matchesConstraint(match: ConstraintMatch | undefined, review: AdmissionReviewRequest, namespaceObject?: Record<string, unknown>): boolean {
  if (!match) {
    return true;
  }
  const object = review.object ?? review.oldObject ?? undefined;
  const metadata = (object?.metadata ?? {}) as { name?: string; namespace?: string; labels?: Record<string, string> };
  const isNamespace = review.kind.kind === 'Namespace' && review.kind.group === '';
  const objectNamespace = review.namespace || metadata.namespace || '';
  const nsName = typeof namespaceObject?.metadata === 'object' ? ((namespaceObject.metadata as { name?: string }).name ?? '') : '';
  const hasNamespace = objectNamespace !== '' || namespaceObject !== undefined;
  const name = review.name || metadata.name || '';

  if (match.kinds && match.kinds.length > 0) {
    const { group, kind } = review.kind;
    const hit = match.kinds.some((k) => {
      const kindOk = !k.kinds || k.kinds.length === 0 || k.kinds.includes('*') || k.kinds.includes(kind);
      const groupOk = !k.apiGroups || k.apiGroups.length === 0 || k.apiGroups.includes('*') || k.apiGroups.includes(group);
      return kindOk && groupOk;
    });
    if (!hit) {
      return false;
    }
  }

  if (match.scope === 'Cluster' && !(isNamespace || !hasNamespace)) {
    return false;
  }
  if (match.scope === 'Namespaced' && !(!isNamespace && hasNamespace)) {
    return false;
  }

  // The namespace the namespace lists compare against; undefined for cluster-scoped non-Namespace objects.
  const namespace = isNamespace ? name : nsName || objectNamespace || undefined;
  if (match.namespaces && match.namespaces.length > 0 && namespace !== undefined) {
    if (!match.namespaces.some((p) => globMatches(p, namespace))) {
      return false;
    }
  }
  if (match.excludedNamespaces && match.excludedNamespaces.length > 0 && namespace !== undefined) {
    if (match.excludedNamespaces.some((p) => globMatches(p, namespace))) {
      return false;
    }
  }

  if (match.labelSelector && !selectorMatches(match.labelSelector, metadata.labels ?? {})) {
    return false;
  }

  if (match.namespaceSelector) {
    if (isNamespace) {
      if (!selectorMatches(match.namespaceSelector, metadata.labels ?? {})) {
        return false;
      }
    } else if (namespaceObject === undefined && objectNamespace === '') {
      // cluster-scoped and not a Namespace: Gatekeeper matches it
    } else {
      if (namespaceObject === undefined) {
        throw new PolicyEngineError(
          PolicyEngineErrorCode.NAMESPACE_OBJECT_REQUIRED,
          `the match has a namespaceSelector and the object is in namespace "${objectNamespace}": give that Namespace object to evaluate it`,
          { field: 'namespaceObject' },
        );
      }
      const nsLabels = (namespaceObject.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
      if (!selectorMatches(match.namespaceSelector, nsLabels)) {
        return false;
      }
    }
  }

  if (match.name && !globMatches(match.name, name)) {
    return false;
  }
  return true;
}

/** Gatekeeper's Wildcard: "kube-*" prefix, "*-system" suffix, "*mid*" contains, else exact. */
export function globMatches(pattern: string, candidate: string): boolean {
  const starts = pattern.startsWith('*');
  const ends = pattern.length > 1 && pattern.endsWith('*');
  if (starts && ends) {
    return candidate.includes(pattern.slice(1, -1));
  }
  if (starts) {
    return candidate.endsWith(pattern.slice(1));
  }
  if (ends) {
    return candidate.startsWith(pattern.slice(0, -1));
  }
  return pattern === candidate;
}

/** metav1.LabelSelector semantics: matchLabels and every expression ANDed; an empty selector matches everything. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) {
      return false;
    }
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(labels[e.key])) {
          return false;
        }
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(labels[e.key])) {
          return false;
        }
        break;
      case 'Exists':
        if (!has) {
          return false;
        }
        break;
      case 'DoesNotExist':
        if (has) {
          return false;
        }
        break;
      default:
        return false;
    }
  }
  return true;
}
