import { Args, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import { RequireRole, Role } from '../auth/roles';
import { PolicyAssignmentRolloutArgs, PolicyAssignmentRolloutModel } from './rollout.model';
import { RolloutService } from './rollout.service';

@Resolver(() => PolicyAssignmentRolloutModel)
export class RolloutResolver {
  constructor(private readonly service: RolloutService) {}

  @Query(() => PolicyAssignmentRolloutModel, {
    description: 'Every cluster the assignment reaches (its scope and cluster selector), IN_SYNC, PENDING, FAILED with the reason or OFFLINE, with counts per state.',
  })
  @RequireRole(Role.VIEWER)
  policyAssignmentRollout(@CurrentPrincipal() principal: Principal, @Args() args: PolicyAssignmentRolloutArgs) {
    return this.service.rollout(principal, args);
  }
}
