import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType, PageArgs } from '../../common/graphql/pagination';
import { EnforcementAction, StagedRolloutState } from '../../generated/prisma/enums';

registerEnumType(StagedRolloutState, {
  name: 'StagedRolloutState',
  description:
    'RUNNING (the advance job releases the next wave when the released ones are in sync), PAUSED (by a person: no wave is released), HALTED (failed applies or admission refusals passed a threshold: no wave is released until resumed), ABORTED (the assignment was put back as it was) or COMPLETED (every wave released and in sync).',
});

@InputType({ description: 'One wave: exactly one of clusterSelector (the clusters it selects among those no earlier wave took) and percent.' })
export class StagedRolloutWaveInput {
  @Field({ description: 'A DNS label, unique in the rollout ("rest" is reserved for the implicit last wave).' }) name: string;
  @Field({ nullable: true, description: 'Kubernetes label selector over cluster labels, e.g. "canary=true".' }) clusterSelector?: string;
  @Field(() => Int, { nullable: true, description: 'Cumulative share (1-100) of the clusters the rollout reaches, placed by the end of this wave; above the waves before it.' })
  percent?: number;
}

@InputType({ description: 'Roll the change out in waves instead of to every cluster at once.' })
export class StagedRolloutInput {
  @Field(() => [StagedRolloutWaveInput], { description: 'In release order, 1-10. Unless the last is 100 %, a wave "rest" takes the clusters no wave took.' })
  waves: StagedRolloutWaveInput[];
  @Field(() => Int, { nullable: true, description: 'Halt when more clusters of the released waves than this fail to apply the change (default 0).' })
  maxFailedClusters?: number;
  @Field(() => Int, {
    nullable: true,
    description: 'Halt when the released waves refuse more admission requests under this assignment than this since the start or the last resume (default: no limit).',
  })
  maxAdmissionRefusals?: number;
  @Field(() => Int, { nullable: true, description: 'Seconds the released waves must stay in sync before the next wave is released (0-86400, default 0).' })
  soakSeconds?: number;
}

@ObjectType({ description: 'The fields of an assignment a rollout changes, before or after.' })
export class AssignmentRevisionModel {
  @Field() labelSelector: string;
  @Field() namespaceSelector: string;
  @Field(() => [String]) excludedNamespaces: string[];
  @Field(() => EnforcementAction, { nullable: true, description: "null: the constraint's own action." }) enforcementAction: EnforcementAction | null;
}

@ObjectType('StagedRolloutWave', { description: 'A wave and where its clusters stand (the rollout states of policyAssignmentRollout).' })
export class StagedRolloutWaveModel {
  @Field(() => Int, { description: 'Release order, from 0.' }) index: number;
  @Field() name: string;
  @Field(() => String, { nullable: true }) clusterSelector: string | null;
  @Field(() => Int, { nullable: true }) percent: number | null;
  @Field({ description: 'Its clusters have the change (or will at their next maintenance window).' }) released: boolean;
  @Field(() => Int) clusters: number;
  @Field(() => Int) inSync: number;
  @Field(() => Int, { description: 'Pending or waiting for a maintenance window.' }) pending: number;
  @Field(() => Int) failed: number;
  @Field(() => Int) offline: number;
}

@ObjectType('StagedRollout', { description: 'A change of one assignment rolled out in waves; every step is an Event on it.' })
export class StagedRolloutModel {
  @Field(() => ID) id: string;
  @Field(() => ID, { nullable: true, description: 'null once an aborted rollout of a new assignment removed it.' }) assignmentId: string | null;
  @Field(() => StagedRolloutState) state: StagedRolloutState;
  @Field(() => String, { nullable: true, description: 'Why it halted or was aborted.' }) reason: string | null;
  @Field(() => AssignmentRevisionModel, { nullable: true, description: 'What clusters of unreleased waves keep; null: the assignment is new, they get nothing.' })
  previous: AssignmentRevisionModel | null;
  @Field(() => AssignmentRevisionModel) target: AssignmentRevisionModel;
  @Field(() => Int, { description: 'Waves released so far.' }) releasedWaves: number;
  @Field(() => [StagedRolloutWaveModel]) waves: StagedRolloutWaveModel[];
  @Field(() => Int) maxFailedClusters: number;
  @Field(() => Int, { nullable: true }) maxAdmissionRefusals: number | null;
  @Field(() => Int) soakSeconds: number;
  @Field({ description: "Released waves take the change outside their sites' maintenance windows." }) urgent: boolean;
  @Field() createdBy: string;
  @Field() createdAt: Date;
  @Field() updatedAt: Date;
  @Field(() => Date, { nullable: true }) finishedAt: Date | null;
}

export const StagedRolloutConnection = ConnectionType(StagedRolloutModel, 'StagedRollout');

@ArgsType()
export class StagedRolloutsArgs extends PageArgs {
  @Field(() => ID, { nullable: true }) assignmentId?: string;
  @Field(() => StagedRolloutState, { nullable: true }) state?: StagedRolloutState;
}
