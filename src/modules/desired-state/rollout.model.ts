import { ArgsType, Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Connection, PageArgs, PageInfo } from '../../common/graphql/pagination';
import { ClusterHealth, ClusterPhase } from '../../generated/prisma/enums';
import type { RolloutState } from './rollout.repository';

export const RolloutStateEnum = {
  IN_SYNC: 'IN_SYNC',
  PENDING: 'PENDING',
  WAITING_FOR_WINDOW: 'WAITING_FOR_WINDOW',
  FAILED: 'FAILED',
  OFFLINE: 'OFFLINE',
} as const satisfies Record<RolloutState, RolloutState>;
registerEnumType(RolloutStateEnum, {
  name: 'RolloutState',
  description:
    'Where a cluster stands with its desired state: IN_SYNC (its agent runs the current generation), PENDING (the agent reports but has not applied it yet), WAITING_FOR_WINDOW (its site is outside its maintenance windows and the change is not urgent: it applies at pendingUntil; the current generation stays enforced meanwhile), FAILED (the agent reported why it cannot), OFFLINE (no agent reporting: not registered, detached or DISCONNECTED).',
});

@ObjectType({ description: 'Why the agent does not run the newest desired state, as it reported it.' })
export class DesiredStateErrorModel {
  @Field({ description: 'Stable code, e.g. BUNDLE_HASH_MISMATCH.' }) code: string;
  @Field() message: string;
}

@ObjectType('PolicyRolloutCluster', { description: 'A cluster an assignment reaches, and whether its agent enforces the current desired state.' })
export class PolicyRolloutClusterModel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => RolloutStateEnum) state: RolloutState;
  @Field(() => Int, { description: 'The generation the cluster should run.' }) desiredStateGeneration: number;
  @Field(() => Int, { nullable: true, description: 'The generation its agent last said it runs.' }) appliedDesiredStateGeneration: number | null;
  @Field(() => DesiredStateErrorModel, { nullable: true, description: 'Set while FAILED.' }) error: DesiredStateErrorModel | null;
  @Field(() => Date, { nullable: true, description: "Set while WAITING_FOR_WINDOW: the next opening of its site's maintenance windows, when it takes the change." })
  pendingUntil: Date | null;
  @Field(() => ClusterPhase) phase: ClusterPhase;
  @Field(() => ClusterHealth) health: ClusterHealth;
  @Field(() => Date, { nullable: true }) lastHeartbeatAt: Date | null;
}

@ObjectType({ description: 'Clusters per rollout state.' })
export class RolloutCounts {
  @Field(() => Int) inSync: number;
  @Field(() => Int) pending: number;
  @Field(() => Int) waitingForWindow: number;
  @Field(() => Int) failed: number;
  @Field(() => Int) offline: number;
  @Field(() => Int) total: number;
}

@ObjectType('PolicyRolloutClusterEdge')
class PolicyRolloutClusterEdge {
  @Field() cursor: string;
  @Field(() => PolicyRolloutClusterModel) node: PolicyRolloutClusterModel;
}

@ObjectType('PolicyAssignmentRollout', { description: "An assignment's rollout: a page of the clusters it reaches, by name, and how many are in each state." })
export class PolicyAssignmentRolloutModel implements Connection<PolicyRolloutClusterModel> {
  @Field(() => ID) assignmentId: string;
  @Field(() => RolloutCounts, { description: 'Over every cluster the assignment reaches, whatever the state filter.' }) counts: RolloutCounts;
  @Field(() => [PolicyRolloutClusterEdge]) edges: PolicyRolloutClusterEdge[];
  @Field(() => PageInfo) pageInfo: PageInfo;
  @Field(() => Int, { description: 'Clusters matching the state filter, across all pages.' }) totalCount: number;
}

@ArgsType()
export class PolicyAssignmentRolloutArgs extends PageArgs {
  @Field(() => ID) assignmentId: string;
  @Field(() => RolloutStateEnum, { nullable: true, description: 'Only clusters in this state (the counts stay for all).' }) state?: RolloutState;
}
