import { Args, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Ctx, CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal, RequestContext } from '../../common/graphql/request-context';
import type { Site } from '../../generated/prisma/client';
import { RequireRole, Role } from '../auth/roles';
import { ClusterHealthSummary, Connectivity, CreateSiteInput, MaintenanceWindowModel, SiteConnection, SiteModel, SitesArgs, UpdateSiteInput } from './site.model';
import { SiteService } from './site.service';

@Resolver(() => SiteModel)
export class SiteResolver {
  constructor(private readonly service: SiteService) {}

  @Query(() => SiteConnection)
  @RequireRole(Role.VIEWER)
  sites(@CurrentPrincipal() principal: Principal, @Args() args: SitesArgs) {
    return this.service.list(principal, args);
  }

  @Query(() => SiteModel)
  @RequireRole(Role.VIEWER)
  site(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.get(principal, id);
  }

  @Mutation(() => SiteModel)
  @RequireRole(Role.EDITOR)
  createSite(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateSiteInput) {
    return this.service.create(principal, input);
  }

  @Mutation(() => SiteModel)
  @RequireRole(Role.EDITOR)
  updateSite(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string, @Args('input') input: UpdateSiteInput) {
    return this.service.update(principal, id, input);
  }

  @Mutation(() => SiteModel, { description: 'Deletes an empty site; refused with CONFLICT while clusters are placed there.' })
  @RequireRole(Role.EDITOR)
  deleteSite(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.delete(principal, id);
  }

  @ResolveField(() => [MaintenanceWindowModel])
  maintenanceWindows(@Parent() site: Site): MaintenanceWindowModel[] {
    return site.maintenanceWindows as unknown as MaintenanceWindowModel[];
  }

  @ResolveField(() => Connectivity)
  connectivity(@Parent() site: Site): Connectivity {
    return { mode: site.connectivity, heartbeatIntervalSeconds: site.heartbeatIntervalSeconds, disconnectGraceSeconds: site.disconnectGraceSeconds };
  }

  @ResolveField(() => Int)
  clusterCount(@Parent() site: Site, @Ctx() ctx: RequestContext) {
    return ctx.loaders.clusterCountBySite.load(site.id);
  }

  @ResolveField(() => ClusterHealthSummary)
  async clusterHealth(@Parent() site: Site, @Ctx() ctx: RequestContext): Promise<ClusterHealthSummary> {
    const c = await ctx.loaders.clusterHealthBySite.load(site.id);
    const healthy = c.HEALTHY ?? 0,
      warning = c.WARNING ?? 0,
      unhealthy = c.UNHEALTHY ?? 0,
      disconnected = c.DISCONNECTED ?? 0,
      unknown = c.UNKNOWN ?? 0;
    return { total: healthy + warning + unhealthy + disconnected + unknown, healthy, warning, unhealthy, disconnected, unknown };
  }
}
