import { Field, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectivityState } from './cluster-connectivity';

registerEnumType(ConnectivityState, {
  name: 'ConnectivityState',
  description: "ONLINE: a heartbeat within the site's disconnect grace; OFFLINE: none since; NEVER_CONNECTED: no heartbeat ever.",
});

@ObjectType('DroppedReportCount', { description: 'Report items of one kind the agent queue dropped when full (or the API refused).' })
export class DroppedReportCountModel {
  @Field({ description: 'Report item kind, e.g. heartbeat, inventory.delta, audit.result.' }) kind: string;
  @Field(() => Int) count: number;
}

@ObjectType('ClusterConnectivity', { description: "Whether the cluster's agent reaches Farpoint, and what it holds back while it does not." })
export class ClusterConnectivityModel {
  @Field(() => ConnectivityState) state: ConnectivityState;
  @Field(() => Date, { nullable: true }) lastHeartbeatAt: Date | null;
  @Field(() => Int, { nullable: true, description: 'Items in the agent queue at its last heartbeat, that heartbeat included (null before the first).' })
  backlogItems: number | null;
  @Field(() => [DroppedReportCountModel], { description: 'Exact drops per kind since the agent queue was created, by the last heartbeat; empty when none (or an older agent).' })
  droppedByKind: DroppedReportCountModel[];
  @Field(() => Date, { nullable: true, description: 'When the oldest item still queued at the last heartbeat was observed (agent clock); null when nothing else was queued.' })
  oldestQueuedAt: Date | null;
}
