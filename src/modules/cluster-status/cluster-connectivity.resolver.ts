import { Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { Ctx } from '../../common/graphql/current-principal.decorator';
import { RequestContext } from '../../common/graphql/request-context';
import type { Cluster } from '../../generated/prisma/client';
import { ClusterModel } from '../clusters/cluster.model';
import { clusterConnectivity, DEFAULT_DISCONNECT_GRACE_SECONDS, type ClusterConnectivity } from './cluster-connectivity';
import { ClusterConnectivityModel } from './cluster-connectivity.model';

@Resolver(() => ClusterModel)
export class ClusterConnectivityResolver {
  @ResolveField(() => ClusterConnectivityModel, { description: "The agent's connectivity by the site's thresholds, and its report backlog." })
  async connectivity(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext): Promise<ClusterConnectivity> {
    // The site loader batches a page of clusters into one query (and is shared with Cluster.site).
    const site = cluster.siteId ? await ctx.loaders.site.load(cluster.siteId) : null;
    return clusterConnectivity(cluster, site?.disconnectGraceSeconds ?? DEFAULT_DISCONNECT_GRACE_SECONDS, new Date());
  }
}
