import { ArgsType, InputType, ObjectType } from '@nestjs/graphql';
import { CreateLabelledInput, LabelledListArgs, LabelledObject, UpdateLabelledInput } from '../../common/graphql/labelled-object';
import { ConnectionType } from '../../common/graphql/pagination';

@ObjectType('ClusterGroup', { description: 'A set of clusters managed together (e.g. all point-of-sale clusters); policies attach here.' })
export class ClusterGroupModel extends LabelledObject {}
export const ClusterGroupConnection = ConnectionType(ClusterGroupModel, 'ClusterGroup');

@ArgsType()
export class ClusterGroupsArgs extends LabelledListArgs {}

@InputType()
export class CreateClusterGroupInput extends CreateLabelledInput {}

@InputType()
export class UpdateClusterGroupInput extends UpdateLabelledInput {}
