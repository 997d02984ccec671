import { Module } from '@nestjs/common';
import { Clock } from '../../common/time/clock';
import { GenerationsModule } from '../desired-state/generations.module';
import { StagedRolloutAdvanceJob } from './staged-rollout-advance.job';
import { StagedRolloutRepository } from './staged-rollout.repository';
import { AssignmentRolloutResolver, StagedRolloutResolver } from './staged-rollout.resolver';
import { StagedRolloutService } from './staged-rollout.service';

/**
 * Staged rollouts of assignment changes: waves, the holds the desired state applies to unreleased
 * clusters, the advance job, pause/resume/abort. The assignments module starts them; the desired state reads the holds.
 */
@Module({
  imports: [GenerationsModule],
  providers: [Clock, StagedRolloutRepository, StagedRolloutService, StagedRolloutResolver, AssignmentRolloutResolver, StagedRolloutAdvanceJob],
  exports: [StagedRolloutService],
})
export class StagedRolloutsModule {}
