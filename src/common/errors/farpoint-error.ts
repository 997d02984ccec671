/**
 * The stable error codes clients may branch on. Every user-facing failure carries one of them,
 * with a sentence a person understands; anything else is reported as INTERNAL_SERVER_ERROR.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  FORBIDDEN: 'FORBIDDEN',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  CONFLICT: 'CONFLICT',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  RATE_LIMITED: 'RATE_LIMITED',
  /** Rego that opa refuses (parse or compile errors, a missing violation rule, a builtin WebAssembly lacks); `diagnostics` say where. */
  POLICY_COMPILE_FAILED: 'POLICY_COMPILE_FAILED',
  /** A policy evaluation ran past its deadline and was ended. */
  POLICY_EVALUATION_TIMEOUT: 'POLICY_EVALUATION_TIMEOUT',
  /** A policy failed while it was evaluated (a Rego runtime error such as a conflict in a function). */
  POLICY_EVALUATION_FAILED: 'POLICY_EVALUATION_FAILED',
  /** An assignment would weaken a DENY assigned above it; `assignmentId` names that assignment. */
  POLICY_ASSIGNMENT_WEAKENS: 'POLICY_ASSIGNMENT_WEAKENS',
  /** The assignment has a staged rollout in progress: abort it or let it complete before changing the assignment; `rolloutId` names it. */
  STAGED_ROLLOUT_IN_PROGRESS: 'STAGED_ROLLOUT_IN_PROGRESS',
  /** The staged rollout is not in a state that allows this step (e.g. resume a COMPLETED one); `state` says which it is in. */
  STAGED_ROLLOUT_STATE: 'STAGED_ROLLOUT_STATE',
  /** Temporarily unable to serve (the database pool is saturated or unreachable): retry after Retry-After. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Retry-After (seconds) of a SERVICE_UNAVAILABLE answer, on GraphQL and on the agent protocol. */
export const SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

export class FarpointError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Machine-readable details, e.g. { field: 'name' }; never secrets or internals. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'FarpointError';
  }

  static badInput(message: string, field?: string): FarpointError {
    return new FarpointError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});
  }

  static notFound(kind: string, id: string): FarpointError {
    return new FarpointError(ErrorCode.NOT_FOUND, `${kind} ${id} does not exist or you cannot see it.`, { kind, id });
  }

  static conflict(message: string, field?: string): FarpointError {
    return new FarpointError(ErrorCode.CONFLICT, message, field ? { field } : {});
  }

  static forbidden(message: string): FarpointError {
    return new FarpointError(ErrorCode.FORBIDDEN, message);
  }

  static unauthenticated(message: string): FarpointError {
    return new FarpointError(ErrorCode.UNAUTHENTICATED, message);
  }

  /** Too many requests; HTTP answers carry the same wait as Retry-After. */
  static rateLimited(message: string, retryAfterSeconds: number): FarpointError {
    return new FarpointError(ErrorCode.RATE_LIMITED, message, { retryAfterSeconds });
  }

  static serviceUnavailable(): FarpointError {
    return new FarpointError(
      ErrorCode.SERVICE_UNAVAILABLE,
      `Farpoint cannot serve this right now: its database is busy or unreachable. Retry in ${SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS} s.`,
    );
  }
}
