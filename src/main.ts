import 'reflect-metadata';
import { createApiApp } from './api.app';
import { loadConfigOrExit } from './infra/config/app-config';
import { createRootLogger } from './infra/logging/logger';

/** Entry point of the GraphQL API process. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createRootLogger(config.LOG_LEVEL, 'farpoint-api');
  const app = await createApiApp(config, logger);
  await app.listen({ port: config.PORT, host: config.HOST });
  logger.info({ url: `${config.publicUrl}/graphql` }, 'Farpoint API listening');
}

void main();
