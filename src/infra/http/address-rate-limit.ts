import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { type RateLimitGateway } from '../redis/rate-limit.gateway';

export interface AddressLimit {
  /** Counter name; the client address is appended. */
  bucket: string;
  /** Requests a minute from one address. */
  limit: number;
  /** Sends the refusal in the route's own error shape (Retry-After is already set). */
  refuse(reply: FastifyReply, retryAfterSeconds: number): FastifyReply;
}

/**
 * Limits requests per client address in an onRequest hook: before the body is read and before any
 * credential is looked up, so a refused request costs one Redis INCR. `limitFor` picks the limit of
 * each route (undefined: none). Register before the application initialises (routes are added at
 * init). The client address is Fastify's request.ip, which honours TRUST_PROXY.
 */
export function addAddressRateLimits(fastify: FastifyInstance, limiter: RateLimitGateway, limitFor: (route: RouteOptions) => AddressLimit | undefined): void {
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const limit = limitFor(route);
    if (!limit) {
      return;
    }
    const hook = async (request: FastifyRequest, reply: FastifyReply) => {
      const decision = await limiter.hit(`${limit.bucket}:${request.ip}`, limit.limit, 60);
      if (decision.allowed) {
        return;
      }
      reply.header('retry-after', String(decision.retryAfterSeconds));
      return limit.refuse(reply, decision.retryAfterSeconds);
    };
    const existing = route.onRequest ? (Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]) : [];
    route.onRequest = [hook, ...existing];
  });
}
