// Recording stand-ins for the gateways whose other side is not what a service test is about. Postgres
// is never faked in this tier; these replace Redis (pub/sub, BullMQ) and Kubernetes.
import type { JobsOptions } from 'bullmq';
import type { JobName, JobPayloads } from '../../../src/infra/queue/jobs';
import type { QueueGateway } from '../../../src/infra/queue/queue.gateway';
import type { PubSubGateway } from '../../../src/infra/redis/pubsub.gateway';

/** PubSubGateway that keeps what was published; `failWith` makes every publish reject (Redis down). */
export class RecordingPubSub implements Pick<PubSubGateway, 'publish' | 'iterate' | 'listenTo'> {
  readonly published: { channel: string; message: unknown }[] = [];
  failWith?: Error;

  async publish(channel: string, message: unknown): Promise<void> {
    if (this.failWith) {
      throw this.failWith;
    }
    this.published.push({ channel, message: structuredClone(message) });
  }

  /** The messages published on `channel`, in order. */
  on(channel: string): unknown[] {
    return this.published.filter((p) => p.channel === channel).map((p) => p.message);
  }

  clear(): void {
    this.published.length = 0;
    this.failWith = undefined;
  }

  iterate<T>(): AsyncIterableIterator<T> {
    throw new Error('RecordingPubSub does not deliver messages: subscriptions are tested in e2e against Redis');
  }

  listenTo(): Promise<() => Promise<void>> {
    throw new Error('RecordingPubSub does not deliver messages: listeners are tested in e2e against Redis');
  }
}

/** QueueGateway that keeps what was enqueued instead of writing it to Redis. */
export class RecordingQueue implements Pick<QueueGateway, 'enqueue' | 'schedule'> {
  readonly enqueued: { name: JobName; payload: unknown; options: JobsOptions }[] = [];
  readonly scheduled: { name: JobName; everyMs: number }[] = [];

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: JobsOptions = {}): Promise<string> {
    this.enqueued.push({ name, payload, options });
    return options.jobId ?? `job-${this.enqueued.length}`;
  }

  async schedule<N extends JobName>(name: N, everyMs: number): Promise<void> {
    this.scheduled.push({ name, everyMs });
  }
}

/** Property names Nest (lifecycle hooks) and promise detection probe on every provider instance. */
const PROBED = new Set(['then', 'constructor', 'onModuleInit', 'onApplicationBootstrap', 'onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown']);

/**
 * A dependency the code under test must not touch (e.g. KubeGateway for detach): any method call
 * throws, naming it, so a test that passes proves the path never reached it.
 */
export function unused<T>(name: string): T {
  return new Proxy(
    {},
    {
      get(_target, property) {
        if (typeof property === 'symbol' || PROBED.has(property)) {
          return undefined;
        }
        return () => {
          throw new Error(`${name}.${property}() was called, but this service test expects the code under test not to use ${name}`);
        };
      },
    },
  ) as T;
}
