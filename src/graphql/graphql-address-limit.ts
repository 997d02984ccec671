import type { RouteOptions } from 'fastify';
import { ErrorCode } from '../common/errors/farpoint-error';
import { type AppConfig } from '../infra/config/app-config';
import { type AddressLimit } from '../infra/http/address-rate-limit';

/**
 * The per-address limit of /graphql (addAddressRateLimits): ADDRESS_RATE_LIMIT_PER_MINUTE, shared with
 * the credentialed agent endpoints, refused with HTTP 429 and a GraphQL error body (RATE_LIMITED).
 * The per-token limit follows authentication (GraphqlAuthGuard).
 */
export function graphqlAddressLimit(route: RouteOptions, config: AppConfig): AddressLimit | undefined {
  if (route.url !== '/graphql') {
    return undefined;
  }
  const limit = config.ADDRESS_RATE_LIMIT_PER_MINUTE;
  return {
    bucket: 'address',
    limit,
    refuse: (reply, retryAfterSeconds) =>
      reply
        .status(429)
        .header('content-type', 'application/json; charset=utf-8')
        .send({
          errors: [
            {
              message: `Too many requests: at most ${limit} a minute are accepted from one address. Retry after ${retryAfterSeconds} s.`,
              extensions: { code: ErrorCode.RATE_LIMITED, retryAfterSeconds },
            },
          ],
        }),
  };
}
