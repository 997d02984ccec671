import { Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Labels, LabelsScalar } from '../../common/labels/labels.scalar';
import { AttachMode, OperationKind, OperationState } from '../../generated/prisma/enums';
import { ClusterModel } from '../clusters/cluster.model';

registerEnumType(AttachMode, { name: 'AttachMode', description: 'LINK: kubectl apply of a registration link; QUEUE: Farpoint installed the agent with a kubeconfig.' });
registerEnumType(OperationKind, { name: 'OperationKind' });
registerEnumType(OperationState, { name: 'OperationState' });

@ObjectType('ClusterOperation', { description: 'Long-running work on a cluster (attach by queue, detach) and how it went.' })
export class ClusterOperationModel {
  @Field(() => ID) id: string;
  @Field(() => OperationKind) kind: OperationKind;
  @Field(() => OperationState) state: OperationState;
  @Field(() => Int) attempts: number;
  @Field(() => String, { nullable: true }) lastError: string | null;
  @Field() createdBy: string;
  @Field() createdAt: Date;
  @Field(() => Date, { nullable: true }) startedAt: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt: Date | null;
  @Field() updatedAt: Date;
  clusterId: string;
}

@InputType({ description: 'A directory of the node: outlives the pod, not a move to another node. Needs a namespace that allows hostPath.' })
export class AgentHostPathInput {
  @Field({ nullable: true, description: 'Absolute path on the node (default /var/lib/farpoint-agent).' }) path?: string;
}

@InputType({ description: 'A PersistentVolumeClaim (multi-node clusters with a storage provisioner): follows the pod to any node.' })
export class AgentPersistentVolumeClaimInput {
  @Field({ nullable: true, description: "The StorageClass (default: the cluster's default)." }) storageClassName?: string;
  @Field({ nullable: true, description: 'The size, e.g. 256Mi (default) or 1Gi.' }) size?: string;
}

@InputType({
  isOneOf: true,
  description:
    'Exactly one: where the installed agent keeps its report queue. Default hostPath (single-node edge boxes); emptyDir is the fallback where neither is allowed (a replaced pod loses its backlog).',
})
export class AgentStateVolumeInput {
  @Field(() => AgentHostPathInput, { nullable: true }) hostPath?: AgentHostPathInput;
  @Field(() => AgentPersistentVolumeClaimInput, { nullable: true }) persistentVolumeClaim?: AgentPersistentVolumeClaimInput;
  @Field(() => Boolean, { nullable: true, description: 'true: an emptyDir.' }) emptyDir?: boolean;
}

@InputType()
export class AttachClusterInput {
  @Field() name: string;
  @Field(() => ID) groupId: string;
  @Field(() => ID, { nullable: true }) siteId?: string;
  @Field({ nullable: true }) description?: string;
  @Field(() => LabelsScalar, { nullable: true }) labels?: Labels;
  @Field(() => Int, { nullable: true, description: 'How long the registration link works, in hours (1-168, default 24).' }) registrationTokenTtlHours?: number;
  @Field(() => AgentStateVolumeInput, { nullable: true, description: 'Where the agent keeps its report queue (default: hostPath /var/lib/farpoint-agent).' })
  agentStateVolume?: AgentStateVolumeInput;
}

@InputType()
export class AttachClusterWithKubeconfigInput extends AttachClusterInput {
  @Field({ description: 'A kubeconfig able to install the agent (cluster-admin). Used once by the worker; never stored.' }) kubeconfig: string;
}

@ObjectType({ description: 'A registration link. The token is shown once.' })
export class RegistrationLink {
  @Field(() => ClusterModel) cluster: ClusterModel;
  @Field({ description: 'The one-time registration token.' }) registrationToken: string;
  @Field({ description: 'Install manifests for the agent; works until the token is used, revoked or expires.' }) manifestUrl: string;
  @Field({ description: 'What to run against the cluster.' }) installCommand: string;
  @Field() expiresAt: Date;
}

@ObjectType()
export class QueuedAttach {
  @Field(() => ClusterModel) cluster: ClusterModel;
  @Field(() => ClusterOperationModel) operation: ClusterOperationModel;
}
