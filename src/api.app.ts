import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiModule } from './app.module';
import { AppConfig } from './infra/config/app-config';
import { registerGraphqlExplorer } from './graphql/explorer.routes';
import { NestPinoLogger } from './infra/logging/logger';
import { MetricsService } from './infra/metrics/metrics.service';
import { configureAgentRoutes, serializeRequestForLog } from './modules/agent-gateway/agent-routes';

/** Builds the API application (used by main.ts and by e2e tests, which listen on an ephemeral port). */
export async function createApiApp(config: AppConfig, logger: Logger): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
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
  if (config.GRAPHQL_EXPLORER) registerGraphqlExplorer(fastify);
  fastify.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.enableShutdownHooks();
  return app;
}
