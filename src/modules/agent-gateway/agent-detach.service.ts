import { Injectable } from '@nestjs/common';
import { AgentCredential } from '../../generated/prisma/client';
import { TransactionRunner } from '../../infra/database/transaction';
import { DetachAckRequestSchema, DetachAckResponse, parseOrThrow } from '../../protocol';
import { ClusterOperationRepository } from '../attach/cluster-operation.repository';
import { ClusterStatusService } from '../cluster-status/cluster-status.service';
import { EventRecorder } from '../events/event.recorder';
import { EventObjectKind, EventType } from '../events/event-types';
import { AgentClusterRepository } from './agent-cluster.repository';
import { agentActor, AgentCredentialService } from './agent-credential.service';
import { AgentGatewayErrors as E } from './agent-gateway.errors';

/**
 * POST /agent/v1/detach/ack: the end of a detach. Reports of a DETACHING cluster are answered DETACH
 * for as long as it takes (an answer may be lost); only the agent's acknowledgement revokes its
 * credentials, finishes the DETACH operation and makes the cluster DETACHED.
 */
@Injectable()
export class AgentDetachService {
  constructor(
    private readonly clusters: AgentClusterRepository,
    private readonly credentials: AgentCredentialService,
    private readonly operations: ClusterOperationRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly status: ClusterStatusService,
  ) {}

  async acknowledge(credential: AgentCredential, body: unknown, now = new Date()): Promise<DetachAckResponse> {
    const request = parseOrThrow(DetachAckRequestSchema, body);
    await this.credentials.assertOwnCluster(credential, request.clusterId, 'detach-ack');
    const change = await this.transactions.run(async (tx) => {
      const cluster = await this.clusters.lock(tx, credential.clusterId);
      if (!cluster) {
        throw E.credentialInvalid();
      }
      if (cluster.phase === 'DETACHED') {
        throw E.clusterDetached();
      }
      if (cluster.phase !== 'DETACHING') {
        throw E.detachNotRequested(cluster.phase);
      }
      const revoked = await this.credentials.revokeAllOf(tx, cluster.id, now);
      const operations = await this.operations.finishOpen(tx, cluster.id, 'DETACH', 'SUCCEEDED');
      await this.events.record(tx, {
        organizationId: cluster.organizationId,
        objectKind: EventObjectKind.Cluster,
        objectId: cluster.id,
        type: EventType.ClusterDetached,
        message: `Cluster ${cluster.name} detached: its agent acknowledged DETACH and ${revoked} agent credential(s) were revoked`,
        actor: agentActor(cluster),
        data: { revokedCredentials: revoked, completedOperations: operations },
      });
      return this.status.transition(
        tx,
        cluster,
        { phase: 'DETACHED', health: 'UNKNOWN', reason: 'The agent acknowledged DETACH; its credentials are revoked' },
        agentActor(cluster),
      );
    });
    await this.status.publish([change]);
    return { clusterId: credential.clusterId, detachedAt: now.toISOString() };
  }
}
