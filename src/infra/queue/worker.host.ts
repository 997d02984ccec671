import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { createRedisConnection } from '../redis/redis.factory';
import { JOB_QUEUE, JobName, QueueName } from './jobs';
import { ON_JOB } from './on-job.decorator';

type Handler = (payload: unknown, job: Job) => Promise<unknown>;

/**
 * Runs BullMQ workers in the worker process. Handlers are found by @OnJob; start-up fails when a
 * job has no handler or two, so a missing handler is a deploy error, not a silently stuck queue.
 */
@Injectable()
export class WorkerHost implements OnApplicationShutdown {
  private readonly logger = new Logger(WorkerHost.name);
  private readonly workers: Worker[] = [];
  /** BullMQ does not close connections it was given: they are closed here, after the workers. */
  private readonly connections: Redis[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  discoverHandlers(): Map<JobName, Handler> {
    const found = new Map<JobName, Handler[]>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') {
        continue;
      }
      const prototype = Object.getPrototypeOf(instance) as Record<string, (...args: unknown[]) => unknown>;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const name = this.reflector.get<JobName | undefined>(ON_JOB, prototype[method]);
        if (!name) {
          continue;
        }
        const handler = (instance[method] as Handler).bind(instance);
        found.set(name, [...(found.get(name) ?? []), handler]);
      }
    }
    const problems: string[] = [];
    for (const name of Object.values(JobName)) {
      const handlers = found.get(name) ?? [];
      if (handlers.length !== 1) {
        problems.push(`job ${name} has ${handlers.length} handlers (needs exactly 1)`);
      }
    }
    if (problems.length) {
      throw new Error(`Job handler registry is invalid: ${problems.join('; ')}`);
    }
    return new Map([...found].map(([name, handlers]) => [name, handlers[0]]));
  }

  start(concurrency = 4): void {
    const handlers = this.discoverHandlers();
    for (const queue of Object.values(QueueName)) {
      const connection = createRedisConnection(this.config.REDIS_URL, 'worker');
      this.connections.push(connection);
      const worker = new Worker(
        queue,
        async (job) => {
          const handler = handlers.get(job.name as JobName);
          if (!handler || JOB_QUEUE[job.name as JobName] !== queue) {
            throw new Error(`No handler for job ${job.name} on ${queue}`);
          }
          return handler(job.data, job);
        },
        {
          connection,
          prefix: this.config.QUEUE_PREFIX,
          concurrency,
          // A short lock (renewed while the job runs) lets another worker resume a job quickly when
          // its worker dies mid-job; long-running handlers stay safe because renewal keeps the lock.
          lockDuration: 10_000,
          stalledInterval: 5_000,
          maxStalledCount: 5,
        },
      );
      worker.on('failed', (job, error) => this.logger.warn(`job ${job?.name} ${job?.id} failed (attempt ${job?.attemptsMade}): ${error.message}`));
      this.workers.push(worker);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    for (const connection of this.connections) {
      connection.disconnect();
    }
  }
}
