import { Module } from '@nestjs/common';
import { Clock } from '../../common/time/clock';
import { AssignmentsModule } from '../assignments/assignments.module';
import { StagedRolloutsModule } from '../staged-rollouts/staged-rollouts.module';
import { DesiredStateRepository } from './desired-state.repository';
import { DesiredStateService } from './desired-state.service';
import { GenerationsModule } from './generations.module';
import { RolloutRepository } from './rollout.repository';
import { RolloutResolver } from './rollout.resolver';
import { RolloutService } from './rollout.service';

/** Desired state per cluster: what its agent pulls (the agent gateway serves it) and the rollout of assignments. */
@Module({
  imports: [AssignmentsModule, GenerationsModule, StagedRolloutsModule],
  providers: [Clock, DesiredStateRepository, DesiredStateService, RolloutRepository, RolloutService, RolloutResolver],
  exports: [DesiredStateService],
})
export class DesiredStateModule {}
