import { ApolloDriverConfig } from '@nestjs/apollo';
import { Inject, Injectable } from '@nestjs/common';
import { GqlOptionsFactory, GraphQLSchemaHost } from '@nestjs/graphql';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { formatGraphqlError, serviceUnavailablePlugin } from './graphql-error-formatter';
import { queryLimitsPlugin } from '../common/graphql/query-limits.plugin';
import { APP_CONFIG, AppConfig } from '../infra/config/app-config';
import { ROOT_LOGGER } from '../infra/logging/logger';
import { graphqlMetricsPlugin } from '../infra/metrics/graphql-metrics.plugin';
import { MetricsService } from '../infra/metrics/metrics.service';
import { retryAfterPlugin } from '../modules/auth/graphql-rate-limit';
import { InventoryLoaderFactory } from './inventory.loaders';
import { createRequestContext } from './request-context.factory';

/** Builds the Apollo configuration: per-request context and loaders, limits, error mapping, metrics. */
@Injectable()
export class GraphqlOptionsFactory implements GqlOptionsFactory<ApolloDriverConfig> {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    private readonly metrics: MetricsService,
    private readonly loaders: InventoryLoaderFactory,
    private readonly schemaHost: GraphQLSchemaHost,
  ) {}

  createGqlOptions(): ApolloDriverConfig {
    const limits = { maxDepth: this.config.GRAPHQL_MAX_DEPTH, maxCost: this.config.GRAPHQL_MAX_COST };
    return {
      path: '/graphql',
      autoSchemaFile: true,
      sortSchema: true,
      introspection: true,
      playground: false,
      includeStacktraceInErrorResponses: false,
      context: (request: FastifyRequest) => createRequestContext(this.loaders, String(request.id), request.headers.authorization),
      // No `subscriptions`: graphql-ws is served by SubscriptionServer, which ties each connection to its token.
      formatError: (formatted, error) =>
        formatGraphqlError(formatted, error, (internal) => this.logger.error({ err: internal }, 'unexpected error in a GraphQL operation'), this.logUnavailable),
      plugins: [
        queryLimitsPlugin(limits, () => this.schemaHost.schema),
        graphqlMetricsPlugin(this.metrics, () => this.schemaHost.schema),
        retryAfterPlugin(),
        serviceUnavailablePlugin(),
      ],
      // Nest would reset every executed operation's status to 200, hiding SERVICE_UNAVAILABLE's 503.
      preserveHttpStatusForExecutionErrors: false,
    };
  }

  private readonly logUnavailable = (error: unknown): void =>
    this.logger.warn(`GraphQL operation answered SERVICE_UNAVAILABLE: ${error instanceof Error ? error.message : String(error)}`);
}
