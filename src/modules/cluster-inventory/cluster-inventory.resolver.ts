import { Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { Ctx } from '../../common/graphql/current-principal.decorator';
import { unpagedListCost } from '../../common/graphql/query-limits.plugin';
import { RequestContext } from '../../common/graphql/request-context';
import type { Cluster } from '../../generated/prisma/client';
import type { Inventory, InventoryNode } from '../../protocol';
import { ClusterModel } from '../clusters/cluster.model';
import { ClusterNodeModel, DiscoveredNamespaceModel, PodCounts, WorkloadModel } from './cluster-inventory.model';

const toNode = (n: InventoryNode): ClusterNodeModel => ({ ...n, ready: n.conditions.some((c) => c.type === 'Ready' && c.status === 'True') });

/** A cluster's inventory as its agent last reported it: nodes, namespaces, workloads and pods. */
@Resolver(() => ClusterModel)
export class ClusterInventoryResolver {
  @ResolveField(() => Date, { nullable: true, description: 'When the agent last sent inventory.' })
  async inventoryReportedAt(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext) {
    return (await ctx.loaders.inventoryByCluster.load(cluster.id))?.reportedAt ?? null;
  }

  @ResolveField(() => [ClusterNodeModel], { complexity: unpagedListCost(5) })
  async nodes(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext) {
    return ((await this.inventory(cluster, ctx))?.nodes ?? []).map(toNode);
  }

  @ResolveField(() => [DiscoveredNamespaceModel], { complexity: unpagedListCost(20) })
  async discoveredNamespaces(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext) {
    return (await this.inventory(cluster, ctx))?.namespaces ?? [];
  }

  @ResolveField(() => [WorkloadModel], { complexity: unpagedListCost(50) })
  async workloads(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext) {
    return (await this.inventory(cluster, ctx))?.workloads ?? [];
  }

  @ResolveField(() => PodCounts, { nullable: true })
  async podCounts(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext): Promise<PodCounts | null> {
    const counts = (await this.inventory(cluster, ctx))?.podCountsByPhase;
    return counts ? { pending: counts.Pending, running: counts.Running, succeeded: counts.Succeeded, failed: counts.Failed, unknown: counts.Unknown } : null;
  }

  private async inventory(cluster: Cluster, ctx: RequestContext): Promise<Inventory | undefined> {
    return (await ctx.loaders.inventoryByCluster.load(cluster.id))?.snapshot ?? undefined;
  }
}
