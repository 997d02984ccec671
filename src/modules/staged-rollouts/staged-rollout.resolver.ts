import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import type { PolicyAssignment } from '../../generated/prisma/client';
import { PolicyAssignmentModel } from '../assignments/assignment.model';
import { RequireRole, Role } from '../auth/roles';
import { StagedRolloutConnection, StagedRolloutModel, StagedRolloutsArgs } from './staged-rollout.model';
import { StagedRolloutService } from './staged-rollout.service';

@Resolver(() => StagedRolloutModel)
export class StagedRolloutResolver {
  constructor(private readonly service: StagedRolloutService) {}

  @Query(() => StagedRolloutConnection, { description: 'Staged rollouts of assignment changes, newest first.' })
  @RequireRole(Role.VIEWER)
  stagedRollouts(@CurrentPrincipal() principal: Principal, @Args() args: StagedRolloutsArgs) {
    return this.service.list(principal, args);
  }

  @Query(() => StagedRolloutModel)
  @RequireRole(Role.VIEWER)
  stagedRollout(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.get(principal, id);
  }

  @Mutation(() => StagedRolloutModel, { description: 'RUNNING or HALTED → PAUSED: no further wave is released until resumed; released waves keep the change.' })
  @RequireRole(Role.EDITOR)
  async pauseStagedRollout(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    await this.service.pause(principal, id);
    return this.service.get(principal, id);
  }

  @Mutation(() => StagedRolloutModel, { description: 'PAUSED or HALTED → RUNNING; admission refusals are counted afresh from now.' })
  @RequireRole(Role.EDITOR)
  async resumeStagedRollout(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    await this.service.resume(principal, id);
    return this.service.get(principal, id);
  }

  @Mutation(() => StagedRolloutModel, {
    description: 'Puts the assignment back as it was before the rollout (a new assignment is removed) on every cluster, and ends the rollout.',
  })
  @RequireRole(Role.EDITOR)
  async abortStagedRollout(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
    @Args('urgent', { type: () => Boolean, nullable: true, description: "Default true: clusters go back at once, outside their sites' maintenance windows." }) urgent?: boolean,
    @Args('reason', { type: () => String, nullable: true }) reason?: string,
  ) {
    await this.service.abort(principal, id, urgent ?? true, reason?.slice(0, 500));
    return this.service.get(principal, id);
  }
}

@Resolver(() => PolicyAssignmentModel)
export class AssignmentRolloutResolver {
  constructor(private readonly service: StagedRolloutService) {}

  @ResolveField(() => StagedRolloutModel, {
    nullable: true,
    description: 'The staged rollout in progress (RUNNING, PAUSED or HALTED); the assignment cannot be changed meanwhile.',
  })
  activeRollout(@Parent() assignment: PolicyAssignment, @CurrentPrincipal() principal: Principal) {
    return this.service.active(principal, assignment);
  }
}
