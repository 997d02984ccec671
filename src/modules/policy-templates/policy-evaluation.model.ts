import { Field, ID, InputType, ObjectType, registerEnumType } from '@nestjs/graphql';
import { EnforcementAction, RegoVersion } from '../../generated/prisma/enums';
import GraphQLJSON from '../events/json.scalar';
import { JSONObjectScalar } from './json-object.scalar';

registerEnumType(EnforcementAction, {
  name: 'EnforcementAction',
  description: 'DENY refuses the request, WARN admits it with warnings, DRYRUN admits it and only records the violations.',
});

export enum AdmissionOperation {
  CREATE = 'CREATE',
  UPDATE = 'UPDATE',
  DELETE = 'DELETE',
  CONNECT = 'CONNECT',
}
registerEnumType(AdmissionOperation, { name: 'AdmissionOperation' });

@InputType({ description: 'Rego that is not saved as a version: compiled on the fly (at most POLICY_MAX_REGO_BYTES).' })
export class UnsavedPolicyInput {
  @Field() rego: string;
  @Field(() => [String], { nullable: true }) libs?: string[];
  @Field(() => RegoVersion, { nullable: true, description: 'Default V0.' }) regoVersion?: RegoVersion;
  @Field(() => JSONObjectScalar, { nullable: true, description: 'When given, the parameters are checked against it.' }) parametersSchema?: Record<string, unknown>;
}

@InputType({ isOneOf: true, description: 'Exactly one: a saved version, or unsaved Rego.' })
export class PolicySourceInput {
  @Field(() => ID, { nullable: true, description: 'A COMPILED version of one of your templates or of a built-in recipe.' }) templateVersionId?: string;
  @Field(() => UnsavedPolicyInput, { nullable: true }) unsaved?: UnsavedPolicyInput;
}

@InputType({ isOneOf: true, description: 'Exactly one: a Kubernetes object (reviewed as a CREATE unless operation says otherwise), or a full AdmissionReview (or its request).' })
export class EvaluationTargetInput {
  @Field(() => JSONObjectScalar, { nullable: true }) object?: Record<string, unknown>;
  @Field(() => JSONObjectScalar, { nullable: true, description: 'admission.k8s.io/v1 AdmissionReview, or its `request`.' }) admissionReview?: Record<string, unknown>;
}

@InputType()
export class EvaluatePolicyInput {
  @Field(() => PolicySourceInput) policy: PolicySourceInput;
  @Field(() => EvaluationTargetInput) target: EvaluationTargetInput;
  @Field(() => AdmissionOperation, { nullable: true, description: 'For `object`: default CREATE.' }) operation?: AdmissionOperation;
  @Field(() => JSONObjectScalar, { nullable: true, description: "input.parameters; checked against the version's schema." }) parameters?: Record<string, unknown>;
  @Field(() => JSONObjectScalar, {
    nullable: true,
    description: "Gatekeeper's match (kinds, namespaces, excludedNamespaces, labelSelector, namespaceSelector, scope, name); none matches everything.",
  })
  match?: Record<string, unknown>;
  @Field(() => JSONObjectScalar, {
    nullable: true,
    description: "data.inventory in Gatekeeper's layout: { cluster: {groupVersion: {kind: {name: object}}}, namespace: {ns: {groupVersion: {kind: {name: object}}}} }.",
  })
  inventory?: Record<string, unknown>;
  @Field(() => JSONObjectScalar, { nullable: true, description: "The object's Namespace, for a match with namespaceSelector." }) namespaceObject?: Record<string, unknown>;
}

@ObjectType('EvaluationViolation', { description: 'A violation found by evaluatePolicy (audit violations are PolicyViolation).' })
export class EvaluationViolation {
  @Field() message: string;
  @Field(() => GraphQLJSON, { nullable: true }) details: unknown;
}

@ObjectType({ description: 'What an admission webhook would do with these violations under one enforcement action.' })
export class EnforcementOutcome {
  @Field(() => EnforcementAction) enforcementAction: EnforcementAction;
  @Field({ description: 'Whether the request would be admitted.' }) allowed: boolean;
  @Field(() => String, { nullable: true, description: 'DENY: the refusal the client would see.' }) denialMessage: string | null;
  @Field(() => [String], { description: 'WARN: the warnings the client would see.' }) warnings: string[];
  @Field(() => [String], { description: 'DRYRUN (and every action): the violations recorded for audit.' }) recorded: string[];
}

@ObjectType()
export class EvaluatePolicyResult {
  @Field({ description: 'Whether the object matched (match, then the policy ran); no match means no violations.' }) matched: boolean;
  @Field(() => [EvaluationViolation]) violations: EvaluationViolation[];
  @Field(() => [EnforcementOutcome], { description: 'DENY, WARN and DRYRUN, in that order.' }) outcomes: EnforcementOutcome[];
  @Field() entrypoint: string;
  @Field() bundleSha256: string;
}
