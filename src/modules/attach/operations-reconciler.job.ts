import { Injectable, Logger } from '@nestjs/common';
import { JobName } from '../../infra/queue/jobs';
import { OnJob } from '../../infra/queue/on-job.decorator';
import { AttachJobQueue } from './attach-job.queue';
import { ClusterOperationRepository } from './cluster-operation.repository';

/** Younger operations are left to the mutation that is queueing them. */
const GRACE_MS = 10_000;
/** Per pass; the rest waits for the next pass (a fleet-wide Redis loss is drained in a few). */
const BATCH = 500;

export interface ReconcileReport {
  checked: number;
  requeued: string[];
}

/**
 * Postgres is the source of truth for operations: every open operation keeps its sealed job payload
 * (the outbox), and this job queues again each one whose job Redis no longer holds — a Redis restart
 * without persistence, a flush, a lost write, or an enqueue that failed while Redis was down. Queueing
 * uses jobId = operation id, so racing the mutation or another worker adds nothing, and the attach job
 * is safe to repeat (server-side apply, then waiting for the agent).
 */
@Injectable()
export class OperationsReconciler {
  private readonly logger = new Logger(OperationsReconciler.name);

  constructor(
    private readonly operations: ClusterOperationRepository,
    private readonly attachJobs: AttachJobQueue,
  ) {}

  @OnJob(JobName.RECONCILE_OPERATIONS)
  run(): Promise<ReconcileReport> {
    return this.reconcile();
  }

  async reconcile(now = new Date()): Promise<ReconcileReport> {
    const open = await this.operations.openWithPayload(new Date(now.getTime() - GRACE_MS), BATCH);
    const requeued: string[] = [];
    for (const op of open) {
      if (op.kind !== 'ATTACH' || !op.sealedPayload || (await this.attachJobs.has(op.id))) {
        continue;
      }
      await this.attachJobs.enqueue(op.id, op.sealedPayload);
      requeued.push(op.id);
    }
    if (requeued.length) {
      this.logger.warn(`queued ${requeued.length} open operation(s) again whose job Redis no longer had: ${requeued.join(', ')}`);
    }
    return { checked: open.length, requeued };
  }
}
