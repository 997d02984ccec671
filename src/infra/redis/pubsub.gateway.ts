import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { createRedisConnection } from './redis.factory';

type Listener = (message: unknown) => void;

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

  /** An async iterator of messages on a channel; return() unsubscribes. */
  async *iterate<T>(channel: string): AsyncGenerator<T> {
    const queue: T[] = [];
    let wake: (() => void) | undefined;
    const listener: Listener = (message) => {
      queue.push(message as T);
      wake?.();
    };
    await this.listen(channel, listener);
    try {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      await this.unlisten(channel, listener);
    }
  }

  private async listen(channel: string, listener: Listener): Promise<void> {
    if (!this.subscriber) {
      this.subscriber = createRedisConnection(this.config.REDIS_URL, 'subscriber');
      this.subscriber.on('message', (key: string, raw: string) => {
        const local = this.listeners.get(key);
        if (!local) return;
        const message = JSON.parse(raw) as unknown;
        for (const l of local) l(message);
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
