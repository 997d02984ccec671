import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { SealedBox } from '../../common/crypto/sealed-box';
import { newSecret } from '../../common/crypto/secrets';
import { FarpointError } from '../../common/errors/farpoint-error';
import { actorOf, Principal } from '../../common/graphql/request-context';
import { Cluster, ClusterOperation } from '../../generated/prisma/client';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { TransactionRunner, Tx } from '../../infra/database/transaction';
import { describeKubeError, EgressRefusedError, KubeconfigError, KubeGateway, ValidatedKubeconfig } from '../../infra/kubernetes/kube.gateway';
import { AgentPaths } from '../../protocol';
import { ClusterStatusService } from '../cluster-status/cluster-status.service';
import { AGENT_REGISTERED_PHASES, AWAITING_AGENT_PHASES } from '../clusters/cluster-phases';
import { ClusterRepository } from '../clusters/cluster.repository';
import { ClusterService } from '../clusters/cluster.service';
import { EventRecorder } from '../events/event.recorder';
import { parseAgentStateVolume } from './agent-state-volume';
import { AttachClusterInput, AttachClusterWithKubeconfigInput } from './attach.model';
import { AttachJobQueue } from './attach-job.queue';
import { ClusterOperationRepository } from './cluster-operation.repository';
import { RegistrationTokenRepository } from './registration-token.repository';
import { EventObjectKind, EventType } from '../events/event-types';

export interface IssuedLink {
  cluster: Cluster;
  registrationToken: string;
  manifestUrl: string;
  installCommand: string;
  expiresAt: Date;
}

/** Phases from which a new registration link makes sense: the agent has not registered yet. */

@Injectable()
export class AttachService {
  private readonly logger = new Logger(AttachService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clusterService: ClusterService,
    private readonly clusters: ClusterRepository,
    private readonly tokens: RegistrationTokenRepository,
    private readonly operations: ClusterOperationRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventRecorder,
    private readonly status: ClusterStatusService,
    private readonly attachJobs: AttachJobQueue,
    private readonly kube: KubeGateway,
    private readonly box: SealedBox,
  ) {}

  /** TMC-style attach: a PENDING cluster and a one-time link to `kubectl apply -f`. */
  attachByLink(principal: Principal, input: AttachClusterInput): Promise<IssuedLink> {
    const ttl = this.ttlHours(input.registrationTokenTtlHours);
    const agentStateVolume = parseAgentStateVolume(input.agentStateVolume);
    return this.transactions.run(async (tx) => {
      const cluster = await this.clusterService.createInTransaction(tx, principal, { ...input, phase: 'PENDING', attachMode: 'LINK', agentStateVolume });
      return this.issueLink(tx, principal, cluster, ttl);
    });
  }

  /** A new link for a cluster whose agent has not registered yet; earlier unused links stop working. */
  async reissueLink(principal: Principal, clusterId: string, ttlHours?: number): Promise<IssuedLink> {
    const cluster = await this.clusterService.get(principal, clusterId);
    if (!AWAITING_AGENT_PHASES.has(cluster.phase)) {
      throw FarpointError.conflict(`Cluster ${cluster.name} is ${cluster.phase}; registration links are only for clusters whose agent has not registered.`);
    }
    const ttl = this.ttlHours(ttlHours);
    return this.transactions.run(async (tx) => {
      await this.tokens.revokeUnused(tx, cluster.id, new Date());
      return this.issueLink(tx, principal, cluster, ttl);
    });
  }

  async revokeLinks(principal: Principal, clusterId: string): Promise<Cluster> {
    const cluster = await this.clusterService.get(principal, clusterId);
    await this.transactions.run(async (tx) => {
      const revoked = await this.tokens.revokeUnused(tx, cluster.id, new Date());
      await this.events.record(tx, {
        organizationId: cluster.organizationId,
        objectKind: EventObjectKind.Cluster,
        objectId: cluster.id,
        type: EventType.RegistrationTokenRevoked,
        message: `${revoked} registration token(s) of cluster ${cluster.name} revoked`,
        actor: actorOf(principal),
      });
    });
    return cluster;
  }

  /**
   * Manager-initiated attach: the worker server-side applies the agent with the kubeconfig and waits
   * for it to register. The kubeconfig only ever travels sealed inside the job and is never stored.
   */
  async attachWithKubeconfig(principal: Principal, input: AttachClusterWithKubeconfigInput): Promise<{ cluster: Cluster; operation: ClusterOperation }> {
    // Checked before anything is written: a refused kubeconfig leaves no cluster, operation or job.
    await this.checkKubeconfig(input.kubeconfig);
    const { kubeconfig, ...clusterInput } = input;
    const ttl = this.ttlHours(input.registrationTokenTtlHours);
    const agentStateVolume = parseAgentStateVolume(input.agentStateVolume);
    // The operation id is chosen here so the payload can be sealed for it inside the same transaction:
    // the row is the outbox, and a job Redis lost is queued again from it (OperationsReconciler).
    const operationId = randomUUID();
    const { cluster, operation } = await this.transactions.run(async (tx) => {
      const created = await this.clusterService.createInTransaction(tx, principal, { ...clusterInput, phase: 'ATTACHING', attachMode: 'QUEUE', agentStateVolume });
      const link = await this.issueLink(tx, principal, created, ttl);
      const sealedPayload = this.box.seal(JSON.stringify({ kubeconfig, registrationToken: link.registrationToken }), operationId);
      const op = await this.operations.create(tx, {
        id: operationId,
        organizationId: created.organizationId,
        clusterId: created.id,
        kind: 'ATTACH',
        createdBy: actorOf(principal),
        sealedPayload,
      });
      return { cluster: created, operation: op };
    });
    try {
      await this.attachJobs.enqueue(operation.id, operation.sealedPayload!);
    } catch (error) {
      // Recorded in Postgres all the same: the reconciler queues it once Redis is back.
      this.logger.warn(`attach ${operation.id} of ${cluster.id} not queued yet (${(error as Error).message}); the operations reconciler queues it when Redis answers`);
    }
    return { cluster, operation };
  }

  /**
   * The kubeconfig as data (only inline credentials, no commands, files or proxies) and its server
   * allowed by the egress policy; else BAD_USER_INPUT on `kubeconfig` with `path` naming the field.
   */
  private async checkKubeconfig(text: string): Promise<void> {
    const refuse = (message: string, path: string) => new FarpointError('BAD_USER_INPUT', message, { field: 'kubeconfig', path });
    let target: ValidatedKubeconfig;
    try {
      target = this.kube.checkKubeconfig(text);
    } catch (error) {
      if (error instanceof KubeconfigError) {
        throw refuse(error.message, error.path);
      }
      throw error;
    }
    try {
      await this.kube.resolveServer(target);
    } catch (error) {
      if (error instanceof EgressRefusedError) {
        throw refuse(error.message, target.serverPath);
      }
      // A name that does not resolve cannot be checked, so it is refused too.
      throw refuse(`${describeKubeError(error, target.server)} Farpoint checks where the server resolves to before it queues an attach.`, target.serverPath);
    }
  }

  /** Ends an attach operation as FAILED and the cluster as ERROR with the reason. */
  async fail(operation: ClusterOperation, cluster: Cluster, reason: string): Promise<void> {
    const change = await this.transactions.run(async (tx) => {
      // Re-read under the row lock: the transition must start from the current phase, not the job's copy.
      const fresh = await this.clusters.lock(tx, cluster.organizationId, cluster.id);
      await this.operations.updateIn(tx, operation.id, { state: 'FAILED', lastError: reason, finishedAt: new Date() });
      // Only a cluster still waiting for its agent fails: one whose agent registered meanwhile (READY) or
      // that is being detached keeps its phase; the operation alone records the failed attempt.
      if (!fresh || !AWAITING_AGENT_PHASES.has(fresh.phase)) {
        return null;
      }
      return this.status.transition(tx, fresh, { phase: 'ERROR', reason }, 'system:attach-worker');
    });
    await this.status.publish([change]);
  }

  /**
   * Normal detach asks the agent (on its next report) to remove what it installed, then revokes its
   * credential. Force detach is for dead clusters: the record and its credentials go at once.
   */
  async detach(principal: Principal, clusterId: string, force: boolean): Promise<Cluster> {
    const cluster = await this.clusterService.get(principal, clusterId);
    const actor = actorOf(principal);
    if (force) {
      await this.transactions.run(async (tx) => {
        await this.clusters.delete(tx, cluster.id);
        await this.events.record(tx, {
          organizationId: cluster.organizationId,
          objectKind: EventObjectKind.Cluster,
          objectId: cluster.id,
          type: EventType.ClusterForceDetached,
          severity: 'WARNING',
          message: `Cluster ${cluster.name} force-detached: record removed, agent credentials revoked`,
          actor,
        });
      });
      return { ...cluster, phase: 'DETACHED' };
    }
    const change = await this.transactions.run(async (tx) => {
      // Decided under the row lock: a registration or report committed meanwhile is what we detach from.
      const current = await this.clusters.lock(tx, cluster.organizationId, cluster.id);
      if (!current) {
        throw FarpointError.notFound('Cluster', clusterId);
      }
      if (current.phase === 'DETACHING' || current.phase === 'DETACHED') {
        return null;
      }
      // A registered agent (also one whose attach then failed: it knows the kube-system UID) removes itself.
      const agentRunning = AGENT_REGISTERED_PHASES.has(current.phase) || (current.phase === 'ERROR' && current.kubeSystemUid !== null);
      await this.tokens.revokeUnused(tx, cluster.id, new Date());
      await this.operations.finishOpen(tx, cluster.id, 'ATTACH', 'FAILED', 'Cancelled by detach.');
      if (agentRunning) {
        await this.operations.create(tx, { organizationId: cluster.organizationId, clusterId: cluster.id, kind: 'DETACH', state: 'WAITING_FOR_AGENT', createdBy: actor });
        return this.status.transition(tx, current, { phase: 'DETACHING', reason: 'Waiting for the agent to remove itself' }, actor);
      }
      return this.status.transition(tx, current, { phase: 'DETACHED', reason: 'Detached before an agent registered' }, actor);
    });
    await this.status.publish([change]);
    return (await this.clusters.find(cluster.organizationId, cluster.id))!;
  }

  private async issueLink(tx: Tx, principal: Principal, cluster: Cluster, ttlHours: number): Promise<IssuedLink> {
    const { secret, hash } = newSecret('fpr_');
    const expiresAt = new Date(Date.now() + ttlHours * 3600_000);
    await this.tokens.create(tx, { organizationId: cluster.organizationId, clusterId: cluster.id, secretHash: hash, createdBy: actorOf(principal), expiresAt });
    await this.events.record(tx, {
      organizationId: cluster.organizationId,
      objectKind: EventObjectKind.Cluster,
      objectId: cluster.id,
      type: EventType.RegistrationTokenIssued,
      message: `Registration link for cluster ${cluster.name} issued, valid until ${expiresAt.toISOString()}`,
      actor: actorOf(principal),
    });
    const manifestUrl = `${this.config.publicUrl}${AgentPaths.manifests(secret)}`;
    return { cluster, registrationToken: secret, manifestUrl, installCommand: `kubectl apply -f ${manifestUrl}`, expiresAt };
  }

  private ttlHours(hours?: number | null): number {
    const ttl = hours ?? 24;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 168) {
      throw FarpointError.badInput('registrationTokenTtlHours must be between 1 and 168.', 'registrationTokenTtlHours');
    }
    return ttl;
  }
}
