import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable } from '../infra/database/prisma-errors';
import { ErrorCode, FarpointError, SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../common/errors/farpoint-error';

// Codes graphql-js and Apollo raise for malformed requests; they describe the caller's mistake and
// carry no internals, so they pass through unchanged.
const CLIENT_CODES = new Set([
  'QUERY_TOO_COMPLEX',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'PERSISTED_QUERY_NOT_FOUND',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
]);

/**
 * Turns whatever a resolver threw into a GraphQL error with a stable code. Unknown errors are logged
 * by the caller and replaced by a generic sentence: no stack traces or SQL ever reach a client. A
 * saturated or unreachable database is SERVICE_UNAVAILABLE (retryable), reported through onUnavailable.
 */
export function formatGraphqlError(
  formatted: GraphQLFormattedError,
  error: unknown,
  onInternal: (error: unknown) => void,
  onUnavailable: (error: unknown) => void = onInternal,
): GraphQLFormattedError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
  if (!(original instanceof FarpointError) && isDatabaseUnavailable(original)) {
    onUnavailable(original);
    const unavailable = FarpointError.serviceUnavailable();
    return { ...base, message: unavailable.message, extensions: { code: unavailable.code } };
  }
  if (original instanceof FarpointError) {
    return { ...base, message: original.message, extensions: { code: original.code, ...original.details } };
  }
  const code = formatted.extensions?.code;
  if (original instanceof GraphQLError && typeof code === 'string' && CLIENT_CODES.has(code)) {
    return { ...base, extensions: { code } };
  }
  // Errors raised by graphql-js itself during validation/coercion have no originalError.
  if (original instanceof GraphQLError && !original.originalError && code === undefined) {
    return { ...base, extensions: { code: ErrorCode.BAD_USER_INPUT } };
  }
  onInternal(original);
  return {
    message: 'Something went wrong on our side. It has been logged; please try again.',
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}

/**
 * Answers an operation that failed with SERVICE_UNAVAILABLE with HTTP 503 and Retry-After, so clients
 * and proxies retry it like any other temporarily unavailable service.
 */
export function serviceUnavailablePlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : response.body.initialResult.errors;
          if (!errors?.some((error) => error.extensions?.code === ErrorCode.SERVICE_UNAVAILABLE)) {
            return;
          }
          response.http.status = 503;
          response.http.headers.set('retry-after', String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS));
        },
      };
    },
  };
}
