import { ArgsType, Field, ID, InputType, ObjectType } from '@nestjs/graphql';
import { Labels, LabelsScalar } from '../labels/labels.scalar';
import { PageArgs } from './pagination';

/**
 * The fields every simple named, labelled inventory object shares (cluster groups, workspaces).
 * Abstract: each capability declares its own GraphQL type name by extending these.
 */
@ObjectType({ isAbstract: true })
export abstract class LabelledObject {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => String, { nullable: true }) description: string | null;
  @Field(() => LabelsScalar) labels: Labels;
  @Field() createdAt: Date;
  @Field() updatedAt: Date;
}

@ArgsType()
export class LabelledListArgs extends PageArgs {
  @Field({ nullable: true, description: 'Kubernetes label selector.' }) labelSelector?: string;
}

@InputType({ isAbstract: true })
export abstract class CreateLabelledInput {
  @Field() name: string;
  @Field({ nullable: true }) description?: string;
  @Field(() => LabelsScalar, { nullable: true }) labels?: Labels;
}

@InputType({ isAbstract: true })
export abstract class UpdateLabelledInput {
  @Field({ nullable: true }) name?: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => LabelsScalar, { nullable: true, description: 'Replaces all labels.' }) labels?: Labels;
}
