import type { SyncKind } from './sync-requirements';

/**
 * Gatekeeper's data model as the engine sees it: the AdmissionReview request a policy reads as
 * input.review, a Constraint's match and action, and the results of `violation[{"msg", "details"}]`.
 */

export type EnforcementAction = 'deny' | 'warn' | 'dryrun';
export const ENFORCEMENT_ACTIONS: readonly EnforcementAction[] = ['deny', 'warn', 'dryrun'];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** Kubernetes metav1.LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** Gatekeeper's Constraint spec.match; every criterion that is set must hold. */
export interface ConstraintMatch {
  /** apiGroups × kinds; one entry matching is enough; "*" or an empty list matches all. */
  kinds?: { apiGroups?: string[]; kinds?: string[] }[];
  /** Exact names or globs: "kube-*" (prefix), "*-system" (suffix). */
  namespaces?: string[];
  excludedNamespaces?: string[];
  labelSelector?: LabelSelector;
  /** Against the object's namespace, or the object itself when it is a Namespace. */
  namespaceSelector?: LabelSelector;
  scope?: '*' | 'Cluster' | 'Namespaced';
  /** Exact name or glob, as namespaces. */
  name?: string;
}

/** Gatekeeper's input.review: an AdmissionReview request. */
export interface AdmissionReviewRequest {
  uid?: string;
  kind: GroupVersionKind;
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  userInfo?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  dryRun?: boolean;
  options?: Record<string, unknown> | null;
}

export interface Violation {
  msg: string;
  details?: unknown;
}

export interface ConstraintForEvaluation {
  /** Constraint name (for reporting); its kind is the template's kind. */
  name: string;
  kind: string;
  /** Lowercase hex SHA-256 of the policy.wasm bytes, loaded with PolicyEngine.load. */
  bundleSha256: string;
  /** "<package path with />/violation", e.g. "k8srequiredlabels/violation". */
  entrypoint: string;
  parameters: Record<string, unknown>;
  match?: ConstraintMatch;
  enforcementAction: EnforcementAction;
}

export interface ConstraintResult {
  constraint: string;
  kind: string;
  enforcementAction: EnforcementAction;
  /** False when match excluded the object; the policy did not run and violations is empty. */
  matched: boolean;
  /** Sorted by msg (then details) so that results compare across runs and with opa eval. */
  violations: Violation[];
}

/**
 * Gatekeeper's referential data: data.inventory.cluster[groupVersion][kind][name] and
 * data.inventory.namespace[namespace][groupVersion][kind][name].
 */
export interface Inventory {
  cluster?: Record<string, Record<string, Record<string, unknown>>>;
  namespace?: Record<string, Record<string, Record<string, Record<string, unknown>>>>;
}

export type RegoVersion = 'v0' | 'v1';

/** A Gatekeeper ConstraintTemplate, checked and reduced to what compiling and evaluating need. */
export interface ParsedConstraintTemplate {
  /** metadata.name: lowercase(kind). */
  name: string;
  /** spec.crd.spec.names.kind: the kind of its Constraints. */
  kind: string;
  /** templates.gatekeeper.sh/v1 or /v1beta1. */
  apiVersion: string;
  /** spec.crd.spec.validation.openAPIV3Schema, or null when the template takes no parameters. */
  parametersSchema: Record<string, unknown> | null;
  /** spec.crd.spec.validation.legacySchema when given (Gatekeeper's v1beta1 default is true). */
  legacySchema?: boolean;
  rego: string;
  libs: string[];
  /** Rego package of `rego`, e.g. "k8srequiredlabels". */
  package: string;
  /** What `opa build -e` takes and the engine evaluates: "<package with />/violation". */
  entrypoint: string;
  /** v0 (Gatekeeper's library; `opa build --v0-compatible`) unless code[].source.version is "v1". */
  regoVersion: RegoVersion;
  /** The template also carries a K8sNativeValidation (CEL) engine; Farpoint evaluates its Rego. */
  hasCelEngine: boolean;
  /** spec.targets[0].target, "admission.k8s.gatekeeper.sh". */
  targets: string;
  /** What a referential template reads from data.inventory (annotation metadata.gatekeeper.sh/requires-sync-data). */
  syncKinds: SyncKind[];
  /** metadata.annotations "metadata.gatekeeper.sh/title" and "description" (Gatekeeper library convention). */
  title?: string;
  description?: string;
  metadata: Record<string, unknown>;
}

export interface ParsedConstraint {
  apiVersion: string;
  kind: string;
  name: string;
  /** spec.parameters, {} when absent. */
  parameters: Record<string, unknown>;
  match?: ConstraintMatch;
  /** spec.enforcementAction, "deny" when absent. */
  enforcementAction: EnforcementAction;
  metadata: Record<string, unknown>;
}
