// ApiTokenPurgeJob through the real worker: the worker process's Nest context (WorkerModule), its
// BullMQ workers started by WorkerHost, a job enqueued with QueueGateway on real Redis, and the tokens
// in a real Postgres database. Completion is awaited with BullMQ's QueueEvents, not with a timer.
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Job, Queue, QueueEvents } from 'bullmq';
import 'reflect-metadata';
import { WorkerModule } from '../../../src/app.module';
import { type AppConfig, loadConfig } from '../../../src/infra/config/app-config';
import { PrismaService } from '../../../src/infra/database/prisma.service';
import { createRootLogger } from '../../../src/infra/logging/logger';
import { JOB_QUEUE, JobName } from '../../../src/infra/queue/jobs';
import { QueueGateway } from '../../../src/infra/queue/queue.gateway';
import { WorkerHost } from '../../../src/infra/queue/worker.host';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createTestRedis, type TestRedis } from '../../support/redis';

const DAY = 24 * 3600 * 1000;
const RETENTION_DAYS = 30;

let db: TestDatabase;
let redis: TestRedis;
let config: AppConfig;
let worker: INestApplicationContext;
let prisma: PrismaService;
let queue: Queue;
let events: QueueEvents;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = createTestRedis();
  config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    LOG_LEVEL: 'silent',
    TOKEN_RETENTION_DAYS: String(RETENTION_DAYS),
  });
  worker = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, createRootLogger('silent', 'farpoint-worker-test')), { logger: false });
  worker.get(WorkerHost).start();
  prisma = worker.get(PrismaService);
  const queueName = JOB_QUEUE[JobName.PURGE_API_TOKENS];
  queue = new Queue(queueName, { connection: { url: redis.url }, prefix: redis.prefix });
  events = new QueueEvents(queueName, { connection: { url: redis.url }, prefix: redis.prefix });
  await events.waitUntilReady();
}, 60_000);

afterAll(async () => {
  await events?.close();
  await queue?.close();
  await worker?.close();
  await redis?.cleanup();
  await db?.drop();
});

/** Enqueues the purge the way the scheduler does and waits for the worker to finish it. */
async function purge(): Promise<unknown> {
  const id = await worker.get(QueueGateway).enqueue(JobName.PURGE_API_TOKENS, {});
  const job = await Job.fromId(queue, id);
  if (!job) {
    throw new Error(`job ${id} is not in the queue`);
  }
  return job.waitUntilFinished(events);
}

async function seed(): Promise<void> {
  const now = Date.now();
  const orgs = await Promise.all(['purge-a', 'purge-b'].map((name) => prisma.organization.create({ data: { name, displayName: name } })));
  const token = (organizationId: string, name: string, dates: { revokedAt?: number; expiresAt?: number }) =>
    prisma.apiToken.create({
      data: {
        organizationId,
        name,
        role: 'VIEWER',
        prefix: 'fpt_test00',
        secretHash: `${organizationId}-${name}`,
        createdBy: 'test',
        createdAt: new Date(now - 90 * DAY),
        revokedAt: dates.revokedAt === undefined ? null : new Date(dates.revokedAt),
        expiresAt: dates.expiresAt === undefined ? null : new Date(dates.expiresAt),
      },
    });
  const [a, b] = orgs.map((o) => o.id);
  await Promise.all([
    // Live: kept whatever their age.
    token(a, 'live', {}),
    token(a, 'live-until-next-month', { expiresAt: now + 30 * DAY }),
    // Inactive, but for less than the retention period: kept for audit.
    token(a, 'revoked-yesterday', { revokedAt: now - DAY }),
    token(a, 'expired-yesterday', { expiresAt: now - DAY }),
    token(a, 'revoked-29-days-ago', { revokedAt: now - 29 * DAY }),
    // Inactive for longer than the retention period: purged, in every organization.
    token(a, 'revoked-31-days-ago', { revokedAt: now - 31 * DAY }),
    token(a, 'expired-40-days-ago', { expiresAt: now - 40 * DAY }),
    token(a, 'expired-long-ago-revoked-lately', { expiresAt: now - 40 * DAY, revokedAt: now - DAY }),
    token(b, 'revoked-a-year-ago', { revokedAt: now - 365 * DAY }),
    token(b, 'live', {}),
  ]);
}

describe('ApiTokenPurgeJob on the worker', () => {
  it(`purges tokens revoked or expired more than TOKEN_RETENTION_DAYS (${RETENTION_DAYS}) ago and keeps every other`, async () => {
    await seed();
    expect(await purge()).toEqual({ purged: 4 });
    const left = await prisma.apiToken.findMany({
      select: { name: true, organization: { select: { name: true } } },
      orderBy: [{ organization: { name: 'asc' } }, { name: 'asc' }],
    });
    expect(left.map((t) => `${t.organization.name}/${t.name}`)).toEqual([
      'purge-a/expired-yesterday',
      'purge-a/live',
      'purge-a/live-until-next-month',
      'purge-a/revoked-29-days-ago',
      'purge-a/revoked-yesterday',
      'purge-b/live',
    ]);
  });

  it('purges nothing more when run again', async () => {
    const before = await prisma.apiToken.count();
    expect(await purge()).toEqual({ purged: 0 });
    expect(await prisma.apiToken.count()).toBe(before);
    expect(before).toBe(6);
  });
});
