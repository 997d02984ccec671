import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType, OrderByInput, PageArgs } from '../../common/graphql/pagination';
import { EnforcementAction, ViolationState } from '../../generated/prisma/enums';

registerEnumType(ViolationState, { name: 'ViolationState', description: 'OPEN while audits find the object violating; RESOLVED once a complete audit no longer does.' });

@ObjectType('PolicyViolation', {
  description: 'An existing object that violates a policy assignment on a cluster, from the agent audits.',
})
export class PolicyViolationModel {
  @Field(() => ID) id: string;
  @Field(() => ID) clusterId: string;
  @Field(() => ID) assignmentId: string;
  @Field(() => ID) constraintId: string;
  @Field() kind: string;
  @Field({ description: 'Empty for the core group.' }) apiGroup: string;
  @Field({ description: 'Empty for a cluster-scoped object.' }) namespace: string;
  @Field() name: string;
  @Field(() => String, { nullable: true, description: 'metadata.uid of the object, when the agent sent it.' }) objectUid: string | null;
  @Field() message: string;
  @Field(() => EnforcementAction) action: EnforcementAction;
  @Field(() => ViolationState) state: ViolationState;
  @Field() firstSeenAt: Date;
  @Field() lastSeenAt: Date;
  @Field(() => Date, { nullable: true }) resolvedAt: Date | null;
}

export const PolicyViolationConnection = ConnectionType(PolicyViolationModel, 'PolicyViolation');

export enum PolicyViolationSortField {
  FIRST_SEEN_AT = 'FIRST_SEEN_AT',
  LAST_SEEN_AT = 'LAST_SEEN_AT',
}
registerEnumType(PolicyViolationSortField, { name: 'PolicyViolationSortField' });
export const PolicyViolationOrderBy = OrderByInput('PolicyViolationOrderBy', PolicyViolationSortField, PolicyViolationSortField.FIRST_SEEN_AT);
export type PolicyViolationOrderBy = InstanceType<typeof PolicyViolationOrderBy>;

@InputType()
export class PolicyViolationFilter {
  @Field(() => ID, { nullable: true, description: 'Violations of constraints of any version of this template.' }) templateId?: string;
  @Field(() => ID, { nullable: true }) assignmentId?: string;
  @Field(() => ID, { nullable: true }) constraintId?: string;
  @Field(() => ID, { nullable: true }) clusterId?: string;
  @Field(() => ID, { nullable: true, description: 'Violations on the clusters of this site.' }) siteId?: string;
  @Field(() => ID, { nullable: true, description: 'Violations on the clusters of this cluster group.' }) groupId?: string;
  @Field({ nullable: true, description: 'Empty for cluster-scoped objects.' }) namespace?: string;
  @Field(() => EnforcementAction, { nullable: true }) action?: EnforcementAction;
  @Field(() => ViolationState, { nullable: true }) state?: ViolationState;
}

@ArgsType()
export class PolicyViolationsArgs extends PageArgs {
  @Field(() => PolicyViolationFilter, { nullable: true }) filter?: PolicyViolationFilter;
  @Field(() => PolicyViolationOrderBy, { nullable: true }) orderBy?: PolicyViolationOrderBy;
}

export enum ViolationGroupBy {
  CONSTRAINT = 'CONSTRAINT',
  ASSIGNMENT = 'ASSIGNMENT',
  CLUSTER = 'CLUSTER',
  SITE = 'SITE',
}
registerEnumType(ViolationGroupBy, { name: 'ViolationGroupBy' });

@ArgsType()
export class ViolationCountsArgs {
  @Field(() => ViolationGroupBy) by: ViolationGroupBy;
  @Field(() => PolicyViolationFilter, { nullable: true, description: 'state is ignored: only OPEN violations are counted.' }) filter?: PolicyViolationFilter;
}

@ObjectType({ description: 'Open violations by enforcement action.' })
export class ViolationsByAction {
  @Field(() => Int) deny: number;
  @Field(() => Int) warn: number;
  @Field(() => Int) dryrun: number;
}

@ObjectType({ description: 'Open violations of one constraint, assignment, cluster or site.' })
export class ViolationCount {
  @Field(() => ID, { nullable: true, description: 'The constraint, assignment, cluster or site id; null groups the clusters without a site (by SITE).' }) id: string | null;
  @Field(() => Int) open: number;
  @Field(() => ViolationsByAction) byAction: ViolationsByAction;
}

export enum ComplianceScope {
  CLUSTER = 'CLUSTER',
  SITE = 'SITE',
  FLEET = 'FLEET',
}
registerEnumType(ComplianceScope, { name: 'ComplianceScope' });

@ObjectType({ description: 'Compliance of the clusters in scope (DETACHED clusters are not counted), from their open audit violations.' })
export class ComplianceSummary {
  @Field(() => ComplianceScope) scope: ComplianceScope;
  @Field(() => Int) clusters: number;
  @Field(() => Int, { description: 'Clusters without open violations.' }) compliantClusters: number;
  @Field(() => Int) clustersWithViolations: number;
  @Field(() => Int) openViolations: number;
  @Field(() => ViolationsByAction) openByAction: ViolationsByAction;
}

@ObjectType({ description: 'What the assignment would block if it were DENY, from its open audit violations.' })
export class AssignmentImpact {
  @Field(() => Int, { description: 'Objects (open violation rows).' }) objects: number;
  @Field(() => Int, { description: 'Distinct (cluster, namespace) pairs; cluster-scoped objects are in none.' }) namespaces: number;
  @Field(() => Int) clusters: number;
  @Field(() => Int, { description: 'Distinct sites of those clusters (clusters without a site are in none).' }) sites: number;
  @Field(() => Int, { description: 'Violations the last audits reported in total, also beyond the rows kept (agent and per-cluster caps).' }) reportedViolations: number;
}

@ObjectType({ description: 'One audit of an assignment on a cluster changed its violations.' })
export class ViolationsChangedModel {
  @Field(() => ID) clusterId: string;
  @Field(() => ID) assignmentId: string;
  @Field(() => Int) opened: number;
  @Field(() => Int) resolved: number;
  @Field(() => Int, { description: 'Open violation rows of the assignment on the cluster now.' }) open: number;
  @Field(() => Int) totalViolations: number;
  @Field() occurredAt: string;
}
