import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode, FarpointError } from '../../common/errors/farpoint-error';
import { type Principal } from '../../common/graphql/request-context';
import { type RateLimitGateway } from '../../infra/redis/rate-limit.gateway';

/** Counts one GraphQL request (or subscription) of a token; refuses with RATE_LIMITED beyond `limit` a minute. */
export async function limitToken(limiter: RateLimitGateway, principal: Principal, limit: number): Promise<void> {
  const decision = await limiter.hit(`api-token:${principal.tokenId}`, limit, 60);
  if (decision.allowed) {
    return;
  }
  throw FarpointError.rateLimited(
    `Too many requests: at most ${limit} a minute are accepted from one API token. Retry after ${decision.retryAfterSeconds} s.`,
    decision.retryAfterSeconds,
  );
}

/**
 * Answers a RATE_LIMITED operation with HTTP 429 and its wait as Retry-After, as the per-address
 * limit does, so HTTP clients and proxies back off without reading the body.
 */
export function retryAfterPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : response.body.initialResult.errors;
          const limited = errors?.find((error) => error.extensions?.code === ErrorCode.RATE_LIMITED && typeof error.extensions.retryAfterSeconds === 'number');
          if (!limited) {
            return;
          }
          response.http.status = 429;
          response.http.headers.set('retry-after', String(limited.extensions!.retryAfterSeconds));
        },
      };
    },
  };
}
