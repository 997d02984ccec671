import { Args, Field, Int, ObjectType, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { Ctx } from '../../common/graphql/current-principal.decorator';
import { PageArgs } from '../../common/graphql/pagination';
import { unpagedListCost } from '../../common/graphql/query-limits.plugin';
import { RequestContext } from '../../common/graphql/request-context';
import { Labels, LabelsScalar } from '../../common/labels/labels.scalar';
import { AttachMode, Cluster } from '../../generated/prisma/client';
import type { Inventory, InventoryNode } from '../../protocol';
import { ClusterModel } from '../clusters/cluster.model';
import { EventConnection } from '../events/event.model';
import { EventService } from '../events/event.service';
import { ClusterOperationModel } from './attach.model';
import { EventObjectKind, EventType } from '../events/event-types';

@ObjectType()
export class NodeResources {
  @Field(() => Int) cpuMillis: number;
  @Field(() => Int) memoryMiB: number;
  @Field(() => Int) pods: number;
}

@ObjectType()
export class NodeCondition {
  @Field() type: string;
  @Field() status: string;
  @Field(() => String, { nullable: true }) reason?: string;
  @Field(() => String, { nullable: true }) message?: string;
}

@ObjectType('ClusterNode', { description: 'A node as the agent last reported it.' })
export class ClusterNodeModel {
  @Field() name: string;
  @Field(() => [String]) roles: string[];
  @Field(() => LabelsScalar) labels: Labels;
  @Field() kubeletVersion: string;
  @Field() architecture: string;
  @Field() unschedulable: boolean;
  @Field({ description: 'The Ready condition is True.' }) ready: boolean;
  @Field(() => NodeResources) capacity: NodeResources;
  @Field(() => NodeResources) allocatable: NodeResources;
  @Field(() => [NodeCondition]) conditions: NodeCondition[];
}

@ObjectType('DiscoveredNamespace', { description: 'A namespace that exists on the cluster, as the agent reported it (managed or not).' })
export class DiscoveredNamespaceModel {
  @Field() name: string;
  @Field() phase: string;
  @Field(() => LabelsScalar) labels: Labels;
}

@ObjectType('Workload')
export class WorkloadModel {
  @Field() kind: string;
  @Field() namespace: string;
  @Field() name: string;
  @Field(() => Int) desiredReplicas: number;
  @Field(() => Int) readyReplicas: number;
}

@ObjectType()
export class PodCounts {
  @Field(() => Int) pending: number;
  @Field(() => Int) running: number;
  @Field(() => Int) succeeded: number;
  @Field(() => Int) failed: number;
  @Field(() => Int) unknown: number;
}

const toNode = (n: InventoryNode): ClusterNodeModel => ({ ...n, ready: n.conditions.some((c) => c.type === 'Ready' && c.status === 'True') });

/** Cluster detail that comes from its agent: inventory, operations and its events. */
@Resolver(() => ClusterModel)
export class ClusterAgentResolver {
  constructor(private readonly events: EventService) {}

  @ResolveField(() => String, { nullable: true, description: 'Version of the agent running in the cluster.' })
  agentVersion(@Parent() cluster: Cluster) {
    return cluster.agentVersion;
  }

  @ResolveField(() => AttachMode, { nullable: true })
  attachMode(@Parent() cluster: Cluster) {
    return cluster.attachMode;
  }

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

  @ResolveField(() => [ClusterOperationModel], { description: 'Attach and detach operations, newest first.', complexity: unpagedListCost(5) })
  operations(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext) {
    return ctx.loaders.operationsByCluster.load(cluster.id);
  }

  @ResolveField(() => EventConnection, { description: 'What happened to this cluster, newest first.' })
  clusterEvents(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext, @Args() page: PageArgs) {
    return this.events.list(ctx.auth.principal!, { objectKind: EventObjectKind.Cluster, objectId: cluster.id }, page);
  }

  private async inventory(cluster: Cluster, ctx: RequestContext): Promise<Inventory | undefined> {
    return (await ctx.loaders.inventoryByCluster.load(cluster.id))?.snapshot ?? undefined;
  }
}
