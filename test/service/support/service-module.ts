// A Nest testing module for one service test file: the providers the file names, on the real Postgres
// (a template-cloned database of its own), no HTTP, no GraphQL, no worker.
//
//   const pubsub = new RecordingPubSub();
//   const svc = await createServiceModule({
//     providers: [ClusterStatusService, ClusterRepository],
//     fakes: [{ provide: PubSubGateway, useValue: pubsub }],
//   });
//   const status = svc.get(ClusterStatusService);
//   afterAll(() => svc.close());
//
// Always real, as CoreModule wires them for the API and the worker: ConfigModule (loadConfig on the test
// process environment, DATABASE_URL pointing at the file's database), DatabaseModule (PrismaService,
// TransactionRunner) and EventsModule (EventRecorder, EventRepository). Everything else a service needs is
// listed by the test, real in `providers` or a fake in `fakes` (test/service/support/fakes.ts): a missing
// one fails compile() with Nest's "can't resolve dependencies", so each file states what it runs for real.
import type { InjectionToken, Provider, Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import 'reflect-metadata';
import { type AppConfig, loadConfig } from '../../../src/infra/config/app-config';
import { ConfigModule } from '../../../src/infra/config/config.module';
import { DatabaseModule } from '../../../src/infra/database/database.module';
import { PrismaService } from '../../../src/infra/database/prisma.service';
import { createRootLogger, NestPinoLogger } from '../../../src/infra/logging/logger';
import { EventsModule } from '../../../src/modules/events/events.module';
import { createTestDatabase, type TestDatabase } from '../../support/database';

export interface ServiceModuleOptions {
  /** Real providers: the services under test and the repositories they use. */
  providers: Provider[];
  /** Stand-ins for what is not the point of the file (Redis pub/sub, the queue, Kubernetes). */
  fakes?: { provide: InjectionToken; useValue: unknown }[];
  /** Configuration on top of the test process environment, e.g. { AGENT_CREDENTIAL_TTL_SECONDS: '60' }. */
  env?: Record<string, string>;
}

export interface ServiceModule {
  module: TestingModule;
  prisma: PrismaService;
  config: AppConfig;
  db: TestDatabase;
  get<T>(token: Type<T>): T;
  /** Closes the module (the Prisma pool) and drops the database. */
  close(): Promise<void>;
}

export async function createServiceModule(options: ServiceModuleOptions): Promise<ServiceModule> {
  const db = await createTestDatabase();
  let module: TestingModule | undefined;
  try {
    const config = loadConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: db.url, LOG_LEVEL: process.env.FARPOINT_TEST_LOG_LEVEL ?? 'silent', ...options.env });
    module = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), DatabaseModule, EventsModule],
      providers: [...options.providers, ...(options.fakes ?? [])],
    })
      .setLogger(new NestPinoLogger(createRootLogger(config.LOG_LEVEL, 'farpoint-service-test')))
      .compile();
    await module.init();
    const compiled = module;
    return {
      module: compiled,
      prisma: compiled.get(PrismaService),
      config,
      db,
      get: (token) => compiled.get(token),
      async close() {
        await compiled.close();
        await db.drop();
      },
    };
  } catch (error) {
    await module?.close().catch(() => undefined);
    await db.drop().catch(() => undefined);
    throw error;
  }
}
