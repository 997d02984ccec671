// Per-test-file Redis isolation for integration and e2e tests.
//
//   const r = createTestRedis();
//   new Queue('deploy', { connection: new Redis(r.url), prefix: r.prefix })   // BullMQ
//   redis.set(`${r.prefix}:some-key`, ...)                                       // plain keys
//   afterAll(() => r.cleanup());                                                 // deletes <prefix>* keys
//
// Each call returns a key prefix unique to this run, process and call, and a logical database (1-15,
// picked by jest worker; 0 is left to the app in development) already in `url`. The prefix is what
// isolates: other jest runs may share the same server and database index, so never FLUSHDB.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { testRunId } from './database';

export interface TestRedis {
  /** REDIS_URL with this test's logical database selected. */
  url: string;
  db: number;
  /** Unique key prefix (no trailing colon); also a valid BullMQ `prefix`. */
  prefix: string;
  /** Deletes every key starting with `prefix` in `db`. */
  cleanup(): Promise<void>;
}

let counter = 0;

export function createTestRedis(): TestRedis {
  const base = process.env.REDIS_URL;
  if (!base) {
    throw new Error('REDIS_URL is not set: run tests through jest (test/support/global-setup.ts)');
  }
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const db = 1 + ((Number.isFinite(worker) && worker > 0 ? worker - 1 : 0) % 15);
  const url = new URL(base);
  url.pathname = `/${db}`;
  const prefix = `test-${testRunId()}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`;
  return {
    url: url.toString(),
    db,
    prefix,
    async cleanup() {
      const redis = new Redis(url.toString(), { maxRetriesPerRequest: 2, lazyConnect: true });
      try {
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          if (keys.length) {
            await redis.unlink(...keys);
          }
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
