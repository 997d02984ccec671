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
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

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
}
