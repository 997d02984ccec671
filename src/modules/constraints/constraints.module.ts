import { Module } from '@nestjs/common';
import { GenerationsModule } from '../desired-state/generations.module';
import { PolicyTemplatesModule } from '../policy-templates/policy-templates.module';
import { ConstraintRepository } from './constraint.repository';
import { ConstraintResolver } from './constraint.resolver';
import { ConstraintService } from './constraint.service';

@Module({
  imports: [PolicyTemplatesModule, GenerationsModule],
  providers: [ConstraintRepository, ConstraintService, ConstraintResolver],
  exports: [ConstraintRepository, ConstraintService],
})
export class ConstraintsModule {}
