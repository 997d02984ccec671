import { Prisma } from '../../generated/prisma/client';

/** True when a write failed on a unique constraint (Prisma P2002). */

const textOf = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

// Prisma codes of an unreachable, overloaded or lost database: P1001 cannot reach, P1002 reach timed
// out, P1008 operation timed out, P1017 server closed the connection, P2024 pool timeout, P2037 too many
// connections. (P2028 is any transaction API error; only its "unable to start" case is about capacity.)
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
// Driver adapter kinds of the same conditions.
const UNAVAILABLE_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
// node-postgres and socket failures that reach us unwrapped (pg-pool's own checkout timeout among them;
// a socket error of another backing service, Redis, is just as retryable).
const UNAVAILABLE_MESSAGES = [/^timeout exceeded when trying to connect$/, /^Connection terminated/, /is not queryable/, /Unable to start a transaction in the given time/];
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE']);
// SQLSTATE: 53300 too_many_connections, 57P01-57P03 shutdown / cannot connect now, class 08 connection exceptions.
const UNAVAILABLE_SQLSTATE = /^(53300|57P0[123]|08...)$/;

/**
 * True when a query failed because the database cannot take it right now (pool saturated, a
 * transaction could not start in time, connection refused or lost): a retryable SERVICE_UNAVAILABLE,
 * never the caller's mistake nor an internal error.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') {
    return false;
  }
  const { code, message, meta, cause, errorCode } = error as {
    code?: unknown;
    message?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown; code?: unknown } } };
    cause?: unknown;
    errorCode?: unknown;
  };
  if (error instanceof Prisma.PrismaClientKnownRequestError || error instanceof Prisma.PrismaClientInitializationError) {
    const prismaCode = error instanceof Prisma.PrismaClientKnownRequestError ? error.code : error.errorCode;
    if (prismaCode && UNAVAILABLE_PRISMA_CODES.has(prismaCode)) {
      return true;
    }
    const adapter = meta?.driverAdapterError?.cause;
    if (adapter && (UNAVAILABLE_ADAPTER_KINDS.has(String(adapter.kind)) || UNAVAILABLE_SQLSTATE.test(textOf(adapter.originalCode ?? adapter.code)))) {
      return true;
    }
  }
  // A DriverAdapterError can also escape unwrapped (a commit whose connection dropped): its cause is { kind }.
  const { kind } = error as { kind?: unknown };
  if (typeof kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(kind)) {
    return true;
  }
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) {
    return true;
  }
  if (typeof code === 'string' && (UNAVAILABLE_SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) {
    return true;
  }
  if (typeof errorCode === 'string' && UNAVAILABLE_PRISMA_CODES.has(errorCode)) {
    return true;
  }
  return cause !== undefined && cause !== error && isDatabaseUnavailable(cause);
}
