import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Ctx, CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal, RequestContext } from '../../common/graphql/request-context';
import type { Namespace } from '../../generated/prisma/client';
import { RequireRole, Role } from '../auth/roles';
import { ClusterModel } from '../clusters/cluster.model';
import { WorkspaceModel } from '../workspaces/workspace.model';
import { CreateNamespaceInput, NamespaceConnection, NamespaceModel, NamespacesArgs, UpdateNamespaceInput } from './namespace.model';
import { NamespaceService } from './namespace.service';

@Resolver(() => NamespaceModel)
export class NamespaceResolver {
  constructor(private readonly service: NamespaceService) {}

  @Query(() => NamespaceConnection)
  @RequireRole(Role.VIEWER)
  namespaces(@CurrentPrincipal() principal: Principal, @Args() args: NamespacesArgs) {
    return this.service.list(principal, args);
  }

  @Query(() => NamespaceModel)
  @RequireRole(Role.VIEWER)
  namespace(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.get(principal, id);
  }

  @Mutation(() => NamespaceModel)
  @RequireRole(Role.EDITOR)
  createNamespace(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateNamespaceInput) {
    return this.service.create(principal, input);
  }

  @Mutation(() => NamespaceModel, { description: 'Changes labels or moves the namespace to another workspace.' })
  @RequireRole(Role.EDITOR)
  updateNamespace(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string, @Args('input') input: UpdateNamespaceInput) {
    return this.service.update(principal, id, input);
  }

  @Mutation(() => NamespaceModel)
  @RequireRole(Role.EDITOR)
  deleteNamespace(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.delete(principal, id);
  }

  @ResolveField(() => ClusterModel)
  cluster(@Parent() namespace: Namespace, @Ctx() ctx: RequestContext) {
    return ctx.loaders.cluster.load(namespace.clusterId);
  }

  @ResolveField(() => WorkspaceModel)
  workspace(@Parent() namespace: Namespace, @Ctx() ctx: RequestContext) {
    return ctx.loaders.workspace.load(namespace.workspaceId);
  }
}
