import { Injectable } from '@nestjs/common';
import { AgentCredential, ClusterHealth, ClusterPhase, Prisma } from '../../generated/prisma/client';
import { TransactionRunner, Tx } from '../../infra/database/transaction';
import { Directive, parseOrThrow, ReportsRequest, ReportsRequestSchema, ReportsResponse, summarizeInventory } from '../../protocol';
import { ClusterInventoryService } from '../cluster-inventory/cluster-inventory.service';
import { agentQueueOf, IngestOutcome, nextHealth } from '../cluster-inventory/inventory-ingestion';
import { ClusterStatusChange, ClusterStatusService } from '../cluster-status/cluster-status.service';
import { ClusterRepository } from '../clusters/cluster.repository';
import { EventRecorder } from '../events/event.recorder';
import { AgentClusterRepository, ClusterWithSite, jsonOrDbNull } from './agent-cluster.repository';
import { agentActor, AgentCredentialService } from './agent-credential.service';
import { AgentGatewayErrors as E } from './agent-gateway.errors';
import { EventObjectKind, EventType } from '../events/event-types';
import { ViolationIngestionService, ViolationsChange } from '../violations/violation-ingestion.service';

/**
 * POST /agent/v1/reports: idempotent, ordered ingestion. Under a lock on the cluster row, items at
 * or below the stored ackedSeq are skipped as duplicates and the rest are applied in seq order, all
 * in one transaction with the new ackedSeq, so a batch is stored completely or not at all.
 */
@Injectable()
export class AgentReportsService {
  constructor(
    private readonly clusters: AgentClusterRepository,
    private readonly clusterRows: ClusterRepository,
    private readonly inventory: ClusterInventoryService,
    private readonly credentials: AgentCredentialService,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly status: ClusterStatusService,
    private readonly violations: ViolationIngestionService,
  ) {}

  async ingest(credential: AgentCredential, body: unknown, now = new Date()): Promise<ReportsResponse> {
    const request = parseOrThrow(ReportsRequestSchema, body);
    await this.credentials.assertOwnCluster(credential, request.clusterId, 'reports');
    const { response, change, violations } = await this.transactions.run(async (tx) => {
      const cluster = await this.clusters.lock(tx, credential.clusterId);
      if (!cluster) {
        throw E.credentialInvalid();
      }
      if (cluster.phase === 'DETACHED') {
        throw E.clusterDetached();
      }
      await this.credentials.recordUse(tx, credential, cluster, now);
      return this.apply(tx, cluster, request, now);
    });
    await this.status.publish([change]);
    await this.violations.publish(violations);
    return response;
  }

  private async apply(
    tx: Tx,
    cluster: ClusterWithSite,
    request: ReportsRequest,
    now: Date,
  ): Promise<{ response: ReportsResponse; change: ClusterStatusChange | null; violations: ViolationsChange[] }> {
    const outcome = await this.inventory.ingest(tx, cluster, request.items, now);
    // Refuses the whole batch (nothing stored, no ack) on an item naming another cluster's assignment or object.
    const violations = await this.violations.ingest(tx, cluster, outcome.policyItems, now);
    if (outcome.processed > 0) {
      await this.updateCluster(tx, cluster, request, outcome, now);
    }

    let phase: ClusterPhase = cluster.phase;
    const health: ClusterHealth = nextHealth(cluster.health, outcome);
    let reason: string | undefined;
    if (cluster.phase === 'ATTACHED' && outcome.inventoryChanged && outcome.inventory) {
      phase = 'READY';
      reason = 'The agent reported the first full inventory';
    }
    const directives: Directive[] = [];
    if (cluster.phase === 'DETACHING') {
      // Answered until the agent acknowledges (POST /detach/ack, AgentDetachService): this answer may be lost.
      directives.push({ type: 'DETACH' });
    } else if (outcome.needsSnapshot) {
      directives.push({ type: 'SEND_SNAPSHOT' });
    }
    const change = await this.status.transition(tx, cluster, { phase, health, ...(reason ? { reason } : {}) }, agentActor(cluster));
    return { response: { ackedSeq: outcome.ackedSeq, directives }, change, violations };
  }

  /** Heartbeat time (server clock: the agent's may be wrong), the agent's queue, inventory summary and agent version. */
  private async updateCluster(tx: Tx, cluster: ClusterWithSite, request: ReportsRequest, outcome: IngestOutcome, now: Date): Promise<void> {
    const data: Prisma.ClusterUncheckedUpdateInput = {};
    if (outcome.heartbeat) {
      data.lastHeartbeatAt = now;
    }
    if (outcome.lastHeartbeat) {
      // In the same UPDATE as lastHeartbeatAt: Cluster.connectivity reads them together.
      const queue = agentQueueOf(outcome.lastHeartbeat);
      data.agentQueueDepth = queue.depth;
      data.agentDroppedByKind = jsonOrDbNull(queue.droppedByKind);
      data.agentOldestQueuedAt = queue.oldestQueuedAt;
    }
    // The agent acknowledges the desired state it runs (and why a newer one failed) in its heartbeats; agents without admission send neither.
    const beat = outcome.lastHeartbeat;
    if (beat && (beat.desiredStateGeneration !== undefined || beat.desiredStateError !== undefined)) {
      if (beat.desiredStateGeneration !== undefined) {
        data.appliedDesiredStateGeneration = beat.desiredStateGeneration;
      }
      data.desiredStateError = jsonOrDbNull(beat.desiredStateError);
    }
    if (request.agentVersion !== cluster.agentVersion) {
      data.agentVersion = request.agentVersion;
    }
    const summary = outcome.inventoryChanged && outcome.inventory ? summarizeInventory(outcome.inventory) : null;
    if (summary) {
      Object.assign(data, {
        nodeCount: summary.nodeCount,
        allocatableCpuMillis: summary.allocatableCpuMillis,
        allocatableMemoryMiB: summary.allocatableMemoryMiB,
        requestedCpuMillis: summary.requestedCpuMillis,
        requestedMemoryMiB: summary.requestedMemoryMiB,
        distribution: summary.distribution,
        kubernetesVersion: summary.kubernetesVersion,
      });
    }
    if (Object.keys(data).length === 0) {
      return;
    }
    await this.clusterRows.update(tx, cluster.id, data);

    const actor = agentActor(cluster);
    const base = { organizationId: cluster.organizationId, objectKind: EventObjectKind.Cluster, objectId: cluster.id, actor };
    if (data.agentVersion !== undefined && cluster.agentVersion !== null) {
      await this.events.record(tx, {
        ...base,
        type: EventType.AgentVersionChanged,
        message: `The agent of cluster ${cluster.name} now runs ${request.agentVersion} (was ${cluster.agentVersion})`,
        data: { from: cluster.agentVersion, to: request.agentVersion },
      });
    }
    // Nodes, version and distribution are what people notice; requested CPU/memory move with every pod and get no Event.
    if (summary && (summary.nodeCount !== cluster.nodeCount || summary.kubernetesVersion !== cluster.kubernetesVersion || summary.distribution !== cluster.distribution)) {
      const from = { nodeCount: cluster.nodeCount, kubernetesVersion: cluster.kubernetesVersion, distribution: cluster.distribution };
      const to = { nodeCount: summary.nodeCount, kubernetesVersion: summary.kubernetesVersion, distribution: summary.distribution };
      await this.events.record(tx, {
        ...base,
        type: EventType.ClusterInventoryChanged,
        message: `Cluster ${cluster.name}: ${summary.nodeCount} node(s) (${summary.readyNodeCount} Ready), ${summary.distribution} ${summary.kubernetesVersion}`,
        data: { from, to },
      });
    }
  }
}
