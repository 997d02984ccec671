import type { KubernetesObject } from '@kubernetes/client-node';
import { eventually } from '../../dev/eventually';
import { matchesConstraint } from '../../policy-engine/match';
import type { AdmissionReviewRequest, ConstraintForEvaluation, ConstraintResult } from '../../policy-engine/types';
import type { AuditResultPayload } from '../../protocol/reports';
import type { DesiredStateConstraint as DesiredConstraint } from '../desired-state-store';
import { capturedLog, FAST_BACKOFF } from '../testing/loops';
import type { AuditKube, AuditTarget, GroupKind, ObjectPage } from './audit-kube';
import { AuditLoop, type AuditLoopDeps, type AuditPolicies, kindsOf } from './audit-loop';

const A1 = '11111111-1111-4111-8111-111111111111';
const A2 = '22222222-2222-4222-8222-222222222222';

/** The kinds a test cluster serves, their objects, and the ones the agent may not list; lists in pages. */
class FakeAuditKube implements AuditKube {
  readonly objects = new Map<string, KubernetesObject[]>();
  readonly forbidden = new Set<string>();
  lists = 0;

  serve(group: string, kind: string, objects: KubernetesObject[]): void {
    this.objects.set(`${group}/${kind}`, objects);
  }

  resolve(kind: GroupKind): Promise<AuditTarget | null> {
    const served = this.objects.has(`${kind.group}/${kind.kind}`) || this.forbidden.has(`${kind.group}/${kind.kind}`);
    return Promise.resolve(served ? { ...kind, apiVersion: kind.group ? `${kind.group}/v1` : 'v1', namespaced: kind.kind !== 'Namespace' } : null);
  }

  list(target: AuditTarget, limit: number, continueToken?: string): Promise<ObjectPage | 'forbidden'> {
    this.lists++;
    const key = `${target.group}/${target.kind}`;
    if (this.forbidden.has(key)) {
      return Promise.resolve('forbidden');
    }
    const all = this.objects.get(key) ?? [];
    const start = Number(continueToken ?? 0);
    const items = all.slice(start, start + limit).map((o) => ({ ...o, apiVersion: target.apiVersion, kind: target.kind }));
    return Promise.resolve({ items, ...(start + limit < all.length ? { continueToken: String(start + limit) } : {}) });
  }
}

const pod = (namespace: string, name: string, image: string): KubernetesObject =>
  ({ metadata: { namespace, name, uid: `uid-${namespace}-${name}` }, spec: { containers: [{ name: 'c', image }] } }) as KubernetesObject;

const noLatest = (assignmentId: string | undefined, extra: Partial<DesiredConstraint> = {}): DesiredConstraint => ({
  name: `no-latest-${assignmentId ?? 'none'}`,
  kind: 'K8sNoLatestTag',
  bundleSha256: 'a'.repeat(64),
  entrypoint: 'k8snolatesttag/violation',
  parameters: {},
  enforcementAction: 'dryrun',
  match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], excludedNamespaces: ['legacy'] },
  ...(assignmentId ? { assignmentId } : {}),
  ...extra,
});

/** The engine's match for real; the policy itself a stand-in: an image ending in :latest violates. */
function fakePolicies(constraints: DesiredConstraint[], generation = 3): AuditPolicies & { evaluated: number } {
  const policies = {
    generation,
    constraints,
    evaluated: 0,
    evaluate(review: AdmissionReviewRequest, list: readonly ConstraintForEvaluation[], options?: { namespaceObject?: Record<string, unknown> }): ConstraintResult[] {
      policies.evaluated++;
      const containers = ((review.object?.spec as { containers?: { image: string }[] } | undefined)?.containers ?? []).filter((c) => c.image.endsWith(':latest'));
      return list.map((c) => {
        const matched = matchesConstraint(c.match, review, options?.namespaceObject);
        return {
          constraint: c.name,
          kind: c.kind,
          enforcementAction: c.enforcementAction,
          matched,
          violations: matched ? containers.map((x) => ({ msg: `image ${x.image} uses the latest tag` })) : [],
        };
      });
    },
  };
  return policies;
}

function setup(constraints: DesiredConstraint[], overrides: Partial<AuditLoopDeps> = {}) {
  const kube = new FakeAuditKube();
  const sent: AuditResultPayload[] = [];
  let now = 1_000_000;
  const policies = fakePolicies(constraints);
  const { log, messages } = capturedLog();
  const loop = new AuditLoop({
    kube,
    policies: () => policies,
    sink: { enqueue: (_kind, payload) => sent.push(payload) },
    log,
    backoff: FAST_BACKOFF,
    intervalMs: 60_000,
    minGapMs: 0,
    resendMs: 15 * 60_000,
    now: () => now,
    ...overrides,
  });
  return { kube, sent, loop, policies, messages, advance: (ms: number) => (now += ms) };
}

describe('AuditLoop', () => {
  it('reports per constraint the full set of violations, sorted, with uids; spared and excluded namespaces are not audited', async () => {
    const t = setup([noLatest(A1), noLatest(A2, { enforcementAction: 'deny', match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], namespaces: ['shop'] } })]);
    t.kube.serve('', 'Pod', [
      pod('shop', 'web', 'nginx:latest'),
      pod('backoffice', 'api', 'api:latest'),
      pod('shop', 'cart', 'cart:1.2'),
      pod('kube-system', 'dns', 'coredns:latest'),
      pod('legacy', 'old', 'old:latest'),
    ]);

    await t.loop.audit();

    expect(t.sent).toEqual([
      {
        assignmentId: A1,
        generation: 3,
        complete: true,
        totalViolations: 2,
        violations: [
          { kind: 'Pod', apiGroup: '', namespace: 'backoffice', name: 'api', uid: 'uid-backoffice-api', message: 'image api:latest uses the latest tag', action: 'DRYRUN' },
          { kind: 'Pod', apiGroup: '', namespace: 'shop', name: 'web', uid: 'uid-shop-web', message: 'image nginx:latest uses the latest tag', action: 'DRYRUN' },
        ],
      },
      {
        assignmentId: A2,
        generation: 3,
        complete: true,
        totalViolations: 1,
        violations: [{ kind: 'Pod', apiGroup: '', namespace: 'shop', name: 'web', uid: 'uid-shop-web', message: 'image nginx:latest uses the latest tag', action: 'DENY' }],
      },
    ]);
  });

  it('sends an unchanged result again only after resendMs, a changed one at once, and an empty set when the violations are gone', async () => {
    const t = setup([noLatest(A1)]);
    t.kube.serve('', 'Pod', [pod('shop', 'web', 'nginx:latest')]);
    await t.loop.audit();
    await t.loop.audit();
    expect(t.sent).toHaveLength(1);
    t.advance(15 * 60_000);
    await t.loop.audit();
    expect(t.sent).toHaveLength(2);
    t.kube.serve('', 'Pod', []);
    await t.loop.audit();
    expect(t.sent[2]).toEqual({ assignmentId: A1, generation: 3, complete: true, totalViolations: 0, violations: [] });
  });

  it('lists at most 100 violations with the exact total, from several pages, yielding to the event loop between chunks of 1,000 objects', async () => {
    const t = setup([noLatest(A1)], { pageSize: 300, chunkSize: 100 });
    t.kube.serve(
      '',
      'Pod',
      Array.from({ length: 1000 }, (_, i) => pod('shop', `p${String(i).padStart(4, '0')}`, 'nginx:latest')),
    );
    let evaluatedWhenTimerRan = -1;
    setTimeout(() => (evaluatedWhenTimerRan = t.policies.evaluated), 0);

    await t.loop.audit();

    expect(t.kube.lists).toBe(4);
    expect(t.sent[0].totalViolations).toBe(1000);
    expect(t.sent[0].violations).toHaveLength(100);
    expect(t.sent[0].violations[0].name).toBe('p0000');
    // A timer queued before the audit ran while it was still evaluating: the webhook is not starved.
    expect(evaluatedWhenTimerRan).toBeGreaterThanOrEqual(0);
    expect(evaluatedWhenTimerRan).toBeLessThan(1000);
  });

  it('reports complete: false for wildcard kinds, a kind the cluster does not serve, a kind it may not list and an object it cannot evaluate', async () => {
    const wildcard = noLatest(A1, { match: { kinds: [{ apiGroups: ['*'], kinds: ['Pod'] }] } });
    const unknown = noLatest(A2, { match: { kinds: [{ apiGroups: ['example.com'], kinds: ['Widget'] }] } });
    const t = setup([wildcard, unknown]);
    await t.loop.audit();
    expect(t.sent.map((p) => [p.assignmentId, p.complete])).toEqual([
      [A1, false],
      [A2, false],
    ]);

    const forbidden = setup([noLatest(A1, { match: { kinds: [{ apiGroups: ['networking.k8s.io'], kinds: ['Ingress'] }] } })]);
    forbidden.kube.forbidden.add('networking.k8s.io/Ingress');
    await forbidden.loop.audit();
    expect(forbidden.sent[0]).toMatchObject({ complete: false, totalViolations: 0 });
    expect(forbidden.messages()).toContain('the agent may not list a kind a constraint matches (RBAC); audit reports it incomplete');

    const broken = setup([noLatest(A1)]);
    broken.kube.serve('', 'Pod', [pod('shop', 'web', 'nginx:latest')]);
    broken.policies.evaluate = () => {
      throw new Error('POLICY_EVALUATION_FAILED');
    };
    await broken.loop.audit();
    expect(broken.sent[0]).toMatchObject({ complete: false });
  });

  it('skips constraints without an assignmentId (nothing to report them under) and audits nothing before a desired state runs', async () => {
    const t = setup([noLatest(undefined)]);
    t.kube.serve('', 'Pod', [pod('shop', 'web', 'nginx:latest')]);
    await t.loop.audit();
    expect(t.sent).toEqual([]);
    expect(t.messages()).toContain('a constraint of the desired state names no assignment; audit skips it');

    const none = new AuditLoop({ ...setup([]).loop['deps'], policies: () => null });
    expect(await none.audit()).toEqual([]);
  });

  it('audits on its interval and again soon after a watched object changed', async () => {
    const t = setup([noLatest(A1)]);
    t.kube.serve('', 'Pod', [pod('shop', 'web', 'nginx:latest')]);
    const stop = new AbortController();
    const running = t.loop.run(stop.signal);
    await eventually(() => t.sent.length === 1);
    t.kube.serve('', 'Pod', [pod('shop', 'web', 'nginx:latest'), pod('shop', 'new', 'new:latest')]);
    t.loop.clusterChanged();
    await eventually(() => t.sent.length === 2);
    expect(t.sent[1].totalViolations).toBe(2);
    stop.abort();
    await running;
  });

  it('kindsOf: apiGroups × kinds, null for wildcards or no kinds', () => {
    expect(kindsOf(noLatest(A1, { match: { kinds: [{ apiGroups: ['', 'apps'], kinds: ['Pod', 'Deployment'] }] } }))).toEqual([
      { group: '', kind: 'Pod' },
      { group: '', kind: 'Deployment' },
      { group: 'apps', kind: 'Pod' },
      { group: 'apps', kind: 'Deployment' },
    ]);
    expect(kindsOf(noLatest(A1, { match: {} }))).toBeNull();
    expect(kindsOf(noLatest(A1, { match: { kinds: [{ apiGroups: [''], kinds: ['*'] }] } }))).toBeNull();
  });
});
