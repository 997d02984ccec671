import { ApolloDriverConfig } from '@nestjs/apollo';
import { Inject, Injectable } from '@nestjs/common';
import { GqlOptionsFactory, GraphQLSchemaHost } from '@nestjs/graphql';
import type { FastifyRequest } from 'fastify';
import { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { formatGraphqlError, serviceUnavailablePlugin } from '../common/errors/graphql-error-formatter';
import { queryLimitsPlugin, subscriptionLimitErrors } from '../common/graphql/query-limits.plugin';
import { RequestContext } from '../common/graphql/request-context';
import { APP_CONFIG, AppConfig } from '../infra/config/app-config';
import { ROOT_LOGGER } from '../infra/logging/logger';
import { graphqlMetricsPlugin } from '../infra/metrics/graphql-metrics.plugin';
import { MetricsService } from '../infra/metrics/metrics.service';
import { InventoryLoaderFactory } from './inventory.loaders';

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
      context: (request: FastifyRequest | { connectionParams?: Record<string, unknown>; extra?: unknown }) => this.context(request),
      subscriptions: {
        // Subscriptions run outside Apollo, so its formatError does not see their errors: give them the
        // same stable codes and the same scrubbing of internals here.
        'graphql-ws': {
          path: '/graphql',
          // Apollo's plugins never see WebSocket operations: apply the depth and cost limits here too.
          onSubscribe: (_ctx: unknown, _id: string, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }) =>
            subscriptionLimitErrors(this.schemaHost.schema, payload, limits),
          onNext: (_ctx, _id, _payload, _args, result) => (result.errors?.length ? { ...result, errors: result.errors.map((error) => this.formatError(error)) } : undefined),
          ...({ onError: (_ctx: unknown, _id: string, _payload: unknown, errors: readonly GraphQLError[]) => errors.map((error) => this.formatError(error)) } as object),
        },
      },
      formatError: (formatted, error) => formatGraphqlError(formatted, error, (internal) => this.logger.error({ err: internal }, 'unexpected error in a GraphQL operation'), this.logUnavailable),
      plugins: [
        queryLimitsPlugin(limits, () => this.schemaHost.schema),
        graphqlMetricsPlugin(this.metrics),
        serviceUnavailablePlugin(),
      ],
      // Nest would reset every executed operation's status to 200, hiding SERVICE_UNAVAILABLE's 503.
      preserveHttpStatusForExecutionErrors: false,
    };
  }

  private readonly logUnavailable = (error: unknown): void => this.logger.warn(`GraphQL operation answered SERVICE_UNAVAILABLE: ${error instanceof Error ? error.message : String(error)}`);

  private formatError(error: GraphQLError): GraphQLFormattedError {
    return formatGraphqlError(error.toJSON(), error, (internal) => this.logger.error({ err: internal }, 'unexpected error in a GraphQL subscription'));
  }

  private context(request: FastifyRequest | { connectionParams?: Record<string, unknown> }): RequestContext {
    const isHttp = 'headers' in request;
    const authorization = isHttp ? request.headers.authorization : (request.connectionParams?.authorization as string | undefined) ?? (request.connectionParams?.Authorization as string | undefined);
    const auth: RequestContext['auth'] = {};
    return {
      requestId: isHttp ? String(request.id) : randomUUID(),
      authorization,
      auth,
      loaders: this.loaders.create(() => {
        if (!auth.principal) throw new Error('loader used before authentication');
        return auth.principal.organizationId;
      }),
    };
  }
}
