// ViolationPurgeJob through the real worker: WorkerModule's Nest context, its BullMQ workers, the job
// enqueued with QueueGateway on real Redis (as the repeatable schedule does), rows in a real Postgres.
// Completion is awaited with BullMQ's QueueEvents, not with a timer.
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Job, Queue, QueueEvents } from 'bullmq';
import 'reflect-metadata';
import { WorkerModule } from '../../../src/app.module';
import { loadConfig } from '../../../src/infra/config/app-config';
import { PrismaService } from '../../../src/infra/database/prisma.service';
import { createRootLogger } from '../../../src/infra/logging/logger';
import { JOB_QUEUE, JobName } from '../../../src/infra/queue/jobs';
import { QueueGateway } from '../../../src/infra/queue/queue.gateway';
import { WorkerHost } from '../../../src/infra/queue/worker.host';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createTestRedis, type TestRedis } from '../../support/redis';

const DAY = 24 * 3600 * 1000;

let db: TestDatabase;
let redis: TestRedis;
let worker: INestApplicationContext;
let prisma: PrismaService;
let queue: Queue;
let events: QueueEvents;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = createTestRedis();
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    LOG_LEVEL: 'silent',
    VIOLATION_RETENTION_DAYS: '7',
  });
  worker = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, createRootLogger('silent', 'farpoint-worker-test')), { logger: false });
  worker.get(WorkerHost).start();
  prisma = worker.get(PrismaService);
  const queueName = JOB_QUEUE[JobName.PURGE_RESOLVED_VIOLATIONS];
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

async function purge(): Promise<unknown> {
  const id = await worker.get(QueueGateway).enqueue(JobName.PURGE_RESOLVED_VIOLATIONS, {});
  const job = await Job.fromId(queue, id);
  if (!job) {
    throw new Error(`job ${id} is not in the queue`);
  }
  return job.waitUntilFinished(events);
}

describe('ViolationPurgeJob on the worker', () => {
  it('deletes violations resolved more than VIOLATION_RETENTION_DAYS (7) ago and keeps open and recently resolved ones', async () => {
    const org = await prisma.organization.create({ data: { name: 'purge-violations', displayName: 'purge' } });
    const group = await prisma.clusterGroup.create({ data: { organizationId: org.id, name: 'g' } });
    const cluster = await prisma.cluster.create({ data: { organizationId: org.id, name: 'c', groupId: group.id } });
    const template = await prisma.policyTemplate.create({ data: { organizationId: org.id, name: 'k8sx', kind: 'K8sX', createdBy: 'test' } });
    const version = await prisma.policyTemplateVersion.create({
      data: { templateId: template.id, version: 1, kind: 'K8sX', title: 'x', rego: 'package x', sourceHash: 'h', createdBy: 'test' },
    });
    const constraint = await prisma.constraint.create({ data: { organizationId: org.id, name: 'x', kind: 'K8sX', templateVersionId: version.id, createdBy: 'test' } });
    const assignment = await prisma.policyAssignment.create({ data: { organizationId: org.id, constraintId: constraint.id, scope: 'ORGANIZATION', createdBy: 'test' } });
    const now = Date.now();
    const row = (name: string, resolvedDaysAgo: number | null) =>
      prisma.policyViolation.create({
        data: {
          organizationId: org.id,
          clusterId: cluster.id,
          assignmentId: assignment.id,
          constraintId: constraint.id,
          objectKey: `ref:/Pod/shop/${name}`,
          kind: 'Pod',
          apiGroup: '',
          namespace: 'shop',
          name,
          message: 'm',
          action: 'DENY',
          state: resolvedDaysAgo === null ? 'OPEN' : 'RESOLVED',
          firstSeenAt: new Date(now - 60 * DAY),
          lastSeenAt: new Date(now - 60 * DAY),
          resolvedAt: resolvedDaysAgo === null ? null : new Date(now - resolvedDaysAgo * DAY),
        },
      });
    await Promise.all([row('open-for-long', null), row('resolved-yesterday', 1), row('resolved-8-days-ago', 8), row('resolved-a-year-ago', 365)]);

    expect(await purge()).toEqual({ purged: 2 });
    expect((await prisma.policyViolation.findMany({ orderBy: { name: 'asc' } })).map((v) => v.name)).toEqual(['open-for-long', 'resolved-yesterday']);
    expect(await purge()).toEqual({ purged: 0 });
  });
});
