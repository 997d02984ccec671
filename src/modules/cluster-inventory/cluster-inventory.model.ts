import { Field, Int, ObjectType } from '@nestjs/graphql';
import { Labels, LabelsScalar } from '../../common/labels/labels.scalar';

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
