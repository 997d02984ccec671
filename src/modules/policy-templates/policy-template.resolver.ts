import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { unpagedListCost } from '../../common/graphql/query-limits.plugin';
import { Principal } from '../../common/graphql/request-context';
import type { PolicyTemplate, PolicyTemplateVersion } from '../../generated/prisma/client';
import { PubSubGateway } from '../../infra/redis/pubsub.gateway';
import { RequireRole, Role } from '../auth/roles';
import { policyCompiledChannel } from './policy-compile.job';
import { testsPass } from './policy-compiler';
import { EvaluatePolicyInput, EvaluatePolicyResult } from './policy-evaluation.model';
import { PolicyEvaluationService } from './policy-evaluation.service';
import {
  CreatePolicyTemplateInput,
  CreatePolicyTemplateVersionInput,
  ImportConstraintTemplatePayload,
  PolicyBundleInfo,
  PolicyDiagnostic,
  PolicyTemplateConnection,
  PolicyTemplateModel,
  PolicyTemplatesArgs,
  PolicyTemplateVersionCompiledModel,
  PolicyTemplateVersionModel,
  RegoTest,
  RegoTestInput,
  RegoTestResult,
} from './policy-template.model';
import { PolicyTemplateService } from './policy-template.service';

@Resolver(() => PolicyTemplateModel)
export class PolicyTemplateResolver {
  constructor(
    private readonly service: PolicyTemplateService,
    private readonly evaluation: PolicyEvaluationService,
    private readonly pubsub: PubSubGateway,
  ) {}

  @Query(() => PolicyTemplateConnection, { description: "Your organization's templates and the built-in recipes." })
  @RequireRole(Role.VIEWER)
  policyTemplates(@CurrentPrincipal() principal: Principal, @Args() args: PolicyTemplatesArgs) {
    return this.service.list(principal, args);
  }

  @Query(() => PolicyTemplateModel)
  @RequireRole(Role.VIEWER)
  policyTemplate(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.get(principal, id);
  }

  @Query(() => PolicyTemplateVersionModel)
  @RequireRole(Role.VIEWER)
  policyTemplateVersion(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.getVersion(principal, id);
  }

  @Query(() => String, { description: 'A version as a Gatekeeper ConstraintTemplate (templates.gatekeeper.sh/v1 YAML); importing it again gives the same version.' })
  @RequireRole(Role.VIEWER)
  exportConstraintTemplate(@CurrentPrincipal() principal: Principal, @Args('versionId', { type: () => ID }) versionId: string) {
    return this.service.exportConstraintTemplate(principal, versionId);
  }

  @Query(() => EvaluatePolicyResult, {
    description:
      'Runs a version (or unsaved Rego) over an object or AdmissionReview: the violations, whether it matched, and what DENY, WARN and DRYRUN would do. Off the event loop, with a deadline (POLICY_EVALUATION_TIMEOUT).',
  })
  @RequireRole(Role.EDITOR)
  evaluatePolicy(@CurrentPrincipal() principal: Principal, @Args('input') input: EvaluatePolicyInput) {
    return this.evaluation.evaluate(principal, input);
  }

  @Mutation(() => PolicyTemplateModel, { description: 'A template without versions; add versions with createPolicyTemplateVersion.' })
  @RequireRole(Role.EDITOR)
  createPolicyTemplate(@CurrentPrincipal() principal: Principal, @Args('input') input: CreatePolicyTemplateInput) {
    return this.service.create(principal, input);
  }

  @Mutation(() => PolicyTemplateVersionModel, { description: 'A new immutable version (DRAFT, compile QUEUED); the worker compiles it with opa.' })
  @RequireRole(Role.EDITOR)
  createPolicyTemplateVersion(
    @CurrentPrincipal() principal: Principal,
    @Args('templateId', { type: () => ID }) templateId: string,
    @Args('input') input: CreatePolicyTemplateVersionInput,
  ) {
    return this.service.createVersion(principal, templateId, input);
  }

  @Mutation(() => ImportConstraintTemplatePayload, {
    description: 'A Gatekeeper ConstraintTemplate (v1 or v1beta1) as it is: a new template, or a new version of the template of that name.',
  })
  @RequireRole(Role.EDITOR)
  importConstraintTemplate(
    @CurrentPrincipal() principal: Principal,
    @Args('yaml') yaml: string,
    @Args('tests', { type: () => [RegoTestInput], nullable: true, description: 'Rego tests for the version (a ConstraintTemplate carries none).' }) tests?: RegoTestInput[],
  ) {
    return this.service.importConstraintTemplate(principal, yaml, tests ?? []);
  }

  @Mutation(() => PolicyTemplateVersionModel, { description: 'DRAFT → PUBLISHED; only a COMPILED version whose tests pass.' })
  @RequireRole(Role.EDITOR)
  publishPolicyTemplateVersion(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.publish(principal, id);
  }

  @Mutation(() => PolicyTemplateVersionModel, { description: 'DRAFT or PUBLISHED → DEPRECATED: constraints keep it, none may newly use it.' })
  @RequireRole(Role.EDITOR)
  deprecatePolicyTemplateVersion(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.deprecate(principal, id);
  }

  @Subscription(() => PolicyTemplateVersionCompiledModel, {
    description:
      'Streams each version of the template that finishes compiling (COMPILED or FAILED). Subscribe, then read compileStatus: a compile that finished before you subscribed is not sent.',
    resolve: (message: PolicyTemplateVersionCompiledModel) => message,
  })
  @RequireRole(Role.VIEWER)
  async policyTemplateVersionCompiled(@CurrentPrincipal() principal: Principal, @Args('templateId', { type: () => ID }) templateId: string) {
    const template = await this.service.get(principal, templateId);
    return this.pubsub.iterate<PolicyTemplateVersionCompiledModel>(policyCompiledChannel(template.id));
  }

  @ResolveField(() => Boolean, { description: 'A recipe shipped with Farpoint: read-only, for every organization.' })
  builtIn(@Parent() template: PolicyTemplate): boolean {
    return template.organizationId === null;
  }

  @ResolveField(() => [PolicyTemplateVersionModel], { description: 'Newest first.', complexity: unpagedListCost(5) })
  versions(@Parent() template: PolicyTemplate) {
    return this.service.versions(template.id);
  }

  @ResolveField(() => PolicyTemplateVersionModel, { nullable: true })
  latestVersion(@Parent() template: PolicyTemplate) {
    return this.service.latestVersion(template.id);
  }

  @ResolveField(() => PolicyTemplateVersionModel, { nullable: true, description: 'The newest PUBLISHED version.' })
  publishedVersion(@Parent() template: PolicyTemplate) {
    return this.service.latestVersion(template.id, 'PUBLISHED');
  }
}

@Resolver(() => PolicyTemplateVersionModel)
export class PolicyTemplateVersionResolver {
  constructor(private readonly service: PolicyTemplateService) {}

  @ResolveField(() => PolicyTemplateModel)
  template(@Parent() version: PolicyTemplateVersion & { template?: PolicyTemplate }, @CurrentPrincipal() principal: Principal) {
    return version.template ?? this.service.get(principal, version.templateId);
  }

  @ResolveField(() => [RegoTest])
  tests(@Parent() version: PolicyTemplateVersion): RegoTest[] {
    return version.tests as unknown as RegoTest[];
  }

  @ResolveField(() => [PolicyDiagnostic], { description: 'Why the compile FAILED: each problem with file, line and column.' })
  diagnostics(@Parent() version: PolicyTemplateVersion): PolicyDiagnostic[] {
    return version.diagnostics as unknown as PolicyDiagnostic[];
  }

  @ResolveField(() => [RegoTestResult])
  testResults(@Parent() version: PolicyTemplateVersion): RegoTestResult[] {
    return version.testResults as unknown as RegoTestResult[];
  }

  @ResolveField(() => Boolean, { nullable: true, description: 'Whether every Rego test passed; null until COMPILED.' })
  testsPassed(@Parent() version: PolicyTemplateVersion): boolean | null {
    return version.compileStatus === 'COMPILED' ? testsPass(version.testResults as unknown as RegoTestResult[]) : null;
  }

  @ResolveField(() => PolicyBundleInfo, { nullable: true, description: 'The compiled WebAssembly, once COMPILED.' })
  bundle(@Parent() version: PolicyTemplateVersion): PolicyBundleInfo | null {
    return version.bundleSha256 && version.bundleSize !== null && version.entrypoint
      ? { sha256: version.bundleSha256, size: version.bundleSize, entrypoint: version.entrypoint }
      : null;
  }
}
