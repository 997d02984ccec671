import type { AdmissionReviewRequest, ConstraintForEvaluation, ConstraintResult } from '../../policy-engine/types';
import { SPARED_NAMESPACES } from '../spared-namespaces';

export { SPARED_NAMESPACES };

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
}

export interface AdmissionReviewV1 {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** What one decision found, for reporting (DRYRUN results are recorded, never enforced). */
export interface AdmissionDecision {
  uid: string;
  kind: string;
  namespace?: string;
  name?: string;
  operation: string;
  allowed: boolean;
  denied: string[];
  warned: string[];
  dryrun: string[];
  /** The constraints that found violations, with the assignment each comes from (for admission summaries). */
  violated: { constraint: string; assignmentId?: string; action: ConstraintResult['enforcementAction'] }[];
}

export class AdmissionReviewError extends Error {
  readonly code = 'ADMISSION_REVIEW_INVALID';
  constructor(message: string) {
    super(`ADMISSION_REVIEW_INVALID: ${message}`);
    this.name = 'AdmissionReviewError';
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads an AdmissionReview v1 request; anything else is refused with ADMISSION_REVIEW_INVALID. */
export function parseAdmissionReview(body: unknown): AdmissionReviewRequest & { uid: string } {
  if (!isRecord(body) || body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') {
    throw new AdmissionReviewError('expected apiVersion admission.k8s.io/v1, kind AdmissionReview');
  }
  const request = body.request;
  if (!isRecord(request) || typeof request.uid !== 'string' || request.uid === '') {
    throw new AdmissionReviewError('request.uid is missing');
  }
  const kind = request.kind;
  if (!isRecord(kind) || typeof kind.kind !== 'string' || typeof kind.version !== 'string' || typeof kind.group !== 'string') {
    throw new AdmissionReviewError('request.kind must have group, version and kind');
  }
  if (!['CREATE', 'UPDATE', 'DELETE', 'CONNECT'].includes(request.operation as string)) {
    throw new AdmissionReviewError(`request.operation ${JSON.stringify(request.operation)} is not CREATE, UPDATE, DELETE or CONNECT`);
  }
  return request as unknown as AdmissionReviewRequest & { uid: string };
}

function spared(request: AdmissionReviewRequest): boolean {
  if (request.namespace && SPARED_NAMESPACES.includes(request.namespace)) {
    return true;
  }
  // A Namespace object is cluster-scoped: its own name says whether it is spared.
  return request.kind.kind === 'Namespace' && request.kind.group === '' && SPARED_NAMESPACES.includes(request.name ?? '');
}

const line = (r: ConstraintResult, msg: string) => `[${r.constraint}] ${msg}`;

/**
 * Gatekeeper's answer from the engine's results: DENY violations refuse (403, one line per
 * violation naming its constraint), WARN violations admit with warnings, DRYRUN ones only count.
 * `evaluate` may throw: the caller answers an error and the webhook's failurePolicy decides.
 */
export function decide(
  request: AdmissionReviewRequest & { uid: string },
  constraints: readonly ConstraintForEvaluation[],
  evaluate: (request: AdmissionReviewRequest, constraints: readonly ConstraintForEvaluation[]) => ConstraintResult[],
): { review: AdmissionReviewV1; decision: AdmissionDecision } {
  const denied: string[] = [];
  const warned: string[] = [];
  const dryrun: string[] = [];
  const violated: AdmissionDecision['violated'] = [];
  // DELETE carries no object, only oldObject: policies read review.object, so there is nothing to check.
  if (!spared(request) && request.operation !== 'DELETE' && constraints.length > 0) {
    // One result per constraint, in their order.
    for (const [i, result] of evaluate(request, constraints).entries()) {
      if (result.violations.length > 0) {
        const assignmentId = (constraints[i] as { assignmentId?: string } | undefined)?.assignmentId;
        violated.push({ constraint: result.constraint, action: result.enforcementAction, ...(assignmentId ? { assignmentId } : {}) });
      }
      const target = result.enforcementAction === 'deny' ? denied : result.enforcementAction === 'warn' ? warned : dryrun;
      for (const v of result.violations) {
        target.push(line(result, v.msg));
      }
    }
  }
  const allowed = denied.length === 0;
  const response: AdmissionResponse = {
    uid: request.uid,
    allowed,
    ...(allowed ? {} : { status: { code: 403, reason: 'Forbidden', message: denied.join('\n') } }),
    ...(warned.length > 0 ? { warnings: warned } : {}),
  };
  return {
    review: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response },
    decision: {
      uid: request.uid,
      kind: request.kind.kind,
      namespace: request.namespace,
      name: request.name,
      operation: request.operation,
      allowed,
      denied,
      warned,
      dryrun,
      violated,
    },
  };
}
