import { Args, Field, ID, ObjectType, Resolver, Subscription } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import { ClusterHealth, ClusterPhase } from '../../generated/prisma/enums';
import { RequireRole, Role } from '../auth/roles';
import { ClusterStatusChange, ClusterStatusService } from './cluster-status.service';

@ObjectType('ClusterStatusChange', { description: 'A change of a cluster phase or health, as it happens.' })
export class ClusterStatusChangeModel {
  @Field(() => ID) clusterId: string;
  @Field() clusterName: string;
  @Field(() => ClusterPhase) phase: ClusterPhase;
  @Field(() => ClusterPhase) previousPhase: ClusterPhase;
  @Field(() => ClusterHealth) health: ClusterHealth;
  @Field(() => ClusterHealth) previousHealth: ClusterHealth;
  @Field(() => String, { nullable: true }) reason: string | null;
  @Field() actor: string;
  @Field() occurredAt: string;
}

async function* onlyCluster(source: AsyncGenerator<ClusterStatusChange>, clusterId?: string): AsyncGenerator<ClusterStatusChange> {
  try {
    for await (const change of source) if (!clusterId || change.clusterId === clusterId) yield change;
  } finally {
    await source.return(undefined);
  }
}

@Resolver()
export class ClusterStatusResolver {
  constructor(private readonly service: ClusterStatusService) {}

  @Subscription(() => ClusterStatusChangeModel, {
    description: "Streams phase and health changes of your organization's clusters (or of one cluster).",
    resolve: (change: ClusterStatusChange) => change,
  })
  @RequireRole(Role.VIEWER)
  clusterStatusChanged(@CurrentPrincipal() principal: Principal, @Args('clusterId', { type: () => ID, nullable: true }) clusterId?: string) {
    return onlyCluster(this.service.subscribe(principal.organizationId), clusterId);
  }
}
