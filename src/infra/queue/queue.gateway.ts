import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { createRedisConnection } from '../redis/redis.factory';
import { JOB_QUEUE, JobName, JobPayloads, QueueName } from './jobs';

export interface QueueDepth {
  queue: QueueName;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** How long an enqueue may wait for Redis: BullMQ's add waits for a connection forever. */
const ENQUEUE_TIMEOUT_MS = 3000;

export class QueueUnavailableError extends Error {
  constructor(name: string, cause: string) {
    super(`job ${name} could not be queued: ${cause}`);
    this.name = 'QueueUnavailableError';
  }
}

/** The only place that enqueues BullMQ jobs. Queues are opened lazily, one per name. */
@Injectable()
export class QueueGateway implements OnModuleDestroy {
  private readonly queues = new Map<QueueName, Queue>();
  private connection?: Redis;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /**
   * Queues a job, or throws QueueUnavailableError within ENQUEUE_TIMEOUT_MS when Redis does not answer
   * (BullMQ itself would wait for the connection forever, and a request with it). Callers keep what must
   * not be lost in Postgres (the operations outbox, a version's compile status) and queue it again later;
   * an add still pending when Redis returns is harmless, because these jobs have fixed ids.
   */
  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: JobsOptions = {}): Promise<string> {
    if (this.redis().status === 'end') {
      throw new QueueUnavailableError(name, 'the Redis connection is closed');
    }
    const adding = this.queue(JOB_QUEUE[name]).add(name, payload, {
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
      ...options,
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailableError(name, `Redis did not answer within ${ENQUEUE_TIMEOUT_MS} ms`)), ENQUEUE_TIMEOUT_MS);
    });
    adding.catch(() => undefined);
    try {
      const job = await Promise.race([adding, timeout]);
      return job.id!;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Schedules a job to repeat; the scheduler id makes this idempotent across restarts and replicas. */
  async schedule<N extends JobName>(name: N, everyMs: number, payload: JobPayloads[N]): Promise<void> {
    await this.queue(JOB_QUEUE[name]).upsertJobScheduler(name, { every: everyMs }, { name, data: payload });
  }

  /** Whether Redis holds a job of that name and id in any state (waiting, delayed, active, retained). */
  async hasJob(name: JobName, jobId: string): Promise<boolean> {
    return (await this.queue(JOB_QUEUE[name]).getJob(jobId)) !== undefined;
  }

  async depths(): Promise<QueueDepth[]> {
    return Promise.all(
      Object.values(QueueName).map(async (queue) => {
        const counts = await this.queue(queue).getJobCounts('waiting', 'active', 'delayed', 'failed');
        return { queue, waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0 };
      }),
    );
  }

  async isReachable(): Promise<boolean> {
    try {
      const timeout = new Promise<string>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref());
      return (await Promise.race([this.redis().ping(), timeout])) === 'PONG';
    } catch {
      return false;
    }
  }

  private redis(): Redis {
    this.connection ??= createRedisConnection(this.config.REDIS_URL, 'command');
    return this.connection;
  }

  private queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.redis(), prefix: this.config.QUEUE_PREFIX });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.connection?.disconnect();
  }
}
