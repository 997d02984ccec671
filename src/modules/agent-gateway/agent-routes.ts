import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { AGENT_API_BASE_PATH, AgentPaths, AgentProtocolLimits } from '../../protocol';
import { sendAgentError, toAgentProtocolError } from './agent-protocol.filter';

const MANIFESTS_PREFIX = `${AGENT_API_BASE_PATH}/manifests/`;

// Any Farpoint secret (API token, registration token, agent credential) wherever it appears in a URL.
const SECRET_IN_URL = /fp[trc]_[A-Za-z0-9_-]+/g;

/**
 * The URL as logs may show it: the token of a manifests path replaced, and any Farpoint secret anywhere
 * else in it (a mistyped path, a query string) too, so a request that matched no route leaks nothing.
 */
export function redactAgentUrl(url: string): string {
  // Redacted in the path whether or not a route matched: /agent/v1/manifests/<token> (no .yaml) is a 404.
  if (!url.startsWith(MANIFESTS_PREFIX)) {
    return url.replace(SECRET_IN_URL, '[redacted]');
  }
  const query = url.indexOf('?');
  const path = query >= 0 ? url.slice(0, query) : url;
  return `${MANIFESTS_PREFIX}[redacted]${path.endsWith('.yaml') ? '.yaml' : ''}${query >= 0 ? '?[redacted]' : ''}`;
}

/** Fastify's own request serializer, with secrets taken out of the URL; for every request's log lines. */
export function serializeRequestForLog(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactAgentUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket ? request.socket.remotePort : undefined,
  };
}

/** Errors Fastify raises before the Nest handler runs (body limit, JSON parsing, content type). */
function agentErrorHandler(this: FastifyInstance, error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const mapped = toAgentProtocolError(error, request.routeOptions.bodyLimit);
  if (mapped.unexpected) {
    request.log.error({ err: error }, 'agent request failed before its handler');
  }
  void sendAgentError(reply, mapped.error);
}

/**
 * Route options of the agent protocol that NestJS decorators cannot set. Register on the Fastify
 * instance before the application initialises (routes are added at init):
 * - bodyLimit: the protocol's limits, not the API's BODY_LIMIT_BYTES: reports may carry an inventory
 *   snapshot (maxBodyBytes); everything else, anonymous register included, is small (maxSmallBodyBytes);
 * - errorHandler: Fastify's own refusals (413, bad JSON, wrong content type) in the protocol's error body.
 * Log redaction is not per route: createApiApp gives every request logger serializeRequestForLog, so
 * that requests no route matched (404s) are redacted as well.
 */
export function configureAgentRoutes(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith(`${AGENT_API_BASE_PATH}/`)) {
      return;
    }
    route.bodyLimit = route.url === AgentPaths.reports ? AgentProtocolLimits.maxBodyBytes : AgentProtocolLimits.maxSmallBodyBytes;
    route.errorHandler = agentErrorHandler;
  });
}
