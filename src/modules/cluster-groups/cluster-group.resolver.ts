import { Args, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Ctx, CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal, RequestContext } from '../../common/graphql/request-context';
import type { ClusterGroup } from '../../generated/prisma/client';
import { RequireRole, Role } from '../auth/roles';
import { ClusterGroupConnection, ClusterGroupModel, ClusterGroupsArgs, CreateClusterGroupInput, UpdateClusterGroupInput } from './cluster-group.model';
import { ClusterGroupService } from './cluster-group.service';

@Resolver(() => ClusterGroupModel)
export class ClusterGroupResolver {
  constructor(private readonly service: ClusterGroupService) {}

  @Query(() => ClusterGroupConnection)
  @RequireRole(Role.VIEWER)
  clusterGroups(@CurrentPrincipal() principal: Principal, @Args() args: ClusterGroupsArgs) {
    return this.service.list(principal, args);
  }

  @Query(() => ClusterGroupModel)
  @RequireRole(Role.VIEWER)
  clusterGroup(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.get(principal, id);
  }

  @Mutation(() => ClusterGroupModel)
  @RequireRole(Role.EDITOR)
  createClusterGroup(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateClusterGroupInput) {
    return this.service.create(principal, input);
  }

  @Mutation(() => ClusterGroupModel)
  @RequireRole(Role.EDITOR)
  updateClusterGroup(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string, @Args('input') input: UpdateClusterGroupInput) {
    return this.service.update(principal, id, input);
  }

  @Mutation(() => ClusterGroupModel, { description: 'Deletes an empty group; refused with CONFLICT while it has clusters.' })
  @RequireRole(Role.EDITOR)
  deleteClusterGroup(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.delete(principal, id);
  }

  @ResolveField(() => Int)
  clusterCount(@Parent() group: ClusterGroup, @Ctx() ctx: RequestContext) {
    return ctx.loaders.clusterCountByGroup.load(group.id);
  }
}
