import { Injectable, Logger } from '@nestjs/common';
import { Cluster, ClusterHealth, ClusterPhase } from '../../generated/prisma/client';
import { PubSubGateway } from '../../infra/redis/pubsub.gateway';
import { Tx } from '../../infra/database/transaction';
import { ClusterRepository } from '../clusters/cluster.repository';
import { EventRecorder } from '../events/event.recorder';
import { EventObjectKind, EventType } from '../events/event-types';

export interface ClusterStatusChange {
  organizationId: string;
  clusterId: string;
  clusterName: string;
  phase: ClusterPhase;
  previousPhase: ClusterPhase;
  health: ClusterHealth;
  previousHealth: ClusterHealth;
  reason: string | null;
  actor: string;
  occurredAt: string;
}

const clusterStatusChannel = (organizationId: string) => `cluster-status:${organizationId}`;

/**
 * The one way to change a cluster's phase or health: writes the row and an Event in the caller's
 * transaction, and publishes the change to subscribers once the caller has committed. Every write is
 * a compare-and-set on the state the caller decided from, so a decision made on a stale read never
 * overwrites a change committed since.
 */
@Injectable()
export class ClusterStatusService {
  private readonly logger = new Logger(ClusterStatusService.name);

  constructor(
    private readonly clusters: ClusterRepository,
    private readonly events: EventRecorder,
    private readonly pubsub: PubSubGateway,
  ) {}

  /**
   * Moves `cluster` (the state the caller decided from) to `next`. Returns the change to publish after
   * commit, or null when nothing changed: `next` is the current state, or the row no longer has the
   * phase and health of `cluster` (nor its lastHeartbeatAt, with `sameHeartbeat`) because someone else
   * decided since. Null means no Event and nothing to publish. Callers that must win read `cluster`
   * under a row lock in the same transaction (ClusterRepository.lock, AgentClusterRepository.lock), so
   * for them the compare cannot fail.
   */
  async transition(
    tx: Tx,
    cluster: Cluster,
    next: { phase?: ClusterPhase; health?: ClusterHealth; reason?: string | null },
    actor: string,
    options: { sameHeartbeat?: boolean } = {},
  ): Promise<ClusterStatusChange | null> {
    const phase = next.phase ?? cluster.phase;
    const health = next.health ?? cluster.health;
    if (phase === cluster.phase && health === cluster.health) {
      return null;
    }
    const reason = next.reason !== undefined ? next.reason : phase === cluster.phase ? cluster.phaseReason : null;
    const expected = { phase: cluster.phase, health: cluster.health, ...(options.sameHeartbeat ? { lastHeartbeatAt: cluster.lastHeartbeatAt } : {}) };
    if (!(await this.clusters.updateStatusIf(tx, cluster.id, expected, { phase, health, phaseReason: reason }))) {
      this.logger.debug(`status of cluster ${cluster.id} changed since ${actor} read it; its ${phase}/${health} is not applied`);
      return null;
    }
    const change: ClusterStatusChange = {
      organizationId: cluster.organizationId,
      clusterId: cluster.id,
      clusterName: cluster.name,
      phase,
      previousPhase: cluster.phase,
      health,
      previousHealth: cluster.health,
      reason,
      actor,
      occurredAt: new Date().toISOString(),
    };
    if (phase !== cluster.phase) {
      await this.events.record(tx, {
        organizationId: cluster.organizationId,
        objectKind: EventObjectKind.Cluster,
        objectId: cluster.id,
        type: EventType.ClusterPhaseChanged,
        severity: phase === 'ERROR' ? 'ERROR' : 'INFO',
        message: `Cluster ${cluster.name} is now ${phase} (was ${cluster.phase})${reason ? `: ${reason}` : ''}`,
        actor,
        data: { from: cluster.phase, to: phase, reason },
      });
    }
    if (health !== cluster.health) {
      await this.events.record(tx, {
        organizationId: cluster.organizationId,
        objectKind: EventObjectKind.Cluster,
        objectId: cluster.id,
        type: EventType.ClusterHealthChanged,
        severity: health === 'HEALTHY' ? 'INFO' : 'WARNING',
        message: `Cluster ${cluster.name} health is now ${health} (was ${cluster.health})`,
        actor,
        data: { from: cluster.health, to: health },
      });
    }
    return change;
  }

  /** Publishes committed changes; a Redis hiccup loses a live notification, never the change itself. */
  async publish(changes: (ClusterStatusChange | null)[]): Promise<void> {
    for (const change of changes) {
      if (!change) {
        continue;
      }
      await this.pubsub
        .publish(clusterStatusChannel(change.organizationId), change)
        .catch((error: Error) => this.logger.warn(`could not publish status of ${change.clusterId}: ${error.message}`));
    }
  }

  subscribe(organizationId: string): AsyncIterableIterator<ClusterStatusChange> {
    return this.pubsub.iterate<ClusterStatusChange>(clusterStatusChannel(organizationId));
  }
}
