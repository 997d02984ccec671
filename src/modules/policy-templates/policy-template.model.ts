import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType, OrderByInput, PageArgs } from '../../common/graphql/pagination';
import type { PolicyTemplate, PolicyTemplateVersion } from '../../generated/prisma/client';
import { PolicyCompileStatus, PolicyLifecycle, PolicySeverity, RegoVersion } from '../../generated/prisma/enums';
import { JSONObjectScalar } from './json-object.scalar';

@ObjectType({ description: 'A kind a referential template reads from data.inventory; "" is the core group.' })
export class SyncKind {
  @Field() group: string;
  @Field() version: string;
  @Field() kind: string;
}

@InputType()
export class SyncKindInput {
  @Field({ description: '"" for the core group, e.g. networking.k8s.io.' }) group: string;
  @Field({ description: 'e.g. v1.' }) version: string;
  @Field({ description: 'e.g. Ingress.' }) kind: string;
}

registerEnumType(PolicyCompileStatus, { name: 'PolicyCompileStatus', description: 'QUEUED → COMPILING → COMPILED (opa built the WebAssembly) or FAILED (see diagnostics).' });
registerEnumType(PolicyLifecycle, { name: 'PolicyLifecycle', description: 'DRAFT → PUBLISHED (compiled, tests passing) → DEPRECATED (no new constraints may use it).' });
registerEnumType(RegoVersion, { name: 'RegoVersion', description: "V0: Gatekeeper's Rego (compiled with --v0-compatible); V1: OPA 1.x Rego." });
registerEnumType(PolicySeverity, { name: 'PolicySeverity' });

export enum RegoTestOutcome {
  PASS = 'PASS',
  FAIL = 'FAIL',
  ERROR = 'ERROR',
  SKIP = 'SKIP',
}
registerEnumType(RegoTestOutcome, { name: 'RegoTestOutcome' });

@ObjectType({ description: 'Where opa refused the Rego: file, line and column, and why.' })
export class PolicyDiagnostic {
  @Field({ description: 'template.rego, lib-<n>.rego or the test file name.' }) file: string;
  @Field(() => Int, { nullable: true }) line: number | null;
  @Field(() => Int, { nullable: true }) column: number | null;
  @Field({ description: "opa's code (rego_parse_error, rego_type_error, …), or missing_violation_rule, unsupported_builtin." }) code: string;
  @Field() message: string;
}

@ObjectType({ description: "One of the author's Rego tests." })
export class RegoTest {
  @Field({ description: 'File name, ending in _test.rego.' }) name: string;
  @Field() source: string;
}

@InputType()
export class RegoTestInput {
  @Field({ description: 'File name, ending in _test.rego.' }) name: string;
  @Field() source: string;
}

@ObjectType({ description: "The result of one test rule of the author's Rego tests." })
export class RegoTestResult {
  @Field() package: string;
  @Field() name: string;
  @Field() file: string;
  @Field(() => Int) line: number;
  @Field(() => RegoTestOutcome) outcome: RegoTestOutcome;
  @Field(() => String, { nullable: true }) error: string | null;
}

@ObjectType({ description: 'A compiled policy: the WebAssembly module, stored once by its SHA-256.' })
export class PolicyBundleInfo {
  @Field({ description: 'Lowercase hex SHA-256 of the WebAssembly bytes.' }) sha256: string;
  @Field(() => Int, { description: 'Bytes.' }) size: number;
  @Field({ description: 'The rule evaluated: <package path>/violation.' }) entrypoint: string;
}

@ObjectType('PolicyTemplateVersion', { description: 'One immutable version of a template: its Rego, parameter schema, tests, and what the compiler made of them.' })
export class PolicyTemplateVersionModel {
  @Field(() => ID) id: string;
  @Field(() => ID) templateId: string;
  @Field(() => Int, { description: '1, 2, … per template.' }) version: number;
  @Field() kind: string;
  @Field() title: string;
  @Field(() => String, { nullable: true }) description: string | null;
  @Field(() => String, { nullable: true }) category: string | null;
  @Field(() => PolicySeverity) severity: PolicySeverity;
  @Field() rego: string;
  @Field(() => [String]) libs: string[];
  @Field(() => JSONObjectScalar, { nullable: true, description: 'JSON schema of the constraint parameters (Gatekeeper openAPIV3Schema).' }) parametersSchema: Record<
    string,
    unknown
  > | null;
  @Field(() => RegoVersion) regoVersion: RegoVersion;
  @Field(() => [SyncKind], { description: 'What the template reads from data.inventory; the agents of the clusters it is assigned to watch these kinds.' })
  syncKinds: SyncKind[];
  @Field(() => PolicyCompileStatus) compileStatus: PolicyCompileStatus;
  @Field(() => Int, { description: 'Compile runs started (a run whose worker died counts).' }) compileAttempts: number;
  @Field(() => PolicyLifecycle) lifecycle: PolicyLifecycle;
  @Field(() => Date, { nullable: true }) compiledAt: Date | null;
  @Field(() => Date, { nullable: true }) publishedAt: Date | null;
  @Field(() => Date, { nullable: true }) deprecatedAt: Date | null;
  @Field() createdBy: string;
  @Field() createdAt: Date;
}

@ObjectType('PolicyTemplate', {
  description: 'A policy, in Gatekeeper terms a ConstraintTemplate: a kind with immutable versions. Built-in recipes belong to no organization and are read-only.',
})
export class PolicyTemplateModel {
  @Field(() => ID) id: string;
  @Field({ description: "Gatekeeper's metadata.name: the kind in lower case." }) name: string;
  @Field({ description: 'The Constraint kind this template defines.' }) kind: string;
  @Field() createdBy: string;
  @Field() createdAt: Date;
  @Field() updatedAt: Date;
}

export const PolicyTemplateConnection = ConnectionType(PolicyTemplateModel, 'PolicyTemplate');

export enum PolicyTemplateSortField {
  NAME = 'NAME',
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
}
registerEnumType(PolicyTemplateSortField, { name: 'PolicyTemplateSortField' });
export const PolicyTemplateOrderBy = OrderByInput('PolicyTemplateOrderBy', PolicyTemplateSortField, PolicyTemplateSortField.NAME);
export type PolicyTemplateOrderBy = InstanceType<typeof PolicyTemplateOrderBy>;

@InputType()
export class PolicyTemplateFilter {
  @Field({ nullable: true, description: "true: only the built-in recipes; false: only your organization's templates." }) builtIn?: boolean;
  @Field({ nullable: true }) kind?: string;
}

@ArgsType()
export class PolicyTemplatesArgs extends PageArgs {
  @Field(() => PolicyTemplateFilter, { nullable: true }) filter?: PolicyTemplateFilter;
  @Field(() => PolicyTemplateOrderBy, { nullable: true }) orderBy?: PolicyTemplateOrderBy;
}

@InputType()
export class CreatePolicyTemplateInput {
  @Field({ description: 'The Constraint kind, e.g. K8sRequiredLabels; the template is named after it in lower case.' }) kind: string;
}

@InputType()
export class CreatePolicyTemplateVersionInput {
  @Field() title: string;
  @Field({ nullable: true }) description?: string;
  @Field({ nullable: true, description: 'e.g. supply-chain, pod-security.' }) category?: string;
  @Field(() => PolicySeverity, { nullable: true, description: 'Default MEDIUM.' }) severity?: PolicySeverity;
  @Field({ description: 'The main module: a package with a violation[{"msg": m, "details": d}] rule over input.review and input.parameters.' }) rego: string;
  @Field(() => [String], { nullable: true, description: 'Library modules the main module imports (data.lib.…).' }) libs?: string[];
  @Field(() => JSONObjectScalar, { nullable: true, description: 'JSON schema the constraint parameters must satisfy.' }) parametersSchema?: Record<string, unknown>;
  @Field(() => [RegoTestInput], { nullable: true, description: 'Rego tests run by opa test at compile time; all must pass to publish.' }) tests?: RegoTestInput[];
  @Field(() => RegoVersion, { nullable: true, description: "Default V0 (Gatekeeper's)." }) regoVersion?: RegoVersion;
  @Field(() => [SyncKindInput], {
    nullable: true,
    description: 'What a referential template reads from data.inventory (as metadata.gatekeeper.sh/requires-sync-data); agents watch these kinds. At most 16.',
  })
  syncKinds?: SyncKindInput[];
}

@ObjectType({ description: 'The template and version a Gatekeeper ConstraintTemplate was imported as.' })
export class ImportConstraintTemplatePayload {
  @Field(() => PolicyTemplateModel) template: PolicyTemplate;
  @Field(() => PolicyTemplateVersionModel) version: PolicyTemplateVersion;
  @Field({ description: 'true: a new template; false: a new version of the template of that name (or its newest version, unchanged).' }) created: boolean;
  @Field(() => [String], { description: 'What was imported differently than written, e.g. a CEL engine beside the Rego.' }) warnings: string[];
}

@ObjectType('PolicyTemplateVersionCompiled', { description: 'A version of the template finished compiling (COMPILED or FAILED).' })
export class PolicyTemplateVersionCompiledModel {
  @Field(() => ID) templateId: string;
  @Field(() => ID) versionId: string;
  @Field(() => Int) version: number;
  @Field(() => PolicyCompileStatus) compileStatus: PolicyCompileStatus;
  @Field(() => [PolicyDiagnostic]) diagnostics: PolicyDiagnostic[];
  @Field(() => Boolean, { nullable: true, description: 'Whether every Rego test passed (null when the Rego did not compile).' }) testsPassed: boolean | null;
  @Field(() => String, { nullable: true }) bundleSha256: string | null;
  @Field() occurredAt: string;
}
