import { ArgsType, Field, ID, InputType, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType, OrderByInput, PageArgs } from '../../common/graphql/pagination';
import type { Constraint } from '../../generated/prisma/client';
import { EnforcementAction } from '../../generated/prisma/enums';
import { JSONObjectScalar } from '../policy-templates/json-object.scalar';
// Registers EnforcementAction with GraphQL (evaluatePolicy's outcomes use it too).
import '../policy-templates/policy-evaluation.model';

@ObjectType('Constraint', { description: 'A Gatekeeper Constraint: a template version with validated parameters, a match and an enforcement action.' })
export class ConstraintModel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field({ description: "The template's kind." }) kind: string;
  @Field(() => EnforcementAction) enforcementAction: EnforcementAction;
  @Field(() => JSONObjectScalar, { description: "input.parameters, valid against the version's schema." }) parameters: Record<string, unknown>;
  @Field(() => JSONObjectScalar, { description: "Gatekeeper's spec.match ({} matches everything)." }) match: Record<string, unknown>;
  @Field() createdBy: string;
  @Field() createdAt: Date;
  @Field() updatedAt: Date;
}

export const ConstraintConnection = ConnectionType(ConstraintModel, 'Constraint');

export enum ConstraintSortField {
  NAME = 'NAME',
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
}
registerEnumType(ConstraintSortField, { name: 'ConstraintSortField' });
export const ConstraintOrderBy = OrderByInput('ConstraintOrderBy', ConstraintSortField, ConstraintSortField.NAME);
export type ConstraintOrderBy = InstanceType<typeof ConstraintOrderBy>;

@InputType()
export class ConstraintFilter {
  @Field({ nullable: true }) kind?: string;
  @Field(() => EnforcementAction, { nullable: true }) enforcementAction?: EnforcementAction;
}

@ArgsType()
export class ConstraintsArgs extends PageArgs {
  @Field(() => ConstraintFilter, { nullable: true }) filter?: ConstraintFilter;
  @Field(() => ConstraintOrderBy, { nullable: true }) orderBy?: ConstraintOrderBy;
}

@InputType()
export class CreateConstraintInput {
  @Field() name: string;
  @Field(() => ID, { description: 'A version of your template or of a built-in recipe, not DEPRECATED.' }) templateVersionId: string;
  @Field(() => JSONObjectScalar, { nullable: true }) parameters?: Record<string, unknown>;
  @Field(() => JSONObjectScalar, { nullable: true }) match?: Record<string, unknown>;
  @Field(() => EnforcementAction, { nullable: true, description: 'Default DENY.' }) enforcementAction?: EnforcementAction;
}

@InputType()
export class UpdateConstraintInput {
  @Field(() => ID, { nullable: true, description: 'Another version of the same template, not DEPRECATED.' }) templateVersionId?: string;
  @Field(() => JSONObjectScalar, { nullable: true, description: 'Replaces the parameters.' }) parameters?: Record<string, unknown>;
  @Field(() => JSONObjectScalar, { nullable: true, description: 'Replaces the match.' }) match?: Record<string, unknown>;
  @Field(() => EnforcementAction, { nullable: true }) enforcementAction?: EnforcementAction;
  @Field({ nullable: true, description: "Urgent: clusters take it at once, outside their site's maintenance windows (default false: at the next window)." }) urgent?: boolean;
}

@ObjectType()
export class ImportConstraintPayload {
  @Field(() => ConstraintModel) constraint: Constraint;
  @Field({ description: 'true: a new constraint; false: the constraint of that name, updated.' }) created: boolean;
}
