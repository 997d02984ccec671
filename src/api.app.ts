import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiModule } from './app.module';
import { type AppConfig } from './infra/config/app-config';
import { registerGraphqlExplorer } from './graphql/explorer.routes';
import { NestPinoLogger } from './infra/logging/logger';
import { graphqlAddressLimit } from './graphql/graphql-address-limit';
import { addAddressRateLimits } from './infra/http/address-rate-limit';
import { MetricsService } from './infra/metrics/metrics.service';
import { RateLimitGateway } from './infra/redis/rate-limit.gateway';
import { agentAddressLimit } from './modules/agent-gateway/agent-address-limits';
import { configureAgentRoutes, serializeRequestForLog } from './modules/agent-gateway/agent-routes';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Builds the API application (used by main.ts and by e2e tests, which listen on an ephemeral port). */
export async function createApiApp(config: AppConfig, logger: Logger): Promise<NestFastifyApplication> {
  const trustProxy = config.TRUST_PROXY;
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Who the client is when the API sits behind a load balancer; false ignores X-Forwarded-For. A hop
    // count is Fastify's own rule (trust the n closest hops), spelled as a function for the adapter's type.
    trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy,
    // Fastify would take a requestIdHeader's value as it is and never call genReqId; genReqId reads the
    // header itself and accepts a caller's request id only when it is short and plain, so logs (and the
    // echoed header) cannot be forged.
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config, logger), adapter, { logger: new NestPinoLogger(logger), bufferLogs: false });
  const metrics = app.get(MetricsService);
  const fastify = app.getHttpAdapter().getInstance();
  // Before routes are added (at init): the agent protocol's body limit, error body and log redaction.
  configureAgentRoutes(fastify);
  // Every request's logger, matched route or not (a 404 for a mistyped manifests link still carries a
  // registration token), serializes the request with secrets taken out of its URL.
  fastify.setChildLoggerFactory((parent, bindings, options) => parent.child(bindings, { ...options, serializers: { ...options.serializers, req: serializeRequestForLog } }));
  // Also before init: per-address limits on the agent protocol and GraphQL, before bodies are read.
  addAddressRateLimits(fastify, app.get(RateLimitGateway), (route) => agentAddressLimit(route, config) ?? graphqlAddressLimit(route, config));
  if (config.GRAPHQL_EXPLORER) {
    registerGraphqlExplorer(fastify);
  }
  fastify.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });
  fastify.addHook('onResponse', async (request, reply) => {
    // Every label from a closed set: the matched route pattern, a known method, a status code.
    const route = request.routeOptions?.url ?? 'unmatched';
    const method = KNOWN_METHODS.has(request.method) ? request.method : 'other';
    const status = reply.statusCode >= 100 && reply.statusCode <= 599 ? String(reply.statusCode) : 'other';
    metrics.httpRequests.inc({ method, route, status });
    metrics.httpDuration.observe({ method, route }, reply.elapsedTime / 1000);
  });
  app.enableShutdownHooks();
  return app;
}
