import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import type { PolicyAssignment } from '../../generated/prisma/client';
import { RequireRole, Role } from '../auth/roles';
import { ConstraintModel } from '../constraints/constraint.model';
import { ConstraintService } from '../constraints/constraint.service';
import { AssignPolicyInput, EffectivePolicy, PolicyAssignmentConnection, PolicyAssignmentModel, PolicyAssignmentsArgs, UpdatePolicyAssignmentInput } from './assignment.model';
import { AssignmentService, scopeIdOf } from './assignment.service';

@Resolver(() => PolicyAssignmentModel)
export class AssignmentResolver {
  constructor(
    private readonly service: AssignmentService,
    private readonly constraints: ConstraintService,
  ) {}

  @Query(() => PolicyAssignmentConnection)
  @RequireRole(Role.VIEWER)
  policyAssignments(@CurrentPrincipal() principal: Principal, @Args() args: PolicyAssignmentsArgs) {
    return this.service.list(principal, args);
  }

  @Query(() => [EffectivePolicy], { description: 'The policies in force on a cluster (including those of the workspaces of its namespaces), each with where it came from.' })
  @RequireRole(Role.VIEWER)
  effectivePolicies(@CurrentPrincipal() principal: Principal, @Args('clusterId', { type: () => ID }) clusterId: string) {
    return this.service.effectiveForCluster(principal, clusterId);
  }

  @Query(() => [EffectivePolicy], { description: "The policies in force in a namespace: its cluster's chain and its workspace's, after namespace selectors and exclusions." })
  @RequireRole(Role.VIEWER)
  namespaceEffectivePolicies(@CurrentPrincipal() principal: Principal, @Args('namespaceId', { type: () => ID }) namespaceId: string) {
    return this.service.effectiveForNamespace(principal, namespaceId);
  }

  @Mutation(() => PolicyAssignmentModel, {
    description: 'Refused with POLICY_ASSIGNMENT_WEAKENS where a DENY of the same constraint above covers a WARN or DRYRUN; a DEPRECATED template version cannot be assigned.',
  })
  @RequireRole(Role.EDITOR)
  assignPolicy(@CurrentPrincipal() principal: Principal, @Args('input') input: AssignPolicyInput) {
    return this.service.assign(principal, input);
  }

  @Mutation(() => PolicyAssignmentModel)
  @RequireRole(Role.EDITOR)
  updatePolicyAssignment(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string, @Args('input') input: UpdatePolicyAssignmentInput) {
    return this.service.update(principal, id, input);
  }

  @Mutation(() => PolicyAssignmentModel)
  @RequireRole(Role.EDITOR)
  unassignPolicy(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
    @Args('urgent', { type: () => Boolean, nullable: true, description: "Urgent: clusters take it at once, outside their site's maintenance windows." }) urgent?: boolean,
  ) {
    return this.service.unassign(principal, id, urgent ?? false);
  }

  @ResolveField(() => ID, { description: "The organization's, site's, cluster group's, cluster's or workspace's id." })
  scopeId(@Parent() assignment: PolicyAssignment): string {
    return scopeIdOf(assignment);
  }

  @ResolveField(() => ConstraintModel)
  constraint(@Parent() assignment: PolicyAssignment, @CurrentPrincipal() principal: Principal) {
    return this.constraints.get(principal, assignment.constraintId);
  }
}
