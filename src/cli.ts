import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './app.module';
import { loadConfig } from './infra/config/app-config';
import { createRootLogger } from './infra/logging/logger';
import { OrganizationService } from './modules/organizations/organization.service';

/**
 * Operator commands:
 *   node dist/src/cli.js create-organization <name> [display name]   → prints the first ADMIN token
 */
async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  const config = loadConfig();
  const logger = createRootLogger('warn', 'farpoint-cli');
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, logger), { logger: false });
  try {
    switch (command) {
      case 'create-organization': {
        const [name, ...display] = args;
        if (!name) {
          throw new Error('usage: create-organization <name> [display name]');
        }
        const { organization, adminToken } = await app.get(OrganizationService).bootstrap(name, display.join(' ') || name, 'system:cli');
        process.stdout.write(JSON.stringify({ organizationId: organization.id, name: organization.name, adminToken }) + '\n');
        break;
      }
      default:
        throw new Error(`unknown command ${command ?? '(none)'}; try create-organization`);
    }
  } finally {
    await app.close();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
