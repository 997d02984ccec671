import { Module } from '@nestjs/common';
import { AttachModule } from '../attach/attach.module';
import { ClusterInventoryModule } from '../cluster-inventory/cluster-inventory.module';
import { ClustersModule } from '../clusters/clusters.module';
import { DesiredStateModule } from '../desired-state/desired-state.module';
import { ViolationsModule } from '../violations/violations.module';
import { AgentClusterRepository } from './agent-cluster.repository';
import { AgentCredentialGuard, ExpiredAgentCredentialGuard } from './agent-credential.guard';
import { AgentCredentialRenewalService } from './agent-credential-renewal.service';
import { AgentCredentialRepository } from './agent-credential.repository';
import { AgentCredentialService } from './agent-credential.service';
import { AgentDetachService } from './agent-detach.service';
import { AgentGatewayController } from './agent-gateway.controller';
import { AgentRateLimitGuard } from './agent-rate-limit.guard';
import { AgentRegistrationService } from './agent-registration.service';
import { AgentReportsService } from './agent-reports.service';

/**
 * The API side of the agent protocol: install manifests, registration, credential rotation and
 * report ingestion under /agent/v1. The API process also needs configureAgentRoutes (agent-routes.ts)
 * on its Fastify instance.
 */
@Module({
  imports: [AttachModule, ClustersModule, ClusterInventoryModule, DesiredStateModule, ViolationsModule],
  controllers: [AgentGatewayController],
  providers: [
    AgentCredentialRepository,
    AgentClusterRepository,
    AgentCredentialService,
    AgentRegistrationService,
    AgentReportsService,
    AgentDetachService,
    AgentCredentialRenewalService,
    AgentCredentialGuard,
    ExpiredAgentCredentialGuard,
    AgentRateLimitGuard,
  ],
  exports: [AgentRegistrationService, AgentCredentialService],
})
export class AgentGatewayModule {}
