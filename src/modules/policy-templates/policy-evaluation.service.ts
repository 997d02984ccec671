import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { FarpointError } from '../../common/errors/farpoint-error';
import { Principal } from '../../common/graphql/request-context';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { AdmissionReviewRequest, assertKubernetesObject, ConstraintMatch, EvaluationPool, isPolicyEngineError, parseConstraintMatch, reviewForObject } from '../../policy-engine';
import { assertParameters, assertParametersSchema } from './parameters-schema';
import { PolicyCompiler } from './policy-compiler';
import { EnforcementOutcome, EvaluatePolicyInput, EvaluatePolicyResult } from './policy-evaluation.model';
import { PolicyTemplateRepository } from './policy-template.repository';
import { PolicyTemplateService } from './policy-template.service';
import { PolicyErrors } from './policy.errors';

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An AdmissionReview (admission.k8s.io/v1) or its request, checked into what the engine takes as input.review. */
export function admissionRequestOf(value: Record<string, unknown>, field: string): AdmissionReviewRequest {
  const request = value.kind === 'AdmissionReview' ? value.request : value;
  if (!isObject(request)) {
    throw FarpointError.badInput('An AdmissionReview must carry a request object.', field);
  }
  const gvk = request.kind;
  if (!isObject(gvk) || typeof gvk.kind !== 'string' || typeof gvk.version !== 'string' || (gvk.group !== undefined && typeof gvk.group !== 'string')) {
    throw FarpointError.badInput('request.kind must be {group, version, kind} of the object under review.', `${field}.request.kind`);
  }
  if (typeof request.operation !== 'string' || !OPERATIONS.has(request.operation)) {
    throw FarpointError.badInput('request.operation must be CREATE, UPDATE, DELETE or CONNECT.', `${field}.request.operation`);
  }
  for (const key of ['object', 'oldObject'] as const) {
    if (request[key] === undefined || request[key] === null) {
      continue;
    }
    try {
      assertKubernetesObject(request[key]);
    } catch (error) {
      if (isPolicyEngineError(error)) {
        throw PolicyErrors.fromEngine(error, `${field}.request.${key}`);
      }
      throw error;
    }
  }
  if (request.object == null && request.oldObject == null) {
    throw FarpointError.badInput('The request has neither object nor oldObject: there is nothing to review.', `${field}.request.object`);
  }
  return { ...(request as unknown as AdmissionReviewRequest), kind: { group: gvk.group ?? '', version: gvk.version, kind: gvk.kind } };
}

/** What DENY, WARN and DRYRUN would each do with the violations (Gatekeeper's webhook conventions). */
export function outcomesOf(violations: { msg: string }[], name: string): EnforcementOutcome[] {
  const messages = violations.map((v) => `[${name}] ${v.msg}`);
  const violated = messages.length > 0;
  return [
    {
      enforcementAction: 'DENY',
      allowed: !violated,
      denialMessage: violated ? `admission webhook "validation.gatekeeper.sh" denied the request:\n${messages.join('\n')}` : null,
      warnings: [],
      recorded: messages,
    },
    { enforcementAction: 'WARN', allowed: true, denialMessage: null, warnings: messages.map((m) => `[warn] ${m}`), recorded: messages },
    { enforcementAction: 'DRYRUN', allowed: true, denialMessage: null, warnings: [], recorded: messages },
  ];
}

/**
 * evaluatePolicy for authors: a saved version (its stored bundle) or unsaved Rego (compiled now with
 * the real opa), run through the engine's EvaluationPool, off the event loop and with a deadline.
 */
@Injectable()
export class PolicyEvaluationService implements OnModuleDestroy {
  private pool?: EvaluationPool;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly templates: PolicyTemplateRepository,
    private readonly service: PolicyTemplateService,
    private readonly compiler: PolicyCompiler,
  ) {}

  async evaluate(principal: Principal, input: EvaluatePolicyInput): Promise<EvaluatePolicyResult> {
    const review = this.reviewOf(input);
    const parameters = input.parameters ?? {};
    let match: ConstraintMatch | undefined;
    try {
      match = input.match ? parseConstraintMatch(input.match, 'input.match') : undefined;
    } catch (error) {
      if (isPolicyEngineError(error)) {
        throw PolicyErrors.fromEngine(error, 'input.match');
      }
      throw error;
    }
    const { bundle, entrypoint, name } = await this.policyOf(principal, input, parameters);
    let results;
    try {
      results = await this.evaluationPool().evaluate({
        bundles: [bundle],
        review,
        constraints: [{ name, kind: name, bundleSha256: bundle.sha256, entrypoint, parameters, ...(match ? { match } : {}), enforcementAction: 'deny' }],
        ...(input.inventory ? { inventory: input.inventory } : {}),
        ...(input.namespaceObject ? { namespaceObject: input.namespaceObject } : {}),
      });
    } catch (error) {
      if (isPolicyEngineError(error)) {
        throw PolicyErrors.fromEngine(error, 'input');
      }
      throw error;
    }
    const result = results[0];
    const violations = result.violations.map((v) => ({ message: v.msg, details: v.details ?? null }));
    return { matched: result.matched, violations, outcomes: outcomesOf(result.violations, name), entrypoint, bundleSha256: bundle.sha256 };
  }

  private reviewOf(input: EvaluatePolicyInput): AdmissionReviewRequest {
    const { object, admissionReview } = input.target;
    if ((object === undefined) === (admissionReview === undefined)) {
      throw FarpointError.badInput('Give exactly one of target.object and target.admissionReview.', 'input.target');
    }
    if (admissionReview) {
      return admissionRequestOf(admissionReview, 'input.target.admissionReview');
    }
    try {
      assertKubernetesObject(object);
    } catch (error) {
      if (isPolicyEngineError(error)) {
        throw PolicyErrors.fromEngine(error, 'input.target.object');
      }
      throw error;
    }
    return reviewForObject(object, input.operation ?? 'CREATE');
  }

  private async policyOf(
    principal: Principal,
    input: EvaluatePolicyInput,
    parameters: Record<string, unknown>,
  ): Promise<{ bundle: { sha256: string; wasm: Uint8Array }; entrypoint: string; name: string }> {
    const { templateVersionId, unsaved } = input.policy;
    if ((templateVersionId === undefined) === (unsaved === undefined)) {
      throw FarpointError.badInput('Give exactly one of policy.templateVersionId and policy.unsaved.', 'input.policy');
    }
    if (templateVersionId !== undefined) {
      const version = await this.service.getVersion(principal, templateVersionId, 'input.policy.templateVersionId');
      if (version.compileStatus !== 'COMPILED' || !version.bundleSha256 || !version.entrypoint) {
        throw PolicyErrors.notCompiled(version.version, version.compileStatus);
      }
      assertParameters(version.parametersSchema as Record<string, unknown> | null, parameters, 'input.parameters');
      const stored = await this.templates.findBundle(version.bundleSha256);
      if (!stored) {
        throw new Error(`bundle ${version.bundleSha256} of version ${version.id} is missing`);
      }
      return { bundle: { sha256: stored.sha256, wasm: stored.wasm }, entrypoint: version.entrypoint, name: version.template.name };
    }
    const source = { rego: unsaved!.rego, libs: unsaved!.libs ?? [], tests: [], regoVersion: unsaved!.regoVersion ?? ('V0' as const) };
    const bytes = [source.rego, ...source.libs].reduce((n, s) => n + Buffer.byteLength(s), 0);
    if (bytes > this.config.POLICY_MAX_REGO_BYTES) {
      throw PolicyErrors.regoTooLarge(bytes, this.config.POLICY_MAX_REGO_BYTES, 'input.policy.unsaved.rego');
    }
    if (unsaved!.parametersSchema) {
      assertParametersSchema(unsaved!.parametersSchema, 'input.policy.unsaved.parametersSchema');
      assertParameters(unsaved!.parametersSchema, parameters, 'input.parameters');
    }
    const outcome = await this.compiler.compile(source);
    if (outcome.status === 'FAILED') {
      throw PolicyErrors.compileFailed(outcome.diagnostics);
    }
    return { bundle: { sha256: outcome.sha256, wasm: outcome.wasm }, entrypoint: outcome.entrypoint, name: 'unsaved' };
  }

  private evaluationPool(): EvaluationPool {
    this.pool ??= new EvaluationPool({ size: this.config.POLICY_EVALUATION_THREADS, timeoutMs: this.config.POLICY_EVALUATION_TIMEOUT_MS });
    return this.pool;
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool?.close();
  }
}
