// The real API for e2e tests: its own migrated database, its own Redis key prefix, listening on an
// ephemeral port, spoken to over HTTP with plain fetch.
//
//   const api = await startApi();                       // afterAll(() => api.close())
//   const admin = await api.bootstrapOrg('acme');        // ADMIN token of a new organization
//   const { data, errors } = await api.gql(admin, 'query { viewer { role } }');
//   const editor = await api.createToken(admin, 'EDITOR');
//
// Nothing is mocked: createApiApp is the same function main.ts uses, and every request goes through
// Fastify, Apollo, the auth guard, the services and Postgres.
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import 'reflect-metadata';
import { createApiApp } from '../../src/api.app';
import { type AppConfig, loadConfig } from '../../src/infra/config/app-config';
import { PrismaService } from '../../src/infra/database/prisma.service';
import { MetricsServer } from '../../src/infra/metrics/metrics.server';
import { createRootLogger } from '../../src/infra/logging/logger';
import { OrganizationService } from '../../src/modules/organizations/organization.service';
import { createTestDatabase, type TestDatabase } from './database';
import { createTestRedis, type TestRedis } from './redis';

export interface GqlError {
  message: string;
  path?: (string | number)[];
  locations?: unknown;
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GqlResponse<T = any> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: GqlError[];
  /** The whole parsed body, for assertions on what else a response carries. */
  body: { data?: T | null; errors?: GqlError[]; [key: string]: unknown };
}

export type Role = 'ADMIN' | 'EDITOR' | 'VIEWER';

export interface TestApi {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** GET this for Prometheus metrics, when METRICS_PORT was given (e.g. http://127.0.0.1:41235/metrics). */
  metricsUrl?: string;
  app: NestFastifyApplication;
  prisma: PrismaService;
  config: AppConfig;
  db: TestDatabase;
  redis: TestRedis;
  /** Creates an organization the way operators do (OrganizationService.bootstrap); returns its ADMIN token. */
  bootstrapOrg(name: string, displayName?: string): Promise<string>;
  /** Like bootstrapOrg, but also returns the organization id. */
  bootstrapOrgWithId(name: string, displayName?: string): Promise<{ token: string; organizationId: string }>;
  /** POSTs a GraphQL operation; `token` undefined sends no Authorization header. */
  gql<T = any>(token: string | undefined, query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResponse<T>>;
  /** Like gql, but throws (with the errors) unless the operation succeeded without errors. */
  gqlOk<T = any>(token: string | undefined, query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Creates an API token through the API (createApiToken) with an ADMIN token; returns its secret. */
  createToken(adminToken: string, role: Role, name?: string): Promise<string>;
  close(): Promise<void>;
}

let tokenCounter = 0;

/**
 * Starts the API on 127.0.0.1 with a fresh database cloned from the migrated template. `env` overrides
 * configuration (e.g. { GRAPHQL_MAX_DEPTH: '6' }) on top of the test process environment.
 * `reachDatabase` rewrites the URL the API connects with (a fault test routes it through a TCP link it
 * can cut); the test's own `prisma` handle uses the same URL.
 */
export async function startApi(env: Record<string, string> = {}, reachDatabase: (url: string) => string = (url) => url): Promise<TestApi> {
  const db = await createTestDatabase();
  const redis = createTestRedis();
  let app: NestFastifyApplication | undefined;
  try {
    const config = loadConfig({
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: reachDatabase(db.url),
      REDIS_URL: redis.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.FARPOINT_TEST_LOG_LEVEL ?? 'silent',
      QUEUE_PREFIX: redis.prefix,
      // Off unless a test asks for them (the default port would collide between parallel APIs).
      METRICS_PORT: '0',
      // Test files send many requests from one address and token; limit tests set their own.
      ADDRESS_RATE_LIMIT_PER_MINUTE: '1000000',
      GRAPHQL_RATE_LIMIT_PER_MINUTE: '1000000',
      ...env,
    });
    app = await createApiApp(config, createRootLogger(config.LOG_LEVEL, 'farpoint-api-test'));
    // PORT 0 (the default here) picks an ephemeral port; a test that needs its URL before start-up
    // (PUBLIC_URL in registration links) passes a free PORT in `env`.
    await app.listen({ port: config.PORT, host: '127.0.0.1' });
    const address = app.getHttpAdapter().getInstance().server.address();
    if (!address || typeof address === 'string') {
      throw new Error(`unexpected listen address ${String(address)}`);
    }
    const url = `http://127.0.0.1:${address.port}`;
    const prisma = app.get(PrismaService);
    const started = app;
    const metricsAddress = app.get(MetricsServer).address();

    const gql = async <T>(token: string | undefined, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GqlResponse<T>> => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const text = await response.text();
      let body: GqlResponse<T>['body'];
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`POST /graphql answered ${response.status} with a body that is not JSON: ${text.slice(0, 500)}`);
      }
      return { status: response.status, headers: response.headers, data: body.data, errors: body.errors, body };
    };

    const gqlOk = async <T>(token: string | undefined, query: string, variables?: Record<string, unknown>): Promise<T> => {
      const res = await gql<T>(token, query, variables);
      if (res.errors?.length || res.status !== 200) {
        throw new Error(`GraphQL operation failed (HTTP ${res.status}): ${JSON.stringify(res.errors)}\n${query}\nvariables: ${JSON.stringify(variables)}`);
      }
      return res.data as T;
    };

    const bootstrapOrgWithId = async (name: string, displayName = name) => {
      const { organization, adminToken } = await started.get(OrganizationService).bootstrap(name, displayName, 'operator:e2e');
      return { token: adminToken, organizationId: organization.id };
    };

    return {
      url,
      metricsUrl: metricsAddress ? `http://127.0.0.1:${metricsAddress.port}/metrics` : undefined,
      app: started,
      prisma,
      config,
      db,
      redis,
      gql,
      gqlOk,
      bootstrapOrgWithId,
      bootstrapOrg: async (name, displayName) => (await bootstrapOrgWithId(name, displayName)).token,
      async createToken(adminToken, role, name = `${role.toLowerCase()}-${++tokenCounter}`) {
        const data = await gqlOk<{ createApiToken: { secret: string } }>(adminToken, 'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }', {
          input: { name, role },
        });
        return data.createApiToken.secret;
      },
      async close() {
        await started.close();
        await redis.cleanup();
        await db.drop();
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await redis.cleanup().catch(() => undefined);
    await db.drop().catch(() => undefined);
    throw error;
  }
}
