import { ArgsType, Field, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { CreateLabelledInput, LabelledListArgs, LabelledObject, UpdateLabelledInput } from '../../common/graphql/labelled-object';
import { ConnectionType } from '../../common/graphql/pagination';
import { AdmissionFailurePolicy } from '../../generated/prisma/enums';

registerEnumType(AdmissionFailurePolicy, {
  name: 'AdmissionFailurePolicy',
  description: "What the apiserver does when the agent's admission webhook cannot answer: IGNORE admits (fail open, the default), FAIL refuses.",
});

@ObjectType('ClusterGroup', { description: 'A set of clusters managed together (e.g. all point-of-sale clusters); policies attach here.' })
export class ClusterGroupModel extends LabelledObject {
  @Field(() => AdmissionFailurePolicy, { description: "The failure policy of the admission webhook on the group's clusters." })
  admissionFailurePolicy: AdmissionFailurePolicy;

  @Field(() => Int, { description: 'How long the apiserver waits for the admission webhook (1 to 30 s).' })
  admissionTimeoutSeconds: number;
}
export const ClusterGroupConnection = ConnectionType(ClusterGroupModel, 'ClusterGroup');

@ArgsType()
export class ClusterGroupsArgs extends LabelledListArgs {}

@InputType()
export class CreateClusterGroupInput extends CreateLabelledInput {
  @Field(() => AdmissionFailurePolicy, { nullable: true, description: 'Default IGNORE.' })
  admissionFailurePolicy?: AdmissionFailurePolicy;

  @Field(() => Int, { nullable: true, description: '1 to 30; default 3.' })
  admissionTimeoutSeconds?: number;
}

@InputType()
export class UpdateClusterGroupInput extends UpdateLabelledInput {
  @Field(() => AdmissionFailurePolicy, { nullable: true })
  admissionFailurePolicy?: AdmissionFailurePolicy;

  @Field(() => Int, { nullable: true, description: '1 to 30.' })
  admissionTimeoutSeconds?: number;
}
