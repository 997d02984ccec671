import { ArgsType, Field, ID, InputType, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType, OrderByInput, PageArgs } from '../../common/graphql/pagination';
import type { Constraint, PolicyAssignment } from '../../generated/prisma/client';
import { EnforcementAction, PolicyScope } from '../../generated/prisma/enums';
import { ConstraintModel } from '../constraints/constraint.model';
import { StagedRolloutInput } from '../staged-rollouts/staged-rollout.model';

registerEnumType(PolicyScope, {
  name: 'PolicyScope',
  description: 'Where an assignment applies: organization → site and cluster group → cluster → namespace; organization → workspace → namespace.',
});

@ObjectType('PolicyAssignment', { description: 'A constraint assigned to a scope, optionally narrowed by cluster and namespace label selectors.' })
export class PolicyAssignmentModel {
  @Field(() => ID) id: string;
  @Field(() => ID) constraintId: string;
  @Field(() => PolicyScope) scope: PolicyScope;
  @Field({ description: 'Kubernetes label selector over cluster labels ("" selects every cluster of the scope).' }) labelSelector: string;
  @Field({ description: 'Kubernetes label selector over namespace labels ("" selects every namespace).' }) namespaceSelector: string;
  @Field(() => [String]) excludedNamespaces: string[];
  @Field(() => EnforcementAction, { nullable: true, description: "null: the constraint's own action." }) enforcementAction: EnforcementAction | null;
  @Field() createdBy: string;
  @Field() createdAt: Date;
  @Field() updatedAt: Date;
}

export const PolicyAssignmentConnection = ConnectionType(PolicyAssignmentModel, 'PolicyAssignment');

export enum PolicyAssignmentSortField {
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
}
registerEnumType(PolicyAssignmentSortField, { name: 'PolicyAssignmentSortField' });
export const PolicyAssignmentOrderBy = OrderByInput('PolicyAssignmentOrderBy', PolicyAssignmentSortField, PolicyAssignmentSortField.CREATED_AT);
export type PolicyAssignmentOrderBy = InstanceType<typeof PolicyAssignmentOrderBy>;

@InputType()
export class PolicyAssignmentFilter {
  @Field(() => ID, { nullable: true }) constraintId?: string;
  @Field(() => PolicyScope, { nullable: true }) scope?: PolicyScope;
  @Field(() => ID, { nullable: true, description: 'The organization, site, cluster group, cluster or workspace assigned to.' }) scopeId?: string;
}

@ArgsType()
export class PolicyAssignmentsArgs extends PageArgs {
  @Field(() => PolicyAssignmentFilter, { nullable: true }) filter?: PolicyAssignmentFilter;
  @Field(() => PolicyAssignmentOrderBy, { nullable: true }) orderBy?: PolicyAssignmentOrderBy;
}

@InputType()
export class AssignPolicyInput {
  @Field(() => ID, { description: 'A constraint whose template version is not DEPRECATED.' }) constraintId: string;
  @Field(() => PolicyScope) scope: PolicyScope;
  @Field(() => ID, { description: "The id of the scope: your organization's id for ORGANIZATION." }) scopeId: string;
  @Field({ nullable: true, description: 'Cluster label selector, e.g. "tier=edge,env in (prod,stage)". Default: every cluster.' }) labelSelector?: string;
  @Field({ nullable: true, description: 'Namespace label selector. Default: every namespace.' }) namespaceSelector?: string;
  @Field(() => [String], { nullable: true, description: 'Default: farpoint-system and kube-system.' }) excludedNamespaces?: string[];
  @Field(() => EnforcementAction, { nullable: true, description: "Default: the constraint's." }) enforcementAction?: EnforcementAction;
  @Field({ nullable: true, description: "Urgent: clusters take it at once, outside their site's maintenance windows (default false: at the next window)." }) urgent?: boolean;
  @Field(() => StagedRolloutInput, { nullable: true, description: 'Roll the new assignment out in waves (default: to every cluster it reaches at once).' })
  rollout?: StagedRolloutInput;
}

@InputType()
export class UpdatePolicyAssignmentInput {
  @Field({ nullable: true }) labelSelector?: string;
  @Field({ nullable: true }) namespaceSelector?: string;
  @Field(() => [String], { nullable: true, description: 'Replaces the excluded namespaces.' }) excludedNamespaces?: string[];
  @Field(() => EnforcementAction, { nullable: true, description: "null: the constraint's own action." }) enforcementAction?: EnforcementAction | null;
  @Field({ nullable: true, description: "Urgent: clusters take it at once, outside their site's maintenance windows (default false: at the next window)." }) urgent?: boolean;
  @Field(() => StagedRolloutInput, {
    nullable: true,
    description: 'Roll the change out in waves; clusters of unreleased waves keep the assignment as it was (default: every cluster at once).',
  })
  rollout?: StagedRolloutInput;
}

@ObjectType({ description: 'A policy in force at a cluster or namespace, and where it came from.' })
export class EffectivePolicy {
  @Field(() => PolicyAssignmentModel, { description: 'The assignment it comes from.' }) assignment: PolicyAssignment;
  @Field(() => ConstraintModel) constraint: Constraint;
  @Field(() => EnforcementAction, { description: "The assignment's action, else the constraint's." }) enforcementAction: EnforcementAction;
  @Field(() => PolicyScope, { description: 'The level it is inherited from.' }) scope: PolicyScope;
  @Field(() => ID) scopeId: string;
  @Field() scopeName: string;
}
