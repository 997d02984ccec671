import { Injectable, Logger } from '@nestjs/common';
import { createPublicKey, verify } from 'node:crypto';
import type { AgentCredential } from '../../generated/prisma/client';
import { isUniqueViolation } from '../../infra/database/prisma-errors';
import { TransactionRunner } from '../../infra/database/transaction';
import { parseOrThrow, RENEWAL_MAX_SKEW_SECONDS, renewalSignedMessage, RenewCredentialRequestSchema, RotateCredentialResponse } from '../../protocol';
import { EventRecorder } from '../events/event.recorder';
import { EventObjectKind, EventType } from '../events/event-types';
import { AgentClusterRepository } from './agent-cluster.repository';
import { AgentCredentialRepository } from './agent-credential.repository';
import { agentActor, AgentCredentialService } from './agent-credential.service';
import { AgentGatewayErrors as E } from './agent-gateway.errors';

/** Whether `signature` is the Ed25519 signature of `message` by the key (base64url SPKI DER); false for any malformed input. */
export function verifyRenewalSignature(publicKeySpki: string, message: string, signature: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeySpki, 'base64url'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ed25519' && verify(null, Buffer.from(message, 'utf8'), key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/**
 * POST /agent/v1/credentials/renew: an agent whose credential expired while it was offline gets a
 * successor without attaching again. Proof is possession of the renewal private key, which never
 * leaves the agent's Secret (the API holds only the public key from registration), over a message
 * bound to this cluster, this expired credential, a fresh nonce and the time. Each nonce is answered
 * once; the successor's first use revokes the expired credential (recordUse), so nothing renews twice.
 * A revoked credential, a DETACHED cluster, a credential still valid (rotate instead), another
 * cluster's credential or key: all refused with their codes.
 */
@Injectable()
export class AgentCredentialRenewalService {
  private readonly logger = new Logger(AgentCredentialRenewalService.name);

  constructor(
    private readonly credentials: AgentCredentialService,
    private readonly credentialRows: AgentCredentialRepository,
    private readonly clusters: AgentClusterRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
  ) {}

  async renew(credential: AgentCredential, body: unknown, now = new Date()): Promise<RotateCredentialResponse> {
    const request = parseOrThrow(RenewCredentialRequestSchema, body);
    await this.credentials.assertOwnCluster(credential, request.clusterId, 'renew');
    const skewMs = Math.abs(Date.parse(request.signedAt) - now.getTime());
    const issued = await this.transactions
      .run(async (tx) => {
        const cluster = await this.clusters.lock(tx, credential.clusterId);
        if (!cluster) {
          throw E.credentialInvalid();
        }
        if (cluster.phase === 'DETACHED') {
          throw E.clusterDetached();
        }
        if (!cluster.agentRenewalPublicKey) {
          throw E.renewalNotEnrolled();
        }
        if (!verifyRenewalSignature(cluster.agentRenewalPublicKey, renewalSignedMessage(request, credential.secretHash), request.signature)) {
          return { refused: true as const };
        }
        // After the signature: only the key's holder learns whether a nonce or time was the problem.
        if (skewMs > RENEWAL_MAX_SKEW_SECONDS * 1000 || (await this.credentialRows.findByRenewalNonce(tx, request.nonce))) {
          throw E.renewalReplayed();
        }
        // A renewal answer the agent lost: its never-used successor goes, as with rotation.
        const abandoned = await this.credentialRows.revokeUnusedSuccessors(tx, credential.id, now);
        const next = await this.credentials.issue(tx, cluster, credential.id, now, { renewalNonce: request.nonce });
        await this.events.record(tx, {
          organizationId: cluster.organizationId,
          objectKind: EventObjectKind.Cluster,
          objectId: cluster.id,
          type: EventType.AgentCredentialRenewed,
          message: `The agent of cluster ${cluster.name} renewed its expired credential; the new one expires at ${next.credential.expiresAt.toISOString()}`,
          actor: agentActor(cluster),
          data: { credentialId: next.credential.id, previousId: credential.id, abandonedSuccessorsRevoked: abandoned, expiredAt: credential.expiresAt.toISOString() },
        });
        return { refused: false as const, next };
      })
      .catch((error: unknown) => {
        // Two requests with one nonce at once: the unique index lets one through.
        if (isUniqueViolation(error)) {
          throw E.renewalReplayed();
        }
        throw error;
      });
    if (issued.refused) {
      await this.recordRefusal(credential);
      throw E.renewalSignatureInvalid();
    }
    return { credential: issued.next.secret, credentialExpiresAt: issued.next.credential.expiresAt.toISOString() };
  }

  /** Its own transaction: the refusal must be recorded although nothing else is written. */
  private async recordRefusal(credential: AgentCredential): Promise<void> {
    await this.transactions.run(async (tx) => {
      const cluster = await this.clusters.findIn(tx, credential.clusterId);
      if (!cluster) {
        return;
      }
      await this.events.record(tx, {
        organizationId: cluster.organizationId,
        objectKind: EventObjectKind.Cluster,
        objectId: cluster.id,
        type: EventType.AgentCredentialRenewalRefused,
        severity: 'SECURITY',
        message: `A renewal of an expired agent credential of cluster ${cluster.name} was signed with another key than the agent's and refused`,
        actor: agentActor(cluster),
        data: { credentialId: credential.id },
      });
    });
    this.logger.warn(`refused renewal of credential ${credential.id} of cluster ${credential.clusterId}: signature does not verify`);
  }
}
