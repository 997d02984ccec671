import { Args, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { Ctx } from '../../common/graphql/current-principal.decorator';
import { PageArgs } from '../../common/graphql/pagination';
import { unpagedListCost } from '../../common/graphql/query-limits.plugin';
import { RequestContext } from '../../common/graphql/request-context';
import type { Cluster } from '../../generated/prisma/client';
import { AttachMode } from '../../generated/prisma/enums';
import { ClusterModel } from '../clusters/cluster.model';
import { EventConnection } from '../events/event.model';
import { EventService } from '../events/event.service';
import { EventObjectKind } from '../events/event-types';
import { ClusterOperationModel } from './attach.model';

/** Cluster detail that comes from attaching it: its agent's version, the attach mode, operations and events. */
@Resolver(() => ClusterModel)
export class ClusterAttachResolver {
  constructor(private readonly events: EventService) {}

  @ResolveField(() => String, { nullable: true, description: 'Version of the agent running in the cluster.' })
  agentVersion(@Parent() cluster: Cluster) {
    return cluster.agentVersion;
  }

  @ResolveField(() => AttachMode, { nullable: true })
  attachMode(@Parent() cluster: Cluster) {
    return cluster.attachMode;
  }

  @ResolveField(() => [ClusterOperationModel], { description: 'Attach and detach operations, newest first.', complexity: unpagedListCost(5) })
  operations(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext) {
    return ctx.loaders.operationsByCluster.load(cluster.id);
  }

  @ResolveField(() => EventConnection, { description: 'What happened to this cluster, newest first.' })
  clusterEvents(@Parent() cluster: Cluster, @Ctx() ctx: RequestContext, @Args() page: PageArgs) {
    return this.events.list(ctx.auth.principal!, { objectKind: EventObjectKind.Cluster, objectId: cluster.id }, page);
  }
}
