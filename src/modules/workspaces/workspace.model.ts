import { ArgsType, Field, ID, InputType, ObjectType } from '@nestjs/graphql';
import { ConnectionType, PageArgs } from '../../common/graphql/pagination';
import { Labels, LabelsScalar } from '../../common/labels/labels.scalar';

@ObjectType('Workspace', { description: 'A set of namespaces across clusters owned by one team or application.' })
export class WorkspaceModel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => String, { nullable: true }) description: string | null;
  @Field(() => LabelsScalar) labels: Labels;
  @Field() createdAt: Date;
  @Field() updatedAt: Date;
}
export const WorkspaceConnection = ConnectionType(WorkspaceModel, 'Workspace');

@ArgsType()
export class WorkspacesArgs extends PageArgs {
  @Field({ nullable: true, description: 'Kubernetes label selector.' }) labelSelector?: string;
}

@InputType()
export class CreateWorkspaceInput {
  @Field() name: string;
  @Field({ nullable: true }) description?: string;
  @Field(() => LabelsScalar, { nullable: true }) labels?: Labels;
}

@InputType()
export class UpdateWorkspaceInput {
  @Field({ nullable: true }) name?: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => LabelsScalar, { nullable: true, description: 'Replaces all labels.' }) labels?: Labels;
}
