import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './app.module';
import { loadConfigOrExit } from './infra/config/app-config';
import { NestPinoLogger, createRootLogger } from './infra/logging/logger';
import { JobName } from './infra/queue/jobs';
import { QueueGateway } from './infra/queue/queue.gateway';
import { WorkerHost } from './infra/queue/worker.host';
import { OperationsReconciler } from './modules/attach/operations-reconciler.job';
import { PolicyRecipeSync } from './modules/policy-templates/policy-recipes.sync';

/** Entry point of the worker process: BullMQ handlers and the repeating schedules. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createRootLogger(config.LOG_LEVEL, 'farpoint-worker');
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, logger), { logger: new NestPinoLogger(logger) });
  app.enableShutdownHooks();
  app.get(WorkerHost).start();
  const queues = app.get(QueueGateway);
  await queues.schedule(JobName.PURGE_API_TOKENS, config.TOKEN_PURGE_EVERY_SECONDS * 1000, {});
  await queues.schedule(JobName.PURGE_RESOLVED_VIOLATIONS, config.VIOLATION_PURGE_EVERY_SECONDS * 1000, {});
  await queues.schedule(JobName.SWEEP_CLUSTER_HEALTH, config.HEALTH_SWEEP_EVERY_SECONDS * 1000, {});
  await queues.schedule(JobName.RECONCILE_OPERATIONS, config.OPERATIONS_RECONCILE_EVERY_SECONDS * 1000, {});
  await queues.schedule(JobName.ADVANCE_STAGED_ROLLOUTS, config.ROLLOUT_ADVANCE_EVERY_SECONDS * 1000, {});
  // Open operations whose job a Redis restart lost, before the first scheduled pass.
  await app.get(OperationsReconciler).reconcile();
  // Built-in recipes from policies/, and compiles an API queued but could not enqueue.
  await app.get(PolicyRecipeSync).atStartup();
  logger.info('Farpoint worker running');
}

void main();
