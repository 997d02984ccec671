import { Redis } from 'ioredis';

/**
 * Redis connections for BullMQ and pub/sub. BullMQ workers block on Redis, so they need
 * maxRetriesPerRequest: null; commands from the API fail fast instead of queueing while Redis is away.
 */
export function createRedisConnection(url: string, purpose: 'worker' | 'command' | 'subscriber'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: purpose === 'command' ? 2 : null,
    enableOfflineQueue: purpose !== 'command',
    lazyConnect: false,
    connectionName: `farpoint-${purpose}`,
  });
}
