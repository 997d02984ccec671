import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { JobName } from '../../infra/queue/jobs';
import { QueueGateway } from '../../infra/queue/queue.gateway';

/**
 * The attach job in Redis, keyed by its operation: jobId = operation id, so queueing twice (the
 * mutation and the reconciler, or two reconcilers) is a no-op. Finished jobs are removed so even the
 * sealed kubeconfig does not linger in Redis; the operation row keeps the outcome, and its sealed
 * payload only while the operation is open.
 */
@Injectable()
export class AttachJobQueue {
  constructor(
    private readonly queues: QueueGateway,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async enqueue(operationId: string, sealed: string): Promise<void> {
    await this.queues.enqueue(
      JobName.ATTACH_CLUSTER,
      { operationId, sealed },
      {
        jobId: operationId,
        attempts: this.config.ATTACH_MAX_ATTEMPTS,
        backoff: { type: 'exponential', delay: this.config.ATTACH_BACKOFF_MS },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  /** Whether Redis holds the operation's job (waiting, delayed, active or being retried). */
  has(operationId: string): Promise<boolean> {
    return this.queues.hasJob(JobName.ATTACH_CLUSTER, operationId);
  }
}
