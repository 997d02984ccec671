import { Args, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Ctx, CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal, RequestContext } from '../../common/graphql/request-context';
import type { Workspace } from '../../generated/prisma/client';
import { RequireRole, Role } from '../auth/roles';
import { WorkspaceConnection, WorkspaceModel, WorkspacesArgs, CreateWorkspaceInput, UpdateWorkspaceInput } from './workspace.model';
import { WorkspaceService } from './workspace.service';

@Resolver(() => WorkspaceModel)
export class WorkspaceResolver {
  constructor(private readonly service: WorkspaceService) {}

  @Query(() => WorkspaceConnection)
  @RequireRole(Role.VIEWER)
  workspaces(@CurrentPrincipal() principal: Principal, @Args() args: WorkspacesArgs) {
    return this.service.list(principal, args);
  }

  @Query(() => WorkspaceModel)
  @RequireRole(Role.VIEWER)
  workspace(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.get(principal, id);
  }

  @Mutation(() => WorkspaceModel)
  @RequireRole(Role.EDITOR)
  createWorkspace(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateWorkspaceInput) {
    return this.service.create(principal, input);
  }

  @Mutation(() => WorkspaceModel)
  @RequireRole(Role.EDITOR)
  updateWorkspace(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string, @Args('input') input: UpdateWorkspaceInput) {
    return this.service.update(principal, id, input);
  }

  @Mutation(() => WorkspaceModel, { description: 'Deletes an empty workspace; refused with CONFLICT while it has namespaces (none is left without a workspace).' })
  @RequireRole(Role.EDITOR)
  deleteWorkspace(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.delete(principal, id);
  }

  @ResolveField(() => Int)
  namespaceCount(@Parent() group: Workspace, @Ctx() ctx: RequestContext) {
    return ctx.loaders.namespaceCountByWorkspace.load(group.id);
  }
}
