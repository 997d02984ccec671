import { ArgsType, InputType, ObjectType } from '@nestjs/graphql';
import { CreateLabelledInput, LabelledListArgs, LabelledObject, UpdateLabelledInput } from '../../common/graphql/labelled-object';
import { ConnectionType } from '../../common/graphql/pagination';

@ObjectType('Workspace', { description: 'A set of namespaces across clusters owned by one team or application.' })
export class WorkspaceModel extends LabelledObject {}
export const WorkspaceConnection = ConnectionType(WorkspaceModel, 'Workspace');

@ArgsType()
export class WorkspacesArgs extends LabelledListArgs {}

@InputType()
export class CreateWorkspaceInput extends CreateLabelledInput {}

@InputType()
export class UpdateWorkspaceInput extends UpdateLabelledInput {}
