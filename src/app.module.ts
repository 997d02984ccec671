import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, DiscoveryModule } from '@nestjs/core';
import { FarpointErrorFilter } from './common/errors/farpoint-error.filter';
import { GraphQLModule } from '@nestjs/graphql';
import type { Logger } from 'pino';
import { GraphqlOptionsFactory } from './graphql/graphql-options.factory';
import { GraphqlSupportModule } from './graphql/graphql-support.module';
import { SubscriptionServer } from './graphql/subscription-server';
import { AppConfig } from './infra/config/app-config';
import { ConfigModule } from './infra/config/config.module';
import { DatabaseModule } from './infra/database/database.module';
import { ROOT_LOGGER } from './infra/logging/logger';
import { MetricsServer } from './infra/metrics/metrics.server';
import { MetricsService } from './infra/metrics/metrics.service';
import { QueueGateway } from './infra/queue/queue.gateway';
import { RateLimitGateway } from './infra/redis/rate-limit.gateway';
import { WorkerHost } from './infra/queue/worker.host';
import { AgentGatewayModule } from './modules/agent-gateway/agent-gateway.module';
import { AttachModule } from './modules/attach/attach.module';
import { AuthModule } from './modules/auth/auth.module';
import { ClusterGroupsModule } from './modules/cluster-groups/cluster-groups.module';
import { ClusterInventoryModule } from './modules/cluster-inventory/cluster-inventory.module';
import { ClustersModule } from './modules/clusters/clusters.module';
import { ClusterStatusModule } from './modules/cluster-status/cluster-status.module';
import { DesiredStateModule } from './modules/desired-state/desired-state.module';
import { EventsModule } from './modules/events/events.module';
import { ProbesController } from './modules/probes/probes.controller';
import { NamespacesModule } from './modules/namespaces/namespaces.module';
import { OrganizationsModule } from './modules/organizations/organizations.module';
import { ConstraintsModule } from './modules/constraints/constraints.module';
import { AssignmentsModule } from './modules/assignments/assignments.module';
import { PolicyTemplatesModule } from './modules/policy-templates/policy-templates.module';
import { StagedRolloutsModule } from './modules/staged-rollouts/staged-rollouts.module';
import { SitesModule } from './modules/sites/sites.module';
import { ViolationsModule } from './modules/violations/violations.module';
import { WorkspacesModule } from './modules/workspaces/workspaces.module';

/** Capabilities shared by the API and the worker process. */
@Module({})
class CoreModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      global: true,
      imports: [ConfigModule.forRoot(config), DatabaseModule, EventsModule],
      providers: [{ provide: ROOT_LOGGER, useValue: logger }, QueueGateway, MetricsService, RateLimitGateway],
      exports: [ROOT_LOGGER, QueueGateway, MetricsService, RateLimitGateway],
    };
  }
}

const capabilities = [
  AuthModule,
  OrganizationsModule,
  SitesModule,
  ClusterGroupsModule,
  ClustersModule,
  ClusterStatusModule,
  ClusterInventoryModule,
  WorkspacesModule,
  NamespacesModule,
  AttachModule,
  AgentGatewayModule,
  PolicyTemplatesModule,
  ConstraintsModule,
  AssignmentsModule,
  StagedRolloutsModule,
  DesiredStateModule,
  ViolationsModule,
];

/** The GraphQL API process. */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        CoreModule.forRoot(config, logger),
        ...capabilities,
        GraphqlSupportModule,
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          imports: [GraphqlSupportModule],
          useClass: GraphqlOptionsFactory,
        }),
      ],
      controllers: [ProbesController],
      providers: [{ provide: APP_FILTER, useClass: FarpointErrorFilter }, MetricsServer, SubscriptionServer],
    };
  }
}

/** The worker process: the same capabilities, running BullMQ handlers instead of serving GraphQL. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: WorkerModule,
      imports: [CoreModule.forRoot(config, logger), DiscoveryModule, ...capabilities],
      providers: [WorkerHost],
    };
  }
}
