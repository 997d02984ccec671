import { Module } from '@nestjs/common';
import { AssignmentsModule } from '../assignments/assignments.module';
import { DesiredStateRepository } from './desired-state.repository';
import { DesiredStateService } from './desired-state.service';
import { GenerationsModule } from './generations.module';

/** Desired state per cluster: what its agent pulls (the agent gateway serves it) and the rollout of assignments. */
@Module({
  imports: [AssignmentsModule, GenerationsModule],
  providers: [DesiredStateRepository, DesiredStateService],
  exports: [DesiredStateService],
})
export class DesiredStateModule {}
