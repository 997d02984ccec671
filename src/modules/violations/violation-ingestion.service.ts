import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { Tx } from '../../infra/database/transaction';
import { PubSubGateway } from '../../infra/redis/pubsub.gateway';
import type { AdmissionSummaryPayload, AuditResultPayload, AuditViolation } from '../../protocol';
import type { PolicyReportItem } from '../cluster-inventory/inventory-ingestion';
import { AssignmentRepository } from '../assignments/assignment.repository';
import { EventObjectKind, EventType } from '../events/event-types';
import { EventRecorder } from '../events/event.recorder';
import { ViolationReportErrors as E } from './violation-report.errors';
import { ReportedViolation, ViolationRepository } from './violation.repository';

/** What one audit changed, for violationsChanged subscribers. */
export interface ViolationsChange {
  organizationId: string;
  clusterId: string;
  assignmentId: string;
  opened: number;
  resolved: number;
  open: number;
  totalViolations: number;
  occurredAt: string;
}

export const violationsChannel = (organizationId: string) => `violations:${organizationId}`;

interface ClusterRef {
  id: string;
  organizationId: string;
  name: string;
}

/** uid when the agent sent one (stable across renames and re-creation races), else the object's coordinates. */
export function objectKeyOf(v: Pick<AuditViolation, 'uid' | 'apiGroup' | 'kind' | 'namespace' | 'name'>): string {
  return v.uid ? `uid:${v.uid}` : `ref:${v.apiGroup}/${v.kind}/${v.namespace}/${v.name}`;
}

/**
 * Ingestion of audit.result and admission.summary items, inside the reports transaction: an audit
 * upserts the open set of (cluster, assignment) and, when the set is complete, resolves the rows not in
 * it; an admission summary becomes one Event. An item naming an assignment that does not reach the
 * cluster, or an object another cluster holds, refuses the batch (the transaction rolls back).
 */
@Injectable()
export class ViolationIngestionService {
  private readonly logger = new Logger(ViolationIngestionService.name);

  constructor(
    private readonly violations: ViolationRepository,
    private readonly assignments: AssignmentRepository,
    private readonly events: EventRecorder,
    private readonly pubsub: PubSubGateway,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Items are the batch's new ones, in seq order. */
  async ingest(tx: Tx, cluster: ClusterRef, items: readonly PolicyReportItem[], now: Date): Promise<ViolationsChange[]> {
    if (items.length === 0) {
      return [];
    }
    const named = new Set<string>();
    for (const item of items) {
      if (item.kind === 'audit.result') {
        named.add(item.payload.assignmentId);
      } else {
        item.payload.entries.forEach((e) => e.assignmentId && named.add(e.assignmentId));
      }
    }
    const reaching = new Map((await this.assignments.reachingCluster(tx, cluster.organizationId, cluster.id, [...named])).map((a) => [a.id, a]));
    const changes: ViolationsChange[] = [];
    for (const item of items) {
      if (item.kind === 'audit.result') {
        const assignment = reaching.get(item.payload.assignmentId);
        if (!assignment) {
          throw E.assignmentRefused(item.payload.assignmentId, item.seq);
        }
        const change = await this.applyAudit(tx, cluster, { id: assignment.id, constraintId: assignment.constraintId }, item.seq, item.payload, now);
        if (change) {
          changes.push(change);
        }
      } else {
        const unknown = item.payload.entries.find((e) => e.assignmentId && !reaching.has(e.assignmentId));
        if (unknown?.assignmentId) {
          throw E.assignmentRefused(unknown.assignmentId, item.seq);
        }
        await this.recordAdmission(tx, cluster, item.payload);
      }
    }
    return changes;
  }

  /** After the transaction committed; a Redis hiccup loses the notification, never the rows. */
  async publish(changes: readonly ViolationsChange[]): Promise<void> {
    for (const change of changes) {
      await this.pubsub.publish(violationsChannel(change.organizationId), change).catch((error: Error) => this.logger.warn(`could not announce violations: ${error.message}`));
    }
  }

  private async applyAudit(
    tx: Tx,
    cluster: ClusterRef,
    assignment: { id: string; constraintId: string },
    seq: number,
    audit: AuditResultPayload,
    now: Date,
  ): Promise<ViolationsChange | null> {
    const previous = await this.violations.summary(tx, cluster.id, assignment.id);
    if (previous && audit.generation < previous.generation) {
      // An audit of an older desired state, queued while offline: the newer one already decided.
      return null;
    }
    const reported = new Map<string, ReportedViolation>();
    for (const v of audit.violations) {
      const objectKey = objectKeyOf(v);
      if (!reported.has(objectKey)) {
        reported.set(objectKey, {
          objectKey,
          objectUid: v.uid ?? null,
          kind: v.kind,
          apiGroup: v.apiGroup,
          namespace: v.namespace,
          name: v.name,
          message: v.message,
          action: v.action,
        });
      }
    }
    const uids = [...reported.values()].flatMap((r) => (r.objectUid ? [r.objectUid] : []));
    const foreign = await this.violations.uidsOfOtherClusters(tx, cluster.organizationId, cluster.id, uids);
    if (foreign.length > 0) {
      throw E.objectOfAnotherCluster(foreign, seq);
    }
    const keys = [...reported.keys()];
    const existing = new Map((await this.violations.existing(tx, cluster.id, assignment.id, keys)).map((r) => [r.objectKey, r.state]));
    // The per-cluster cap: rows already open stay; new (or reopened) ones only while there is room.
    const room = Math.max(0, this.config.VIOLATION_MAX_OPEN_PER_CLUSTER - (await this.violations.countOpen(tx, { clusterId: cluster.id, notAssignmentId: assignment.id })));
    const stillOpen = keys.filter((k) => existing.get(k) === 'OPEN');
    const fresh = keys.filter((k) => existing.get(k) !== 'OPEN').slice(0, Math.max(0, room - stillOpen.length));
    const kept = [...stillOpen.slice(0, room), ...fresh];
    await this.violations.upsertOpen(
      tx,
      { organizationId: cluster.organizationId, clusterId: cluster.id, assignmentId: assignment.id, constraintId: assignment.constraintId },
      kept.map((k) => reported.get(k)!),
      now,
    );
    // Only a complete, uncut set says what is gone; otherwise an object missing from it may still violate.
    const resolved = audit.complete && audit.totalViolations === audit.violations.length ? await this.violations.resolveAllBut(tx, cluster.id, assignment.id, keys, now) : 0;
    const open = await this.violations.countOpen(tx, { clusterId: cluster.id, assignmentId: assignment.id });
    await this.violations.saveSummary(tx, {
      clusterId: cluster.id,
      assignmentId: assignment.id,
      organizationId: cluster.organizationId,
      generation: audit.generation,
      complete: audit.complete,
      totalViolations: audit.totalViolations,
      openRows: open,
      auditedAt: now,
    });
    return {
      organizationId: cluster.organizationId,
      clusterId: cluster.id,
      assignmentId: assignment.id,
      opened: fresh.length,
      resolved,
      open,
      totalViolations: audit.totalViolations,
      occurredAt: now.toISOString(),
    };
  }

  private async recordAdmission(tx: Tx, cluster: ClusterRef, summary: AdmissionSummaryPayload): Promise<void> {
    const total = summary.entries.reduce((sum, e) => sum + e.count, 0);
    const byAction = (action: string) => summary.entries.filter((e) => e.action === action).reduce((sum, e) => sum + e.count, 0);
    await this.events.record(tx, {
      organizationId: cluster.organizationId,
      objectKind: EventObjectKind.Cluster,
      objectId: cluster.id,
      type: EventType.PolicyAdmissionSummary,
      severity: byAction('DENY') > 0 ? 'WARNING' : 'INFO',
      message: `Cluster ${cluster.name}: ${byAction('DENY')} refused, ${byAction('WARN')} warned, ${byAction('DRYRUN')} would have been refused by admission between ${summary.windowStart} and ${summary.windowEnd}`,
      actor: `agent:${cluster.name}`,
      data: { ...summary, total },
    });
  }
}
