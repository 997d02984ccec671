import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiModule } from '../app.module';
import { loadConfig } from '../infra/config/app-config';
import { createRootLogger } from '../infra/logging/logger';
import { findProjectRoot } from '../infra/database/migrator';

const SCHEMA_FILE = join(findProjectRoot(), 'schema.gql');

/**
 * Prints the SDL the running API serves, by building the real application (no database or Redis
 * connection is opened: both connect lazily), so the committed schema.gql cannot diverge from the code.
 */
export async function printApiSchema(): Promise<string> {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgresql://schema-printer@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent' });
  const app = await NestFactory.create(ApiModule.forRoot(config, createRootLogger('silent', 'schema-printer')), new FastifyAdapter(), { logger: false });
  try {
    await app.init();
    const schema = app.get(GraphQLSchemaHost).schema;
    return `# Generated from the code by \`npm run schema:print\`. Do not edit; CI fails when it drifts.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
  } finally {
    await app.close();
  }
}

export function committedSchema(): string {
  return readFileSync(SCHEMA_FILE, 'utf8');
}

if (require.main === module) {
  printApiSchema()
    .then((sdl) => {
      writeFileSync(SCHEMA_FILE, sdl);
      console.log(`wrote ${SCHEMA_FILE}`);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
