import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ROOT_LOGGER } from '../logging/logger';
import { createRedisConnection } from './redis.factory';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the current window ends (when refused: when to try again). */
  retryAfterSeconds: number;
}

// At most one "limiter unavailable" log line this often, however many requests pass meanwhile.
const OUTAGE_LOG_EVERY_MS = 60_000;
// After a failure, requests skip Redis this long, so an outage delays one request, not every one.
const OUTAGE_BACKOFF_MS = 5_000;

/**
 * Fixed-window request counting in Redis, shared by every API replica: one INCR (plus EXPIRE on the
 * window's first hit) per request. When Redis does not answer within LIMITER_TIMEOUT_MS, requests are
 * allowed (fail open, with a log line a minute) and Redis is not asked again for OUTAGE_BACKOFF_MS:
 * an outage must not turn every request into an error or a wait, and /readyz already reports Redis down.
 */
@Injectable()
export class RateLimitGateway implements OnModuleDestroy {
  private redis?: Redis;
  private lastOutageLog = 0;
  private skipUntil = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async hit(bucket: string, limit: number, windowSeconds: number, now = Date.now()): Promise<RateDecision> {
    this.redis ??= createRedisConnection(this.config.REDIS_URL, 'limiter');
    const window = Math.floor(now / 1000 / windowSeconds);
    const key = `${this.config.QUEUE_PREFIX}:ratelimit:${bucket}:${window}`;
    const retryAfterSeconds = Math.max(1, Math.ceil((window + 1) * windowSeconds - now / 1000));
    if (Date.now() < this.skipUntil) {
      return { allowed: true, retryAfterSeconds };
    }
    try {
      const results = await this.redis
        .multi()
        .incr(key)
        .expire(key, windowSeconds * 2, 'NX')
        .exec();
      const count = Number(results?.[0]?.[1] ?? 0);
      return { allowed: count <= limit, retryAfterSeconds };
    } catch (error) {
      this.skipUntil = Date.now() + OUTAGE_BACKOFF_MS;
      if (Date.now() - this.lastOutageLog >= OUTAGE_LOG_EVERY_MS) {
        this.lastOutageLog = Date.now();
        this.logger.warn({ err: error }, 'rate limiter unavailable (Redis did not answer): allowing requests until it is back');
      }
      return { allowed: true, retryAfterSeconds };
    }
  }

  onModuleDestroy(): void {
    this.redis?.disconnect();
  }
}
