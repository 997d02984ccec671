import { Injectable, Logger } from '@nestjs/common';
import type { KubernetesObject } from '@kubernetes/client-node';
import { timingSafeEqual } from 'node:crypto';
import { hashSecret, looksLikeSecret } from '../../common/crypto/secrets';
import { AgentManifestInputSchema } from '../../agent-install';
import { Cluster, RegistrationToken } from '../../generated/prisma/client';
import { TransactionRunner, Tx } from '../../infra/database/transaction';
import { AgentProtocolError, parseOrThrow, REGISTRATION_REPEAT_WINDOW_SECONDS, RegisterRequest, RegisterRequestSchema, RegisterResponse } from '../../protocol';
import { AgentManifestsFactory } from '../attach/agent-manifests.factory';
import { RegistrationTokenRepository } from '../attach/registration-token.repository';
import { ClusterStatusChange, ClusterStatusService } from '../cluster-status/cluster-status.service';
import { ClusterRepository } from '../clusters/cluster.repository';
import { AWAITING_AGENT_PHASES } from '../clusters/cluster-phases';
import { EventRecorder } from '../events/event.recorder';
import { AgentClusterRepository, ClusterWithSite } from './agent-cluster.repository';
import { agentActor, AgentCredentialService } from './agent-credential.service';
import { AgentGatewayErrors as E } from './agent-gateway.errors';
import { EventObjectKind, EventType } from '../events/event-types';

/** Intervals the install manifests use when nothing overrides them (the renderer's defaults). */
const DEFAULT_HEARTBEAT_INTERVAL_SECONDS: number = AgentManifestInputSchema.shape.heartbeatIntervalSeconds.parse(undefined);
const REPORT_INTERVAL_SECONDS: number = AgentManifestInputSchema.shape.reportIntervalSeconds.parse(undefined);

/** The site's heartbeat interval (20 s without a site), within what the protocol allows. */
function heartbeatIntervalOf(cluster: Pick<ClusterWithSite, 'site'>): number {
  return Math.min(Math.max(cluster.site?.heartbeatIntervalSeconds ?? DEFAULT_HEARTBEAT_INTERVAL_SECONDS, 1), 3600);
}

type Registered = { response: RegisterResponse; change: ClusterStatusChange | null };
type Refused = { refused: AgentProtocolError };

/** Why a repeated registration with a used token was refused, as recorded in its Event. */
export type RepeatRefusal = 'INSTALLATION_SECRET_MISSING' | 'INSTALLATION_SECRET_MISMATCH' | 'REPEAT_WINDOW_CLOSED';

/** Actor of an attempt nobody could authenticate: it is not known to be any cluster's agent. */
const UNVERIFIED_AGENT = 'agent:unverified';

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Registration tokens on the agent side: the install manifests a token unlocks, and the one-time
 * exchange of token + cluster identity for a per-cluster credential.
 */
@Injectable()
export class AgentRegistrationService {
  private readonly logger = new Logger(AgentRegistrationService.name);

  constructor(
    private readonly tokens: RegistrationTokenRepository,
    private readonly clusters: AgentClusterRepository,
    private readonly clusterRows: ClusterRepository,
    private readonly credentials: AgentCredentialService,
    private readonly manifests: AgentManifestsFactory,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly status: ClusterStatusService,
  ) {}

  /**
   * GET /agent/v1/manifests/{token}.yaml: the install manifests for the token's cluster. Does not
   * consume the token. Refuses unknown, used, expired and revoked tokens (TOKEN_*).
   */
  async manifestsForToken(registrationTokenSecret: string, now = new Date()): Promise<KubernetesObject[]> {
    const token = await this.usableToken(registrationTokenSecret, now);
    return this.render(token.clusterId, registrationTokenSecret);
  }

  /**
   * The same objects for a cluster whose token the caller holds (the queue-attach worker server-side
   * applies them). Throws AgentProtocolError TOKEN_UNKNOWN when the token is not this cluster's, and
   * TOKEN_USED / TOKEN_EXPIRED / TOKEN_REVOKED as the HTTP endpoint does; TOKEN_USED means the agent
   * has already registered.
   */
  async manifestsFor(clusterId: string, registrationTokenSecret: string, now = new Date()): Promise<KubernetesObject[]> {
    const token = await this.usableToken(registrationTokenSecret, now);
    if (token.clusterId !== clusterId) {
      throw E.tokenUnknown();
    }
    return this.render(clusterId, registrationTokenSecret);
  }

  /**
   * POST /agent/v1/register. The token is consumed race-free (the first registration wins), the
   * cluster remembers the kube-system namespace UID, the token the hash of the agent's installation
   * secret, and the agent gets its credential. Repeating the call with the same token, UID and
   * installation secret before the credential was ever used and within
   * REGISTRATION_REPEAT_WINDOW_SECONDS of the first returns a new credential (the agent may have died
   * before storing the first); anything else with a used token is TOKEN_USED. The token and the UID
   * may both leak (the UID is readable by anyone who can list namespaces in the cluster); the
   * installation secret never leaves the agent's Secret.
   */
  async register(body: unknown, now = new Date()): Promise<RegisterResponse> {
    const request = parseOrThrow(RegisterRequestSchema, body);
    const token = await this.findToken(request.registrationToken);
    if (token.revokedAt) {
      throw E.tokenRevoked();
    }
    const result = token.usedAt ? await this.registerAgain(token, request, now) : await this.registerFirst(token, request, now);
    if ('refused' in result) {
      throw result.refused;
    }
    await this.status.publish([result.change]);
    return result.response;
  }

  private async registerFirst(token: RegistrationToken, request: RegisterRequest, now: Date): Promise<Registered | Refused> {
    if (token.expiresAt <= now) {
      throw E.tokenExpired(token.expiresAt);
    }
    const result = await this.transactions.run(async (tx): Promise<Registered | Refused> => {
      const cluster = await this.clusters.lock(tx, token.clusterId);
      if (!cluster) {
        throw E.tokenUnknown();
      }
      // Read again under the lock: a concurrent registration with this token may just have committed.
      const current = await this.tokens.findByHashIn(tx, token.secretHash);
      if (!current) {
        throw E.tokenUnknown();
      }
      if (current.revokedAt) {
        throw E.tokenRevoked();
      }
      if (current.usedAt) {
        throw E.tokenUsed();
      }
      if (!AWAITING_AGENT_PHASES.has(cluster.phase)) {
        throw E.clusterNotRegistrable(cluster.phase);
      }
      if (cluster.kubeSystemUid && cluster.kubeSystemUid !== request.clusterUid) {
        return { refused: E.identityMismatch() };
      }
      const installationSecretHash = request.installationSecret ? hashSecret(request.installationSecret) : null;
      if (!(await this.tokens.markUsed(tx, token.id, now, installationSecretHash))) {
        throw E.tokenUsed();
      }
      // One agent per cluster: whatever an earlier agent of this cluster held stops working.
      const revoked = await this.credentials.revokeAllOf(tx, cluster.id, now);
      // A registration is not a heartbeat: the health sweep counts the grace period from now.
      // The new agent's renewal key replaces the old one's (or none: then expiry means attaching again).
      await this.clusterRows.update(tx, cluster.id, {
        kubeSystemUid: request.clusterUid,
        agentVersion: request.agentVersion,
        agentRenewalPublicKey: request.renewalPublicKey ?? null,
        lastHeartbeatAt: null,
      });
      const issued = await this.credentials.issue(tx, cluster, null, now);
      const change = await this.status.transition(tx, cluster, { phase: 'ATTACHED', health: 'UNKNOWN', reason: 'The agent registered' }, agentActor(cluster));
      await this.recordRegistered(tx, cluster, request, issued.credential.id, { repeated: false, revokedCredentials: revoked });
      return { change, response: this.response(cluster, issued.secret, issued.credential.expiresAt) };
    });
    if ('refused' in result) {
      await this.recordIdentityMismatch(token.clusterId, request);
    }
    return result;
  }

  private async registerAgain(token: RegistrationToken, request: RegisterRequest, now: Date): Promise<Registered | Refused> {
    let refusal: RepeatRefusal | undefined;
    const result = await this.transactions.run(async (tx): Promise<Registered | Refused> => {
      const cluster = await this.clusters.lock(tx, token.clusterId);
      if (!cluster) {
        throw E.tokenUnknown();
      }
      const sameCluster = cluster.kubeSystemUid === request.clusterUid && cluster.phase === 'ATTACHED' && token.expiresAt > now;
      if (!sameCluster || (await this.credentials.anyUsed(tx, cluster.id))) {
        throw E.tokenUsed();
      }
      // The same answer for every refusal: whoever replays learns nothing about which check failed.
      refusal = this.repeatRefusal(token, request, now);
      if (refusal) {
        return { refused: E.tokenUsed() };
      }
      const revoked = await this.credentials.revokeAllOf(tx, cluster.id, now);
      await this.clusterRows.update(tx, cluster.id, { agentVersion: request.agentVersion, agentRenewalPublicKey: request.renewalPublicKey ?? null });
      const issued = await this.credentials.issue(tx, cluster, null, now);
      await this.recordRegistered(tx, cluster, request, issued.credential.id, { repeated: true, revokedCredentials: revoked });
      return { change: null, response: this.response(cluster, issued.secret, issued.credential.expiresAt) };
    });
    if (refusal) {
      await this.recordRepeatRefused(token, request, refusal, now);
    }
    return result;
  }

  /** Whether a repeat by what claims to be the same installation must be refused, and why. */
  private repeatRefusal(token: RegistrationToken, request: RegisterRequest, now: Date): RepeatRefusal | undefined {
    if (!request.installationSecret || !token.installationSecretHash) {
      return 'INSTALLATION_SECRET_MISSING';
    }
    if (!sameHash(hashSecret(request.installationSecret), token.installationSecretHash)) {
      return 'INSTALLATION_SECRET_MISMATCH';
    }
    if (now.getTime() - token.usedAt!.getTime() > REGISTRATION_REPEAT_WINDOW_SECONDS * 1000) {
      return 'REPEAT_WINDOW_CLOSED';
    }
    return undefined;
  }

  /** Its own transaction: the refusal rolls back, the record of the attempt must not. */
  private async recordRepeatRefused(token: RegistrationToken, request: RegisterRequest, reason: RepeatRefusal, now: Date): Promise<void> {
    const firstRegisteredAt = token.usedAt!;
    const minutesLater = Math.floor((now.getTime() - firstRegisteredAt.getTime()) / 60_000);
    await this.transactions.run(async (tx) => {
      const cluster = await this.clusters.findIn(tx, token.clusterId);
      if (!cluster) {
        return;
      }
      const late = reason === 'REPEAT_WINDOW_CLOSED';
      await this.events.record(tx, {
        organizationId: cluster.organizationId,
        objectKind: EventObjectKind.Cluster,
        objectId: cluster.id,
        type: EventType.AgentRegistrationRepeatRefused,
        severity: late ? 'WARNING' : 'SECURITY',
        message: late
          ? `The agent of cluster ${cluster.name} tried to register again ${minutesLater} minutes after its first registration, later than the ${REGISTRATION_REPEAT_WINDOW_SECONDS / 60} minutes allowed; refused. If the cluster never reports, create a new registration link.`
          : `Someone presented the used registration token and the cluster identity of cluster ${cluster.name} ${reason === 'INSTALLATION_SECRET_MISSING' ? 'without' : 'with a wrong'} installation secret to register in its agent's place; refused. The token and the kube-system UID have leaked; the agent's credential is unaffected.`,
        actor: late ? agentActor(cluster) : UNVERIFIED_AGENT,
        data: { reason, agentVersion: request.agentVersion, firstRegisteredAt: firstRegisteredAt.toISOString() },
      });
    });
    this.logger.warn(`refused a repeated registration for cluster ${token.clusterId}: ${reason}`);
  }

  private recordRegistered(tx: Tx, cluster: Cluster, request: RegisterRequest, credentialId: string, data: { repeated: boolean; revokedCredentials: number }): Promise<void> {
    return this.events.record(tx, {
      organizationId: cluster.organizationId,
      objectKind: EventObjectKind.Cluster,
      objectId: cluster.id,
      type: EventType.AgentRegistered,
      // Never the kube-system UID: VIEWERs read Events, and the UID is half of what a repeat needs.
      message: data.repeated
        ? `The agent of cluster ${cluster.name} registered again before using its credential; it got a new one`
        : `Agent ${request.agentVersion} registered for cluster ${cluster.name}`,
      actor: agentActor(cluster),
      data: { agentVersion: request.agentVersion, credentialId, ...data },
    });
  }

  /** Its own transaction: the refusal rolls back, the record of the attempt must not. */
  private async recordIdentityMismatch(clusterId: string, request: RegisterRequest): Promise<void> {
    await this.transactions.run(async (tx) => {
      const cluster = await this.clusters.findIn(tx, clusterId);
      if (!cluster) {
        return;
      }
      await this.events.record(tx, {
        organizationId: cluster.organizationId,
        objectKind: EventObjectKind.Cluster,
        objectId: cluster.id,
        type: EventType.AgentIdentityMismatch,
        severity: 'SECURITY',
        message: `An agent in another Kubernetes cluster (a different kube-system namespace UID) tried to register as cluster ${cluster.name}; refused`,
        actor: UNVERIFIED_AGENT,
        data: { agentVersion: request.agentVersion },
      });
    });
    this.logger.warn(`refused registration for cluster ${clusterId}: kube-system UID mismatch`);
  }

  private response(cluster: ClusterWithSite, credential: string, expiresAt: Date): RegisterResponse {
    return {
      clusterId: cluster.id,
      credential,
      credentialExpiresAt: expiresAt.toISOString(),
      heartbeatIntervalSeconds: heartbeatIntervalOf(cluster),
      reportIntervalSeconds: REPORT_INTERVAL_SECONDS,
    };
  }

  private async findToken(secret: string): Promise<RegistrationToken> {
    if (!looksLikeSecret('fpr_', secret)) {
      throw E.tokenUnknown();
    }
    const token = await this.tokens.findByHash(hashSecret(secret));
    if (!token) {
      throw E.tokenUnknown();
    }
    return token;
  }

  /** A token that can still register: known, not revoked, not used, not expired (checked in that order). */
  private async usableToken(secret: string, now: Date): Promise<RegistrationToken> {
    const token = await this.findToken(secret);
    if (token.revokedAt) {
      throw E.tokenRevoked();
    }
    if (token.usedAt) {
      throw E.tokenUsed();
    }
    if (token.expiresAt <= now) {
      throw E.tokenExpired(token.expiresAt);
    }
    return token;
  }

  private async render(clusterId: string, registrationTokenSecret: string): Promise<KubernetesObject[]> {
    const cluster = await this.clusters.find(clusterId);
    if (!cluster) {
      throw E.tokenUnknown();
    }
    return this.manifests.build(cluster, registrationTokenSecret);
  }
}
