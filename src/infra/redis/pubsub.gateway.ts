import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { ErrorCode, FarpointError } from '../../common/errors/farpoint-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { createRedisConnection } from './redis.factory';

type Listener = (message: unknown) => void;

/**
 * Messages one iterator may hold for a consumer that has not asked for them yet. A subscriber whose
 * WebSocket drains slower than its channel fills is ended beyond this instead of growing memory.
 */
export const SUBSCRIBER_MAX_PENDING = 100;

/**
 * Redis pub/sub between processes (the worker publishes, every API replica's subscribers receive).
 * One subscriber connection per process, fanned out to local listeners.
 */
@Injectable()
export class PubSubGateway implements OnModuleDestroy {
  private publisher?: Redis;
  private subscriber?: Redis;
  private readonly listeners = new Map<string, Set<Listener>>();
  /** The Redis SUBSCRIBE of each key with listeners, in flight or done. */
  private readonly subscriptions = new Map<string, Promise<unknown>>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async publish(channel: string, message: unknown): Promise<void> {
    this.publisher ??= createRedisConnection(this.config.REDIS_URL, 'command');
    await this.publisher.publish(this.key(channel), JSON.stringify(message));
  }

  /**
   * An async iterator of messages on a channel, listening from the moment it is created. return()
   * unsubscribes at once, even while a next() is waiting: an async generator would only run its
   * cleanup after the next message arrived, so every closed subscription on a quiet channel stayed
   * subscribed. A consumer more than maxPending messages behind is unsubscribed, and its next next()
   * throws RATE_LIMITED (what it missed is gone; it should subscribe again and re-read).
   */
  iterate<T>(channel: string, { maxPending = SUBSCRIBER_MAX_PENDING }: { maxPending?: number } = {}): AsyncIterableIterator<T> {
    const queue: T[] = [];
    const waiting: ((result: IteratorResult<T>) => void)[] = [];
    let done = false;
    let overflow: FarpointError | undefined;
    const listener: Listener = (message) => {
      if (done) {
        return;
      }
      const waiter = waiting.shift();
      if (waiter) {
        waiter({ value: message as T, done: false });
      } else if (queue.length < maxPending) {
        queue.push(message as T);
      } else {
        overflow = new FarpointError(
          ErrorCode.RATE_LIMITED,
          `This subscription fell more than ${maxPending} messages behind and was ended. Subscribe again and re-read the current state.`,
          { maxPending },
        );
        void finish();
      }
    };
    const listening = this.listen(channel, listener);
    listening.catch(() => undefined); // surfaced by next()
    const finish = async (): Promise<IteratorResult<T>> => {
      if (!done) {
        done = true;
        queue.length = 0;
        for (const waiter of waiting.splice(0)) {
          waiter({ value: undefined, done: true });
        }
        if (
          await listening.then(
            () => true,
            () => false,
          )
        ) {
          await this.unlisten(channel, listener);
        }
      }
      return { value: undefined, done: true };
    };
    return {
      async next(): Promise<IteratorResult<T>> {
        await listening;
        if (overflow) {
          const error = overflow;
          overflow = undefined;
          throw error;
        }
        if (done) {
          return { value: undefined, done: true };
        }
        if (queue.length) {
          return { value: queue.shift()!, done: false };
        }
        return new Promise((resolve) => waiting.push(resolve));
      },
      return: finish,
      async throw(error?: unknown): Promise<IteratorResult<T>> {
        await finish();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * Calls `listener` with every message on a channel (for process-wide listeners, which consume at
   * once); resolves when Redis has confirmed the SUBSCRIBE, with the function that stops listening.
   */
  async listenTo<T>(channel: string, listener: (message: T) => void): Promise<() => Promise<void>> {
    const wrapped: Listener = (message) => listener(message as T);
    await this.listen(channel, wrapped);
    return () => this.unlisten(channel, wrapped);
  }

  private async listen(channel: string, listener: Listener): Promise<void> {
    if (!this.subscriber) {
      this.subscriber = createRedisConnection(this.config.REDIS_URL, 'subscriber');
      this.subscriber.on('message', (key: string, raw: string) => {
        const local = this.listeners.get(key);
        if (!local) {
          return;
        }
        const message = JSON.parse(raw) as unknown;
        for (const l of local) {
          l(message);
        }
      });
    }
    const key = this.key(channel);
    // Register before awaiting anything: listeners of one channel arriving together must share one set
    // (each creating its own and the last overwriting the others lost the others' messages).
    const set = this.listeners.get(key) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(key, set);
    let subscribed = this.subscriptions.get(key);
    if (!subscribed) {
      subscribed = this.subscriber.subscribe(key);
      this.subscriptions.set(key, subscribed);
    }
    try {
      await subscribed;
    } catch (error) {
      await this.unlisten(channel, listener);
      throw error;
    }
  }

  private async unlisten(channel: string, listener: Listener): Promise<void> {
    const key = this.key(channel);
    const set = this.listeners.get(key);
    set?.delete(listener);
    if (set && set.size === 0) {
      this.listeners.delete(key);
      this.subscriptions.delete(key);
      await this.subscriber?.unsubscribe(key).catch(() => undefined);
    }
  }

  private key(channel: string): string {
    return `${this.config.QUEUE_PREFIX}:pubsub:${channel}`;
  }

  onModuleDestroy(): void {
    this.publisher?.disconnect();
    this.subscriber?.disconnect();
  }
}
