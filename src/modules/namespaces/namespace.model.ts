import { ArgsType, Field, ID, InputType, ObjectType } from '@nestjs/graphql';
import { ConnectionType, PageArgs } from '../../common/graphql/pagination';
import { Labels, LabelsScalar } from '../../common/labels/labels.scalar';

@ObjectType('Namespace', { description: 'A managed namespace on one cluster. It always belongs to exactly one workspace.' })
export class NamespaceModel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => LabelsScalar) labels: Labels;
  @Field() createdAt: Date;
  @Field() updatedAt: Date;
  clusterId: string;
  workspaceId: string;
}
export const NamespaceConnection = ConnectionType(NamespaceModel, 'Namespace');

@ArgsType()
export class NamespacesArgs extends PageArgs {
  @Field(() => ID, { nullable: true }) clusterId?: string;
  @Field(() => ID, { nullable: true }) workspaceId?: string;
  @Field({ nullable: true, description: 'Kubernetes label selector.' }) labelSelector?: string;
}

@InputType()
export class CreateNamespaceInput {
  @Field() name: string;
  @Field(() => ID) clusterId: string;
  @Field(() => ID) workspaceId: string;
  @Field(() => LabelsScalar, { nullable: true }) labels?: Labels;
}

@InputType()
export class UpdateNamespaceInput {
  @Field(() => LabelsScalar, { nullable: true, description: 'Replaces all labels.' }) labels?: Labels;
  @Field(() => ID, { nullable: true, description: 'Move the namespace to another workspace.' }) workspaceId?: string;
}
