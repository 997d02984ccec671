import { ArgsType, Field, ID, InputType, ObjectType } from '@nestjs/graphql';
import { ConnectionType, PageArgs } from '../../common/graphql/pagination';
import { Labels, LabelsScalar } from '../../common/labels/labels.scalar';

@ObjectType('ClusterGroup', { description: 'A set of clusters managed together (e.g. all point-of-sale clusters); policies attach here.' })
export class ClusterGroupModel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => String, { nullable: true }) description: string | null;
  @Field(() => LabelsScalar) labels: Labels;
  @Field() createdAt: Date;
  @Field() updatedAt: Date;
}
export const ClusterGroupConnection = ConnectionType(ClusterGroupModel, 'ClusterGroup');

@ArgsType()
export class ClusterGroupsArgs extends PageArgs {
  @Field({ nullable: true, description: 'Kubernetes label selector.' }) labelSelector?: string;
}

@InputType()
export class CreateClusterGroupInput {
  @Field() name: string;
  @Field({ nullable: true }) description?: string;
  @Field(() => LabelsScalar, { nullable: true }) labels?: Labels;
}

@InputType()
export class UpdateClusterGroupInput {
  @Field({ nullable: true }) name?: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => LabelsScalar, { nullable: true, description: 'Replaces all labels.' }) labels?: Labels;
}
