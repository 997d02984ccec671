import { Redis } from 'ioredis';

/**
 * Redis connections for BullMQ and pub/sub. BullMQ workers block on Redis, so they need
 * maxRetriesPerRequest: null; commands from the API give up after two reconnect attempts, so a
 * Redis outage turns into errors (and a failing /readyz) instead of requests that hang. The rate
 * limiter's counters sit in front of every request, so they also give up after LIMITER_TIMEOUT_MS
 * (the limiter then lets the request through) rather than wait for reconnects.
 */
export function createRedisConnection(url: string, purpose: 'worker' | 'command' | 'subscriber' | 'limiter'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: purpose === 'command' || purpose === 'limiter' ? 2 : null,
    commandTimeout: purpose === 'limiter' ? LIMITER_TIMEOUT_MS : undefined,
    connectionName: `farpoint-${purpose}`,
  });
}

const LIMITER_TIMEOUT_MS = 500;
