/** The engine's stable error codes; callers (API, agent, CLI) branch on them, never on messages. */
export const PolicyEngineErrorCode = {
  /** Not YAML, or not exactly one document. details: line, column. */
  YAML_INVALID: 'YAML_INVALID',
  /** A ConstraintTemplate of the wrong shape. details.field names the path, e.g. "spec.targets[0].rego". */
  TEMPLATE_INVALID: 'TEMPLATE_INVALID',
  /** metadata.name is not lowercase(spec.crd.spec.names.kind), which Gatekeeper requires. */
  TEMPLATE_NAME_MISMATCH: 'TEMPLATE_NAME_MISMATCH',
  /** No Rego in spec.targets[0] (neither `rego` nor code[engine=Rego]), e.g. a CEL-only template. */
  TEMPLATE_REGO_MISSING: 'TEMPLATE_REGO_MISSING',
  /** A Constraint of the wrong shape (apiVersion, kind, match, parameters, enforcementAction). details.field. */
  CONSTRAINT_INVALID: 'CONSTRAINT_INVALID',
  /** The wasm bytes do not hash to the sha256 they were announced with. */
  BUNDLE_HASH_MISMATCH: 'BUNDLE_HASH_MISMATCH',
  /** A constraint names a bundle the engine has not loaded (or has evicted). */
  BUNDLE_NOT_LOADED: 'BUNDLE_NOT_LOADED',
  /** Not an OPA WebAssembly policy the engine can run (bad module, ABI, missing entrypoint). */
  BUNDLE_INVALID: 'BUNDLE_INVALID',
  /** The policy calls builtins neither WebAssembly nor the engine provides. details.builtins. */
  BUILTIN_UNSUPPORTED: 'BUILTIN_UNSUPPORTED',
  /** Input without apiVersion, kind or metadata.name. */
  NOT_A_KUBERNETES_OBJECT: 'NOT_A_KUBERNETES_OBJECT',
  /** A namespaceSelector applies to a namespaced object but its Namespace object was not given. */
  NAMESPACE_OBJECT_REQUIRED: 'NAMESPACE_OBJECT_REQUIRED',
  /** The policy aborted (builtin error, out of memory, malformed result). details.constraint. */
  POLICY_EVALUATION_FAILED: 'POLICY_EVALUATION_FAILED',
  /** The evaluation ran past its deadline and was terminated (EvaluationPool). */
  POLICY_EVALUATION_TIMEOUT: 'POLICY_EVALUATION_TIMEOUT',
  /** A gator Suite file of the wrong shape or pointing at files that do not exist. details.field, file. */
  SUITE_INVALID: 'SUITE_INVALID',
} as const;
export type PolicyEngineErrorCode = (typeof PolicyEngineErrorCode)[keyof typeof PolicyEngineErrorCode];

export interface PolicyEngineErrorDetails {
  /** Path of the offending field, e.g. "spec.match.kinds[0].apiGroups". */
  field?: string;
  line?: number;
  column?: number;
  constraint?: string;
  builtins?: string[];
  file?: string;
  [key: string]: unknown;
}

export class PolicyEngineError extends Error {
  constructor(
    readonly code: PolicyEngineErrorCode,
    message: string,
    readonly details: PolicyEngineErrorDetails = {},
  ) {
    super(message);
    this.name = 'PolicyEngineError';
  }
}

export function isPolicyEngineError(error: unknown, code?: PolicyEngineErrorCode): error is PolicyEngineError {
  return error instanceof PolicyEngineError && (code === undefined || error.code === code);
}
