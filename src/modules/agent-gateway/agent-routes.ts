import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { AGENT_API_BASE_PATH, AgentProtocolLimits } from '../../protocol';
import { sendAgentError, toAgentProtocolError } from './agent-protocol.filter';

const MANIFESTS_PREFIX = `${AGENT_API_BASE_PATH}/manifests/`;

/** The URL with the registration token in a manifests path replaced, for logs. */
export function redactAgentUrl(url: string): string {
  if (!url.startsWith(MANIFESTS_PREFIX)) return url;
  const query = url.indexOf('?');
  const path = query >= 0 ? url.slice(0, query) : url;
  return `${MANIFESTS_PREFIX}[redacted]${path.endsWith('.yaml') ? '.yaml' : ''}${query >= 0 ? '?[redacted]' : ''}`;
}

/** Fastify's own request serializer, with the token taken out of the URL. */
function serializeAgentRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactAgentUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket ? request.socket.remotePort : undefined,
  };
}

/** Errors Fastify raises before the Nest handler runs (body limit, JSON parsing, content type). */
function agentErrorHandler(this: FastifyInstance, error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const mapped = toAgentProtocolError(error);
  if (mapped.unexpected) request.log.error({ err: error }, 'agent request failed before its handler');
  return sendAgentError(reply, mapped.error);
}

/**
 * Route options of the agent protocol that NestJS decorators cannot set. Register on the Fastify
 * instance before the application initialises (routes are added at init):
 * - bodyLimit: the protocol's AgentProtocolLimits.maxBodyBytes, not the API's BODY_LIMIT_BYTES;
 * - errorHandler: Fastify's own refusals (413, bad JSON, wrong content type) in the protocol's error body;
 * - logSerializers: request logs never show a registration token from a manifests URL.
 */
export function configureAgentRoutes(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith(`${AGENT_API_BASE_PATH}/`)) return;
    route.bodyLimit = AgentProtocolLimits.maxBodyBytes;
    route.errorHandler = agentErrorHandler;
    route.logSerializers = { ...route.logSerializers, req: serializeAgentRequest };
  });
}
