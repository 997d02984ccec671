import { Redis } from 'ioredis';

/**
 * Redis connections for BullMQ and pub/sub. BullMQ workers block on Redis, so they need
 * maxRetriesPerRequest: null; commands from the API give up after two reconnect attempts, so a
 * Redis outage turns into errors (and a failing /readyz) instead of requests that hang.
 */
export function createRedisConnection(url: string, purpose: 'worker' | 'command' | 'subscriber'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: purpose === 'command' ? 2 : null,
    connectionName: `farpoint-${purpose}`,
  });
}
