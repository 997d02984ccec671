import { Inject, Injectable, Logger } from '@nestjs/common';
import { hashSecret, looksLikeSecret, newSecret } from '../../common/crypto/secrets';
import { AgentCredential, Cluster } from '../../generated/prisma/client';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { TransactionRunner, Tx } from '../../infra/database/transaction';
import { RotateCredentialRequestSchema, RotateCredentialResponse, parseOrThrow } from '../../protocol';
import { EventRecorder } from '../events/event.recorder';
import { AgentClusterRepository } from './agent-cluster.repository';
import { AgentCredentialRepository } from './agent-credential.repository';
import { AgentGatewayErrors as E } from './agent-gateway.errors';
import { EventObjectKind, EventType } from '../events/event-types';

/** The actor written into Events for what an agent does. */
export const agentActor = (cluster: Pick<Cluster, 'name'>): string => `agent:${cluster.name}`;

export interface IssuedCredential {
  credential: AgentCredential;
  /** The bearer secret (fpc_…); returned to the agent once, never stored or logged. */
  secret: string;
}

/**
 * Agent credentials: a per-cluster bearer secret, stored as a SHA-256 hash, valid for its own
 * cluster only. Rotation issues a successor; the predecessor keeps working until the successor is
 * used for the first time, so an agent that lost the rotation answer is never locked out.
 */
@Injectable()
export class AgentCredentialService {
  private readonly logger = new Logger(AgentCredentialService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly credentials: AgentCredentialRepository,
    private readonly clusters: AgentClusterRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
  ) {}

  /**
   * Resolves `Authorization: Bearer fpc_…` to its credential row, or refuses: CREDENTIAL_INVALID
   * (missing, malformed or unknown), CREDENTIAL_REVOKED, CREDENTIAL_EXPIRED. Reads only; the
   * request's own transaction records the use (recordUse).
   */
  async authenticate(authorization: string | undefined, now = new Date()): Promise<AgentCredential> {
    const credential = await this.authenticateUnrevoked(authorization);
    if (credential.expiresAt <= now) {
      throw E.credentialExpired(credential.expiresAt);
    }
    return credential;
  }

  /**
   * For renewal only: the presented credential must be known, unrevoked and expired
   * (CREDENTIAL_NOT_EXPIRED otherwise: a valid one rotates).
   */
  async authenticateExpired(authorization: string | undefined, now = new Date()): Promise<AgentCredential> {
    const credential = await this.authenticateUnrevoked(authorization);
    if (credential.expiresAt > now) {
      throw E.credentialNotExpired(credential.expiresAt);
    }
    return credential;
  }

  private async authenticateUnrevoked(authorization: string | undefined): Promise<AgentCredential> {
    if (!authorization) {
      throw E.credentialMissing();
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) {
      throw E.credentialMissing();
    }
    if (!looksLikeSecret('fpc_', match[1])) {
      throw E.credentialInvalid();
    }
    const credential = await this.credentials.findByHash(hashSecret(match[1]));
    if (!credential) {
      throw E.credentialInvalid();
    }
    if (credential.revokedAt) {
      throw E.credentialRevoked();
    }
    return credential;
  }

  /**
   * A credential is valid for its own cluster only. Another clusterId in the body is either a bug or
   * an agent trying to speak for a cluster it does not run in: refuse it and leave a SECURITY Event
   * on the credential's own cluster (the claimed cluster may belong to another organization).
   */
  async assertOwnCluster(credential: AgentCredential, claimedClusterId: string, operation: string): Promise<void> {
    if (claimedClusterId === credential.clusterId) {
      return;
    }
    await this.transactions.run(async (tx) => {
      const cluster = await this.clusters.findIn(tx, credential.clusterId);
      if (!cluster) {
        return;
      }
      await this.events.record(tx, {
        organizationId: cluster.organizationId,
        objectKind: EventObjectKind.Cluster,
        objectId: cluster.id,
        type: EventType.CrossClusterReportRefused,
        severity: 'SECURITY',
        message: `The agent credential of cluster ${cluster.name} was presented for another cluster (${claimedClusterId}) and refused`,
        actor: agentActor(cluster),
        data: { credentialId: credential.id, claimedClusterId, operation },
      });
    });
    this.logger.warn(`refused ${operation}: credential ${credential.id} of cluster ${credential.clusterId} presented for cluster ${claimedClusterId}`);
    throw E.wrongCluster();
  }

  /**
   * Records a use of the credential inside the request's transaction. The first use of a rotated
   * credential revokes its predecessor: from then on the agent has provably stored the new one.
   */
  async recordUse(tx: Tx, credential: AgentCredential, cluster: Cluster, now: Date): Promise<void> {
    if (credential.firstUsedAt) {
      return;
    }
    const first = await this.credentials.markFirstUsed(tx, credential.id, now);
    if (!first || !credential.previousId) {
      return;
    }
    if (await this.credentials.revoke(tx, credential.previousId, now)) {
      await this.events.record(tx, {
        organizationId: cluster.organizationId,
        objectKind: EventObjectKind.Cluster,
        objectId: cluster.id,
        type: EventType.AgentCredentialPredecessorRevoked,
        message: `The agent of cluster ${cluster.name} uses its rotated credential; the previous credential is revoked`,
        actor: agentActor(cluster),
        data: { credentialId: credential.id, revokedCredentialId: credential.previousId },
      });
    }
  }

  /** Revokes every credential of the cluster (registration of a new agent, detach); returns how many. */
  revokeAllOf(tx: Tx, clusterId: string, now: Date): Promise<number> {
    return this.credentials.revokeAllOfCluster(tx, clusterId, now);
  }

  /** Whether the cluster's agent has ever authenticated with a credential. */
  anyUsed(tx: Tx, clusterId: string): Promise<boolean> {
    return this.credentials.anyUsed(tx, clusterId);
  }

  /** Creates a credential for the cluster; the secret exists only in the return value. */
  async issue(tx: Tx, cluster: Cluster, previousId: string | null, now: Date, extra: { renewalNonce?: string } = {}): Promise<IssuedCredential> {
    const { secret, hash } = newSecret('fpc_');
    const expiresAt = new Date(now.getTime() + this.config.AGENT_CREDENTIAL_TTL_SECONDS * 1000);
    const credential = await this.credentials.create(tx, { organizationId: cluster.organizationId, clusterId: cluster.id, secretHash: hash, previousId, expiresAt, ...extra });
    return { credential, secret };
  }

  /**
   * POST /agent/v1/credentials/rotate: a successor of the presented credential. Successors of it that
   * were never used (answers the agent lost) are revoked, so at most one is pending at a time.
   */
  async rotate(credential: AgentCredential, body: unknown, now = new Date()): Promise<RotateCredentialResponse> {
    const request = parseOrThrow(RotateCredentialRequestSchema, body);
    await this.assertOwnCluster(credential, request.clusterId, 'rotate');
    const issued = await this.transactions.run(async (tx) => {
      const cluster = await this.clusters.lock(tx, credential.clusterId);
      if (!cluster) {
        throw E.credentialInvalid();
      }
      if (cluster.phase === 'DETACHED') {
        throw E.clusterDetached();
      }
      // A detaching agent's credential is only good for hearing DETACH and acknowledging it.
      if (cluster.phase === 'DETACHING') {
        throw E.clusterDetaching();
      }
      await this.recordUse(tx, credential, cluster, now);
      const abandoned = await this.credentials.revokeUnusedSuccessors(tx, credential.id, now);
      const next = await this.issue(tx, cluster, credential.id, now);
      await this.events.record(tx, {
        organizationId: cluster.organizationId,
        objectKind: EventObjectKind.Cluster,
        objectId: cluster.id,
        type: EventType.AgentCredentialRotated,
        message: `The agent of cluster ${cluster.name} rotated its credential; the new one expires at ${next.credential.expiresAt.toISOString()}`,
        actor: agentActor(cluster),
        data: { credentialId: next.credential.id, previousId: credential.id, abandonedSuccessorsRevoked: abandoned, expiresAt: next.credential.expiresAt.toISOString() },
      });
      return next;
    });
    return { credential: issued.secret, credentialExpiresAt: issued.credential.expiresAt.toISOString() };
  }
}
