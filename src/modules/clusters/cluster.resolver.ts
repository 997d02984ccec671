import { Args, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Ctx, CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal, RequestContext } from '../../common/graphql/request-context';
import type { Cluster } from '../../generated/prisma/client';
import { RequireRole, Role } from '../auth/roles';
import { ClusterGroupModel } from '../cluster-groups/cluster-group.model';
import { SiteModel } from '../sites/site.model';
import { ClusterCapacity, ClusterConnection, ClusterModel, ClustersArgs, CreateClusterInput, MoveClusterInput, UpdateClusterInput } from './cluster.model';
import { ClusterService } from './cluster.service';

@Resolver(() => ClusterModel)
export class ClusterResolver {
  constructor(private readonly service: ClusterService) {}

  @Query(() => ClusterConnection)
  @RequireRole(Role.VIEWER)
  clusters(@CurrentPrincipal() principal: Principal, @Args() args: ClustersArgs) {
    return this.service.list(principal, args);
  }

  @Query(() => ClusterModel)
  @RequireRole(Role.VIEWER)
  cluster(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.get(principal, id);
  }

  @Mutation(() => ClusterModel, { description: 'Registers a cluster record without attaching an agent (use attachCluster to attach).' })
  @RequireRole(Role.EDITOR)
  createCluster(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateClusterInput) {
    return this.service.create(principal, input);
  }

  @Mutation(() => ClusterModel)
  @RequireRole(Role.EDITOR)
  updateCluster(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string, @Args('input') input: UpdateClusterInput) {
    return this.service.update(principal, id, input);
  }

  @Mutation(() => ClusterModel, { description: 'Moves a cluster to another group and/or site.' })
  @RequireRole(Role.EDITOR)
  moveCluster(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string, @Args('input') input: MoveClusterInput) {
    return this.service.move(principal, id, input);
  }

  @Mutation(() => ClusterModel, { description: 'Deletes a cluster that has no running agent; refused with CONFLICT otherwise (detach first).' })
  @RequireRole(Role.EDITOR)
  deleteCluster(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.delete(principal, id);
  }

  @ResolveField(() => SiteModel, { nullable: true })
  site(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext) {
    return cluster.siteId ? ctx.loaders.site.load(cluster.siteId) : null;
  }

  @ResolveField(() => ClusterGroupModel)
  group(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext) {
    return ctx.loaders.clusterGroup.load(cluster.groupId);
  }

  @ResolveField(() => ClusterCapacity)
  capacity(@Parent() cluster: Cluster): ClusterCapacity {
    return {
      allocatableCpuMillis: cluster.allocatableCpuMillis,
      allocatableMemoryMiB: cluster.allocatableMemoryMiB,
      requestedCpuMillis: cluster.requestedCpuMillis,
      requestedMemoryMiB: cluster.requestedMemoryMiB,
    };
  }

  @ResolveField(() => Int, { description: 'Managed namespaces on this cluster.' })
  namespaceCount(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext) {
    return ctx.loaders.namespaceCountByCluster.load(cluster.id);
  }
}
