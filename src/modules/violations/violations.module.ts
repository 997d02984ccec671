import { Module } from '@nestjs/common';
import { AssignmentsModule } from '../assignments/assignments.module';
import { ClusterStatusModule } from '../cluster-status/cluster-status.module';
import { ViolationIngestionService } from './violation-ingestion.service';
import { ViolationPurgeJob } from './violation-purge.job';
import { ViolationRepository } from './violation.repository';
import { AssignmentImpactResolver, ViolationResolver } from './violation.resolver';
import { ViolationService } from './violation.service';

/** Policy violations: ingestion of the agents' audits and admission summaries, insights, impact, the purge sweep. */
@Module({
  imports: [AssignmentsModule, ClusterStatusModule],
  providers: [ViolationRepository, ViolationIngestionService, ViolationService, ViolationResolver, AssignmentImpactResolver, ViolationPurgeJob],
  exports: [ViolationIngestionService],
})
export class ViolationsModule {}
