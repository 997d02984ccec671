import type { AdmissionReviewRequest, ConstraintForEvaluation, ConstraintResult } from '../../policy-engine';
import { decide, parseAdmissionReview } from './admission-review';

const constraint = (name: string, enforcementAction: ConstraintForEvaluation['enforcementAction']): ConstraintForEvaluation => ({
  name,
  kind: 'K8sNoLatestTag',
  bundleSha256: 'a'.repeat(64),
  entrypoint: 'k8snolatesttag/violation',
  parameters: {},
  enforcementAction,
});

const request = (over: Partial<AdmissionReviewRequest> = {}): AdmissionReviewRequest & { uid: string } => ({
  uid: 'uid-1',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  namespace: 'shop',
  name: 'web',
  operation: 'CREATE',
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop' } },
  ...over,
});

// Every constraint finds one violation: the answer depends only on the actions.
const violating = (_: AdmissionReviewRequest, cs: readonly ConstraintForEvaluation[]): ConstraintResult[] =>
  cs.map((c) => ({ constraint: c.name, kind: c.kind, enforcementAction: c.enforcementAction, matched: true, violations: [{ msg: `${c.name} says no` }] }));

describe('decide', () => {
  it('refuses with every DENY constraint named and its message, and adds the WARN ones as warnings', () => {
    const { review, decision } = decide(
      request(),
      [constraint('no-latest', 'deny'), constraint('pinned', 'deny'), constraint('soft', 'warn'), constraint('trial', 'dryrun')],
      violating,
    );
    expect(review).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: 'uid-1',
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: '[no-latest] no-latest says no\n[pinned] pinned says no' },
        warnings: ['[soft] soft says no'],
      },
    });
    expect(decision).toMatchObject({ allowed: false, dryrun: ['[trial] trial says no'], kind: 'Pod', namespace: 'shop', name: 'web' });
  });

  it('admits a WARN violation with its warning, and a DRYRUN one silently (recorded in the decision)', () => {
    expect(decide(request(), [constraint('soft', 'warn')], violating).review.response).toEqual({ uid: 'uid-1', allowed: true, warnings: ['[soft] soft says no'] });
    const dry = decide(request(), [constraint('trial', 'dryrun')], violating);
    expect(dry.review.response).toEqual({ uid: 'uid-1', allowed: true });
    expect(dry.decision.dryrun).toEqual(['[trial] trial says no']);
  });

  it('admits when no constraint finds a violation', () => {
    const clean = () => [{ constraint: 'no-latest', kind: 'K', enforcementAction: 'deny' as const, matched: true, violations: [] }];
    expect(decide(request(), [constraint('no-latest', 'deny')], clean).review.response).toEqual({ uid: 'uid-1', allowed: true });
  });

  it('never decides for farpoint-system or kube-system, nor for those Namespace objects, nor a DELETE', () => {
    const evaluate = jest.fn(violating);
    const deny = [constraint('no-latest', 'deny')];
    for (const r of [
      request({ namespace: 'kube-system' }),
      request({ namespace: 'farpoint-system' }),
      request({ kind: { group: '', version: 'v1', kind: 'Namespace' }, namespace: undefined, name: 'kube-system' }),
      request({ operation: 'DELETE', object: null }),
    ]) {
      expect(decide(r, deny, evaluate).review.response).toEqual({ uid: 'uid-1', allowed: true });
    }
    expect(evaluate).not.toHaveBeenCalled();
    // A Namespace named otherwise is decided.
    expect(decide(request({ kind: { group: '', version: 'v1', kind: 'Namespace' }, namespace: undefined, name: 'shop' }), deny, evaluate).review.response.allowed).toBe(false);
  });

  it('lets an evaluation error through to the caller (the webhook answers 500, failurePolicy decides)', () => {
    const broken = () => {
      throw new Error('POLICY_EVALUATION_FAILED: boom');
    };
    expect(() => decide(request(), [constraint('no-latest', 'deny')], broken)).toThrow('POLICY_EVALUATION_FAILED: boom');
  });
});

describe('parseAdmissionReview', () => {
  const valid = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: request() };

  it('answers the request of an AdmissionReview v1', () => {
    expect(parseAdmissionReview(valid)).toEqual(request());
  });

  it.each([
    ['not an object', 'x', 'ADMISSION_REVIEW_INVALID: expected apiVersion admission.k8s.io/v1, kind AdmissionReview'],
    ['v1beta1', { ...valid, apiVersion: 'admission.k8s.io/v1beta1' }, 'ADMISSION_REVIEW_INVALID: expected apiVersion admission.k8s.io/v1, kind AdmissionReview'],
    ['no uid', { ...valid, request: { ...request(), uid: '' } }, 'ADMISSION_REVIEW_INVALID: request.uid is missing'],
    ['no kind', { ...valid, request: { ...request(), kind: { kind: 'Pod' } } }, 'ADMISSION_REVIEW_INVALID: request.kind must have group, version and kind'],
    ['bad operation', { ...valid, request: { ...request(), operation: 'PATCH' } }, 'ADMISSION_REVIEW_INVALID: request.operation "PATCH" is not CREATE, UPDATE, DELETE or CONNECT'],
  ])('refuses %s with ADMISSION_REVIEW_INVALID', (_, body, message) => {
    expect(() => parseAdmissionReview(body)).toThrow(message);
  });
});
