import { ErrorCode, FarpointError } from '../../common/errors/farpoint-error';
import { type PolicyEngineError, PolicyEngineErrorCode } from '../../policy-engine';
import type { PolicyDiagnostic } from './policy-template.model';

/**
 * The refusals of the policy modules (templates, versions, constraints, evaluatePolicy), one sentence
 * each, as FarpointErrors with a stable code; engine errors are mapped by one exhaustive switch.
 */
export const PolicyErrors = {
  builtInReadOnly: (name: string) =>
    FarpointError.forbidden(`${name} is a built-in recipe: it is read-only for every organization. Import a copy under another kind to change it.`),
  builtInName: (name: string) => FarpointError.conflict(`${name} is the name of a built-in recipe; use it as it is, or give your template another kind.`, 'kind'),
  regoTooLarge: (bytes: number, max: number, field: string) => FarpointError.badInput(`The Rego is ${bytes} bytes; at most ${max} are accepted (POLICY_MAX_REGO_BYTES).`, field),
  notCompiled: (version: number, status: string) =>
    new FarpointError(ErrorCode.CONFLICT, `Version ${version} is ${status}; only a COMPILED version can be published or evaluated.`, { field: 'id', compileStatus: status }),
  testsFailing: (version: number, failing: string[]) =>
    new FarpointError(ErrorCode.CONFLICT, `Version ${version} has failing Rego tests (${failing.join(', ')}); only a version whose tests pass can be published.`, {
      field: 'id',
      failing,
    }),
  deprecated: (version: number, field: string) =>
    FarpointError.badInput(`Version ${version} is DEPRECATED: a deprecated version cannot be used by a new or changed constraint. Use a newer version.`, field),
  alreadyDeprecated: (version: number) => FarpointError.conflict(`Version ${version} is DEPRECATED; it cannot be published again.`, 'id'),
  unknownKind: (kind: string) =>
    FarpointError.badInput(`No template of kind ${kind} exists in your organization or among the built-in recipes; import its ConstraintTemplate first.`, 'yaml'),
  noUsableVersion: (kind: string) => FarpointError.badInput(`Template ${kind} has no version that is not DEPRECATED; add one first.`, 'yaml'),
  compileFailed: (diagnostics: PolicyDiagnostic[]) => {
    const first = diagnostics[0];
    const where = first ? `${first.file}${first.line ? `:${first.line}` : ''}${first.column ? `:${first.column}` : ''}: ` : '';
    return new FarpointError(ErrorCode.POLICY_COMPILE_FAILED, `The Rego does not compile: ${where}${first?.message ?? 'opa refused it'}`, { diagnostics });
  },

  /** An engine refusal, where `field` names the argument the engine read. */
  fromEngine(error: PolicyEngineError, field: string): Error {
    const path = error.details.field;
    const at = (extra: Record<string, unknown> = {}) => ({ field, ...(path ? { path } : {}), ...extra });
    switch (error.code) {
      case PolicyEngineErrorCode.YAML_INVALID:
        return new FarpointError(ErrorCode.BAD_USER_INPUT, error.message, at({ line: error.details.line, column: error.details.column }));
      case PolicyEngineErrorCode.TEMPLATE_INVALID:
      case PolicyEngineErrorCode.TEMPLATE_NAME_MISMATCH:
      case PolicyEngineErrorCode.TEMPLATE_REGO_MISSING:
      case PolicyEngineErrorCode.CONSTRAINT_INVALID:
      case PolicyEngineErrorCode.NOT_A_KUBERNETES_OBJECT:
      case PolicyEngineErrorCode.NAMESPACE_OBJECT_REQUIRED:
      case PolicyEngineErrorCode.SUITE_INVALID:
        return new FarpointError(ErrorCode.BAD_USER_INPUT, error.message, at({ reason: error.code }));
      case PolicyEngineErrorCode.BUILTIN_UNSUPPORTED:
        return new FarpointError(ErrorCode.POLICY_COMPILE_FAILED, error.message, { builtins: error.details.builtins ?? [] });
      case PolicyEngineErrorCode.POLICY_EVALUATION_TIMEOUT:
        return new FarpointError(ErrorCode.POLICY_EVALUATION_TIMEOUT, error.message);
      case PolicyEngineErrorCode.POLICY_EVALUATION_FAILED:
        return new FarpointError(ErrorCode.POLICY_EVALUATION_FAILED, error.message);
      // A stored bundle that does not verify or load is our fault, never the caller's: passed on as it
      // is, so the formatter logs it and answers INTERNAL_SERVER_ERROR.
      case PolicyEngineErrorCode.BUNDLE_HASH_MISMATCH:
      case PolicyEngineErrorCode.BUNDLE_NOT_LOADED:
      case PolicyEngineErrorCode.BUNDLE_INVALID:
        return error;
    }
  },
} as const;
