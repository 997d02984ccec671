import { Inject, Injectable, Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { SealedBox, SealedBoxError } from '../../common/crypto/sealed-box';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { describeKubeError, EgressRefusedError, KubeconfigError, KubeGateway } from '../../infra/kubernetes/kube.gateway';
import { JobName, JobPayloads } from '../../infra/queue/jobs';
import { OnJob } from '../../infra/queue/on-job.decorator';
import { ClusterRepository } from '../clusters/cluster.repository';
import { AGENT_REGISTERED_PHASES } from '../clusters/cluster-phases';
import { AgentManifestsFactory } from './agent-manifests.factory';
import { AttachStepError } from './attach-step.error';
import { AttachService } from './attach.service';
import { ClusterOperationRepository } from './cluster-operation.repository';

const OPEN = new Set(['QUEUED', 'RUNNING', 'WAITING_FOR_AGENT']);

/**
 * Worker side of attach-by-queue. Every step is safe to repeat: server-side apply converges to the
 * same objects, and an attach whose agent already registered just completes. So a retried job, or
 * one resumed after its worker died, finishes exactly once without duplicating anything.
 */
@Injectable()
export class AttachClusterJob {
  private readonly logger = new Logger(AttachClusterJob.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly operations: ClusterOperationRepository,
    private readonly clusters: ClusterRepository,
    private readonly manifests: AgentManifestsFactory,
    private readonly kube: KubeGateway,
    private readonly attach: AttachService,
    private readonly box: SealedBox,
  ) {}

  @OnJob(JobName.ATTACH_CLUSTER)
  async run(payload: JobPayloads[typeof JobName.ATTACH_CLUSTER], job: Job): Promise<{ state: string }> {
    const operation = await this.operations.find(payload.operationId);
    if (!operation || operation.state === 'SUCCEEDED' || operation.state === 'FAILED') {
      return { state: operation?.state ?? 'GONE' };
    }
    const cluster = await this.clusters.find(operation.organizationId, operation.clusterId);
    if (!cluster) {
      await this.operations.update(operation.id, { state: 'FAILED', lastError: 'The cluster was deleted.', finishedAt: new Date() });
      return { state: 'FAILED' };
    }
    // attemptsStarted also counts runs whose worker died mid-job (a stalled job restarts without
    // attemptsMade moving), so the operation shows every run, not only the failed ones + 1.
    const attempt = Math.max(job.attemptsStarted ?? 0, job.attemptsMade + 1);
    await this.operations.update(operation.id, { state: 'RUNNING', attempts: attempt, startedAt: operation.startedAt ?? new Date(), lastError: null });
    if (AGENT_REGISTERED_PHASES.has(cluster.phase)) {
      return this.succeed(operation.id);
    }

    let server: string | undefined;
    try {
      const { kubeconfig, registrationToken } = this.openPayload(payload.sealed, operation.id);
      // Checked again here, with this worker's policy: the job may not come from the mutation.
      const target = this.kube.checkKubeconfig(kubeconfig);
      server = target.server;
      const connection = await this.kube.connect(target);
      await this.kube.apply(connection, await this.manifests.build(cluster, registrationToken), 'farpoint-attach');
      if (!(await this.isOpen(operation.id))) {
        return this.ended(operation.id);
      }
      await this.operations.update(operation.id, { state: 'WAITING_FOR_AGENT' });
      const waited = await this.waitForAgent(operation.id, cluster.organizationId, cluster.id, job);
      if (waited === 'registered') {
        return this.succeed(operation.id);
      }
      if (waited === 'ended') {
        return this.ended(operation.id);
      }
      throw new AttachStepError(
        'AGENT_DID_NOT_REGISTER',
        `The agent was installed but did not register within ${this.config.ATTACH_AGENT_WAIT_SECONDS} s; check that its pod runs and can reach ${this.config.publicUrl}.`,
      );
    } catch (error) {
      // A refused kubeconfig or server, or a payload that does not open, fails the same way every time: no retry.
      const refused = error instanceof KubeconfigError || error instanceof EgressRefusedError || error instanceof SealedBoxError;
      // Our own errors carry sentences for operators; anything from the cluster is described, never quoted.
      const reason = refused || error instanceof AttachStepError ? error.message : describeKubeError(error, server);
      const attempts = job.opts.attempts ?? 1;
      const final = refused || job.attemptsMade + 1 >= attempts;
      this.logger.warn(`attach ${operation.id} attempt ${job.attemptsMade + 1}/${attempts} failed: ${reason}`);
      // Ended meanwhile (a detach cancels it, a force detach deletes it): that outcome stands, no retry.
      if (!(await this.isOpen(operation.id))) {
        return this.ended(operation.id);
      }
      if (final) {
        await this.attach.fail(operation, cluster, reason);
      } else {
        await this.operations.update(operation.id, { lastError: reason });
      }
      throw refused ? new UnrecoverableError(reason) : new Error(reason);
    }
  }

  private openPayload(sealed: string, operationId: string): { kubeconfig: string; registrationToken: string } {
    let opened: { kubeconfig?: unknown; registrationToken?: unknown };
    try {
      opened = JSON.parse(this.box.open(sealed, operationId)) as typeof opened;
    } catch {
      throw new SealedBoxError('The queued attach does not open: it was sealed for another operation or with another SECRETS_KEY.');
    }
    if (typeof opened?.kubeconfig !== 'string' || typeof opened.registrationToken !== 'string') {
      throw new SealedBoxError('The queued attach is not a kubeconfig and registration token.');
    }
    return { kubeconfig: opened.kubeconfig, registrationToken: opened.registrationToken };
  }

  private async succeed(operationId: string): Promise<{ state: string }> {
    await this.operations.update(operationId, { state: 'SUCCEEDED', finishedAt: new Date(), lastError: null });
    return { state: 'SUCCEEDED' };
  }

  private async isOpen(operationId: string): Promise<boolean> {
    const operation = await this.operations.find(operationId);
    return operation !== null && OPEN.has(operation.state);
  }

  /** The operation was finished by someone else (detach) or deleted with its cluster (force detach). */
  private async ended(operationId: string): Promise<{ state: string }> {
    return { state: (await this.operations.find(operationId))?.state ?? 'GONE' };
  }

  /**
   * Polls the cluster's phase (the agent gateway flips it on registration) until the agent registered,
   * the operation ended (a detach cancels it) or the wait is over; the job lock is renewed meanwhile.
   */
  private async waitForAgent(operationId: string, organizationId: string, clusterId: string, job: Job): Promise<'registered' | 'ended' | 'timeout'> {
    const deadline = Date.now() + this.config.ATTACH_AGENT_WAIT_SECONDS * 1000;
    while (Date.now() < deadline) {
      const cluster = await this.clusters.find(organizationId, clusterId);
      if (cluster && AGENT_REGISTERED_PHASES.has(cluster.phase)) {
        return 'registered';
      }
      if (!cluster || !(await this.isOpen(operationId))) {
        return 'ended';
      }
      await job.updateProgress({ waitingForAgent: true, at: new Date().toISOString() });
      await sleep(500);
    }
    return 'timeout';
  }
}
