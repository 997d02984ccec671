import { Module } from '@nestjs/common';
import { ConstraintsModule } from '../constraints/constraints.module';
import { GenerationsModule } from '../desired-state/generations.module';
import { PolicyTemplatesModule } from '../policy-templates/policy-templates.module';
import { StagedRolloutsModule } from '../staged-rollouts/staged-rollouts.module';
import { AssignmentRepository } from './assignment.repository';
import { AssignmentResolver } from './assignment.resolver';
import { AssignmentService } from './assignment.service';

@Module({
  imports: [ConstraintsModule, PolicyTemplatesModule, GenerationsModule, StagedRolloutsModule],
  providers: [AssignmentRepository, AssignmentService, AssignmentResolver],
  exports: [AssignmentService, AssignmentRepository],
})
export class AssignmentsModule {}
