import { Field, ID, ObjectType } from '@nestjs/graphql';
import { ClusterHealth, ClusterPhase } from '../../generated/prisma/enums';

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
