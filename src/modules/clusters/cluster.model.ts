import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType, OrderByInput, PageArgs } from '../../common/graphql/pagination';
import { Labels, LabelsScalar } from '../../common/labels/labels.scalar';
import { ClusterDistribution, ClusterHealth, ClusterPhase } from '../../generated/prisma/enums';

registerEnumType(ClusterDistribution, { name: 'ClusterDistribution' });
registerEnumType(ClusterPhase, { name: 'ClusterPhase', description: 'PENDING → ATTACHING → ATTACHED (agent registered) → READY (first inventory); DETACHING → DETACHED; ERROR.' });
registerEnumType(ClusterHealth, { name: 'ClusterHealth' });

@ObjectType({ description: 'What the cluster can schedule versus what its pods request.' })
export class ClusterCapacity {
  @Field(() => Int) allocatableCpuMillis: number;
  @Field(() => Int) allocatableMemoryMiB: number;
  @Field(() => Int) requestedCpuMillis: number;
  @Field(() => Int) requestedMemoryMiB: number;
}

@ObjectType('Cluster', { description: 'A Kubernetes cluster managed by Farpoint.' })
export class ClusterModel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => String, { nullable: true }) description: string | null;
  @Field(() => LabelsScalar) labels: Labels;
  @Field(() => ClusterDistribution) distribution: ClusterDistribution;
  @Field(() => String, { nullable: true }) kubernetesVersion: string | null;
  @Field(() => ClusterPhase) phase: ClusterPhase;
  @Field(() => String, { nullable: true, description: 'Why the cluster is in ERROR (or other detail of the phase).' }) phaseReason: string | null;
  @Field(() => ClusterHealth) health: ClusterHealth;
  @Field(() => Int) nodeCount: number;
  @Field(() => Date, { nullable: true }) lastHeartbeatAt: Date | null;
  @Field(() => Int, {
    description:
      'Bumped by every change to what the cluster should enforce: assignments, their constraints and template versions, its site, group, labels and workspaces, its group admission settings.',
  })
  desiredStateGeneration: number;
  @Field(() => Int, { nullable: true, description: 'The desired-state generation its agent last said it enforces (null: admission off or not reported yet).' })
  appliedDesiredStateGeneration: number | null;
  @Field() createdAt: Date;
  @Field() updatedAt: Date;
  siteId: string | null;
  groupId: string;
  allocatableCpuMillis: number;
  allocatableMemoryMiB: number;
  requestedCpuMillis: number;
  requestedMemoryMiB: number;
}

export const ClusterConnection = ConnectionType(ClusterModel, 'Cluster');

export enum ClusterSortField {
  NAME = 'NAME',
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
  NODE_COUNT = 'NODE_COUNT',
}
registerEnumType(ClusterSortField, { name: 'ClusterSortField' });
export const ClusterOrderBy = OrderByInput('ClusterOrderBy', ClusterSortField, ClusterSortField.NAME);
export type ClusterOrderBy = InstanceType<typeof ClusterOrderBy>;

@InputType()
export class ClusterFilter {
  @Field(() => ID, { nullable: true }) siteId?: string;
  @Field(() => ID, { nullable: true }) groupId?: string;
  @Field(() => [ClusterPhase], { nullable: true }) phases?: ClusterPhase[];
  @Field(() => [ClusterHealth], { nullable: true }) health?: ClusterHealth[];
  @Field(() => ClusterDistribution, { nullable: true }) distribution?: ClusterDistribution;
  @Field({ nullable: true, description: 'Kubernetes label selector, e.g. "tier=edge,env in (prod,stage),!canary".' }) labelSelector?: string;
}

@ArgsType()
export class ClustersArgs extends PageArgs {
  @Field(() => ClusterFilter, { nullable: true }) filter?: ClusterFilter;
  @Field(() => ClusterOrderBy, { nullable: true }) orderBy?: ClusterOrderBy;
}

@InputType()
export class CreateClusterInput {
  @Field() name: string;
  @Field(() => ID) groupId: string;
  @Field(() => ID, { nullable: true }) siteId?: string;
  @Field({ nullable: true }) description?: string;
  @Field(() => ClusterDistribution, { nullable: true }) distribution?: ClusterDistribution;
  @Field(() => LabelsScalar, { nullable: true }) labels?: Labels;
}

@InputType()
export class UpdateClusterInput {
  @Field({ nullable: true }) name?: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => LabelsScalar, { nullable: true, description: 'Replaces all labels.' }) labels?: Labels;
}

@InputType({ description: 'Where to move a cluster. Give a group, a site, or both; siteId null detaches it from its site.' })
export class MoveClusterInput {
  @Field(() => ID, { nullable: true }) groupId?: string;
  @Field(() => ID, { nullable: true }) siteId?: string | null;
}
