import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { EvaluateOptions } from '../../policy-engine/engine';
import { reviewForObject } from '../../policy-engine/kubernetes';
import type { AdmissionReviewRequest, ConstraintForEvaluation, ConstraintResult } from '../../policy-engine/types';
import { AgentProtocolLimits as L } from '../../protocol/limits';
import type { AuditResultPayload, AuditViolation } from '../../protocol/reports';
import { sleep, Wakeup } from '../backoff';
import type { Logger } from '../logger';
import { SPARED_NAMESPACES } from '../spared-namespaces';
import { type BackoffSettings, runLoop } from '../loop';
import type { AuditKube, AuditTarget, GroupKind } from './audit-kube';

/** A constraint of the desired state and the PolicyAssignment it comes from (the admission loop reads the same file). */
export type AuditConstraint = ConstraintForEvaluation & { assignmentId?: string };

/** The running desired state and the engine that has its bundles loaded (the admission loop's). */
export interface AuditPolicies {
  generation: number;
  constraints: readonly AuditConstraint[];
  evaluate(review: AdmissionReviewRequest, constraints: readonly ConstraintForEvaluation[], options?: EvaluateOptions): ConstraintResult[];
}

export interface AuditReportSink {
  enqueue(kind: 'audit.result', payload: AuditResultPayload): void;
}

export interface AuditLoopDeps {
  kube: AuditKube;
  /** null while no desired state runs. */
  policies: () => AuditPolicies | null;
  sink: AuditReportSink;
  log: Logger;
  backoff: BackoffSettings;
  /** FARPOINT_AUDIT_INTERVAL_SECONDS. */
  intervalMs: number;
  /** Least time between two audits, however often objects change. */
  minGapMs: number;
  /** An unchanged result is sent again after this long, so the API's lastSeenAt stays fresh. */
  resendMs: number;
  now: () => number;
  /** Objects evaluated between two yields to the event loop (the webhook shares it). */
  chunkSize?: number;
  /** Objects per list request. */
  pageSize?: number;
}

/** What one audit found for one constraint. */
interface Finding {
  constraint: AuditConstraint & { assignmentId: string };
  violations: AuditViolation[];
  complete: boolean;
}

const ACTION: Record<ConstraintResult['enforcementAction'], AuditViolation['action']> = { deny: 'DENY', warn: 'WARN', dryrun: 'DRYRUN' };

/** The kinds a constraint matches, or null when it matches by wildcard (or every kind): audit cannot enumerate those. */
export function kindsOf(c: ConstraintForEvaluation): GroupKind[] | null {
  const entries = c.match?.kinds;
  if (!entries || entries.length === 0) {
    return null;
  }
  const kinds: GroupKind[] = [];
  for (const entry of entries) {
    const groups = entry.apiGroups ?? [];
    const names = entry.kinds ?? [];
    if (groups.length === 0 || names.length === 0 || groups.includes('*') || names.includes('*')) {
      return null;
    }
    for (const group of groups) {
      for (const kind of names) {
        kinds.push({ group, kind });
      }
    }
  }
  return kinds;
}

function spared(object: { kind?: string; metadata?: { name?: string; namespace?: string } }): boolean {
  const namespace = object.metadata?.namespace ?? '';
  return SPARED_NAMESPACES.includes(namespace) || (object.kind === 'Namespace' && SPARED_NAMESPACES.includes(object.metadata?.name ?? ''));
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const byObject = (a: AuditViolation, b: AuditViolation) =>
  a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name) || a.apiGroup.localeCompare(b.apiGroup);

/**
 * Audit of existing objects: on an interval, and soon after a watched object changes, lists every
 * object of the kinds the running constraints match, evaluates them (yielding to the event loop
 * between chunks so the webhook keeps answering) and reports per constraint its full current set of
 * violations as one audit.result. A result equal to the last one sent is not sent again until
 * `resendMs` passed. A constraint whose kinds could not all be listed (wildcard kinds, a kind the
 * cluster does not serve, RBAC) or evaluated is reported with complete: false, so the API resolves nothing.
 */
export class AuditLoop {
  private readonly wakeup = new Wakeup();
  private changed = false;
  private lastAuditAt = Number.NEGATIVE_INFINITY;
  private readonly lastSent = new Map<string, { fingerprint: string; at: number }>();
  private readonly warned = new Set<string>();

  constructor(private readonly deps: AuditLoopDeps) {}

  /** A watched object changed: audit soon (not sooner than minGapMs after the last audit). */
  clusterChanged(): void {
    this.changed = true;
    this.wakeup.notify();
  }

  run(signal: AbortSignal): Promise<void> {
    const { log, backoff, now, minGapMs, intervalMs } = this.deps;
    return runLoop(
      { name: 'audit loop', log, backoff, wakeup: this.wakeup },
      async (ctx) => {
        const since = now() - this.lastAuditAt;
        if (since < minGapMs) {
          await sleep(minGapMs - since, signal);
        }
        this.changed = false;
        this.lastAuditAt = now();
        await this.audit();
        ctx.succeeded();
        return this.changed ? 0 : intervalMs;
      },
      signal,
    ).then(() => undefined);
  }

  /** One audit: list, evaluate, report what changed. Answers the findings (for tests and logs). */
  async audit(): Promise<Finding[]> {
    const policies = this.deps.policies();
    if (!policies) {
      return [];
    }
    const findings: Finding[] = [];
    for (const c of policies.constraints) {
      if (c.assignmentId) {
        findings.push({ constraint: c as Finding['constraint'], violations: [], complete: true });
      } else {
        this.warnOnce(`no-assignment:${c.name}`, 'a constraint of the desired state names no assignment; audit skips it', { constraint: c.name });
      }
    }
    if (findings.length === 0) {
      return [];
    }
    const plan = new Map<string, { kind: GroupKind; findings: Finding[] }>();
    for (const f of findings) {
      const kinds = kindsOf(f.constraint);
      if (!kinds) {
        f.complete = false;
        this.warnOnce(`wildcard:${f.constraint.name}`, 'a constraint matches kinds by wildcard; audit cannot list those and reports it incomplete', {
          constraint: f.constraint.name,
        });
        continue;
      }
      for (const kind of kinds) {
        const key = `${kind.group}/${kind.kind}`;
        const entry = plan.get(key) ?? { kind, findings: [] };
        if (!entry.findings.includes(f)) {
          entry.findings.push(f);
        }
        plan.set(key, entry);
      }
    }
    const namespaces = await this.namespaceObjects(findings);
    for (const { kind, findings: of } of plan.values()) {
      await this.auditKind(policies, kind, of, namespaces);
    }
    for (const f of findings) {
      this.report(policies.generation, f);
    }
    return findings;
  }

  /** Namespace objects by name, when some constraint selects namespaces by label; null when not needed or not listable. */
  private async namespaceObjects(findings: Finding[]): Promise<Map<string, Record<string, unknown>> | null> {
    const needing = findings.filter((f) => f.constraint.match?.namespaceSelector);
    if (needing.length === 0) {
      return null;
    }
    const target: AuditTarget = { group: '', kind: 'Namespace', apiVersion: 'v1', namespaced: false };
    const objects = new Map<string, Record<string, unknown>>();
    const listed = await this.listAll(target, async (items) => {
      for (const item of items) {
        objects.set(item.metadata?.name ?? '', item as unknown as Record<string, unknown>);
      }
    });
    if (!listed) {
      needing.forEach((f) => (f.complete = false));
      return null;
    }
    return objects;
  }

  private async auditKind(policies: AuditPolicies, kind: GroupKind, findings: Finding[], namespaces: Map<string, Record<string, unknown>> | null): Promise<void> {
    const target = await this.deps.kube.resolve(kind);
    if (!target) {
      findings.forEach((f) => (f.complete = false));
      this.warnOnce(
        `unknown:${kind.group}/${kind.kind}`,
        'the cluster does not serve a kind a constraint matches; audit reports it incomplete',
        kind as unknown as Record<string, unknown>,
      );
      return;
    }
    const constraints = findings.map((f) => f.constraint);
    const listed = await this.listAll(target, async (items) => {
      for (const item of items) {
        if (spared(item)) {
          continue;
        }
        const object = item as unknown as Record<string, unknown>;
        const namespace = item.metadata?.namespace ?? '';
        const namespaceObject = namespace && namespaces ? namespaces.get(namespace) : undefined;
        let results: ConstraintResult[];
        try {
          results = policies.evaluate(reviewForObject(object), constraints, namespaceObject ? { namespaceObject } : {});
        } catch (error) {
          // One object the engine cannot judge: the set of its constraints is not known to be full.
          findings.forEach((f) => (f.complete = false));
          this.warnOnce(`evaluate:${kind.group}/${kind.kind}`, 'audit could not evaluate an object', { error, kind: kind.kind, namespace, name: item.metadata?.name });
          continue;
        }
        results.forEach((result, i) => {
          if (result.violations.length === 0) {
            return;
          }
          findings[i].violations.push({
            kind: target.kind,
            apiGroup: target.group,
            namespace,
            name: item.metadata?.name ?? '',
            ...(item.metadata?.uid ? { uid: item.metadata.uid } : {}),
            message: clip(result.violations.map((v) => v.msg).join('; '), L.maxMessageLength),
            action: ACTION[result.enforcementAction],
          });
        });
      }
    });
    if (!listed) {
      findings.forEach((f) => (f.complete = false));
      this.warnOnce(
        `forbidden:${kind.group}/${kind.kind}`,
        'the agent may not list a kind a constraint matches (RBAC); audit reports it incomplete',
        kind as unknown as Record<string, unknown>,
      );
    }
  }

  /** Every page of the kind, handed over in chunks with a yield to the event loop after each. False when forbidden. */
  private async listAll(target: AuditTarget, each: (items: KubernetesObject[]) => Promise<void>): Promise<boolean> {
    const chunkSize = this.deps.chunkSize ?? 100;
    let continueToken: string | undefined;
    do {
      const page = await this.deps.kube.list(target, this.deps.pageSize ?? 500, continueToken);
      if (page === 'forbidden') {
        return false;
      }
      for (let i = 0; i < page.items.length; i += chunkSize) {
        await each(page.items.slice(i, i + chunkSize));
        await yieldToEventLoop();
      }
      continueToken = page.continueToken;
    } while (continueToken);
    return true;
  }

  private report(generation: number, f: Finding): void {
    const sorted = [...f.violations].sort(byObject);
    const payload: AuditResultPayload = {
      assignmentId: f.constraint.assignmentId,
      generation,
      complete: f.complete,
      totalViolations: sorted.length,
      violations: sorted.slice(0, L.maxAuditViolationsPerItem),
    };
    const fingerprint = JSON.stringify(payload);
    const last = this.lastSent.get(payload.assignmentId);
    const now = this.deps.now();
    if (last && last.fingerprint === fingerprint && now - last.at < this.deps.resendMs) {
      return;
    }
    this.deps.sink.enqueue('audit.result', payload);
    this.lastSent.set(payload.assignmentId, { fingerprint, at: now });
    this.deps.log.info('audit result queued', {
      assignmentId: payload.assignmentId,
      constraint: f.constraint.name,
      totalViolations: payload.totalViolations,
      complete: payload.complete,
    });
  }

  private warnOnce(key: string, message: string, fields: Record<string, unknown>): void {
    if (!this.warned.has(key)) {
      this.warned.add(key);
      this.deps.log.warn(message, fields);
    }
  }
}
