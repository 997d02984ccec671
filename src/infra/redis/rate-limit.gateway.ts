import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { createRedisConnection } from './redis.factory';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the current window ends (when refused: when to try again). */
  retryAfterSeconds: number;
}

/**
 * Fixed-window request counting in Redis, shared by every API replica: one INCR (plus EXPIRE on the
 * window's first hit) per request.
 */
@Injectable()
export class RateLimitGateway implements OnModuleDestroy {
  private redis?: Redis;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async hit(bucket: string, limit: number, windowSeconds: number, now = Date.now()): Promise<RateDecision> {
    this.redis ??= createRedisConnection(this.config.REDIS_URL, 'command');
    const window = Math.floor(now / 1000 / windowSeconds);
    const key = `${this.config.QUEUE_PREFIX}:ratelimit:${bucket}:${window}`;
    const results = await this.redis.multi().incr(key).expire(key, windowSeconds * 2, 'NX').exec();
    const count = Number(results?.[0]?.[1] ?? 0);
    const retryAfterSeconds = Math.max(1, Math.ceil((window + 1) * windowSeconds - now / 1000));
    return { allowed: count <= limit, retryAfterSeconds };
  }

  onModuleDestroy(): void {
    this.redis?.disconnect();
  }
}
