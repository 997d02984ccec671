// Secrets never reach the logs of the agent gateway: registration tokens travel in the manifests URL
// and credentials in the Authorization header and response bodies. The real API is started with a
// trace-level logger writing into memory (test/support/api.ts logs to stdout, so this file builds the
// app itself with the same createApiApp), driven through a full agent lifecycle, and its log searched.
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Client } from 'pg';
import pino from 'pino';
import 'reflect-metadata';
import { createApiApp } from '../../src/api.app';
import { loadConfig } from '../../src/infra/config/app-config';
import { OrganizationService } from '../../src/modules/organizations/organization.service';
import { AgentPaths } from '../../src/protocol';
import { makeHeartbeatItem, makeInventory, makeReportsRequest } from '../../src/protocol/testing/factories';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestRedis, type TestRedis } from '../support/redis';

const logLines: string[] = [];
let app: NestFastifyApplication;
let db: TestDatabase;
let redis: TestRedis;
let url: string;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = createTestRedis();
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    PORT: '0',
    HOST: '127.0.0.1',
    QUEUE_PREFIX: redis.prefix,
    LOG_LEVEL: 'trace',
  });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  app = await createApiApp(config, pino({ level: 'trace' }, sink));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpAdapter().getInstance().server.address();
  if (!address || typeof address === 'string') {
    throw new Error('no listen address');
  }
  url = `http://127.0.0.1:${address.port}`;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await redis?.cleanup();
  await db?.drop();
});

async function post(path: string, body: unknown, credential?: string): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

it('logs agent requests with the registration token redacted and no credential anywhere', async () => {
  const { adminToken } = await app.get(OrganizationService).bootstrap('log-check', 'Log check', 'operator:e2e');
  const gql = async (query: string, variables: Record<string, unknown>) => (await post('/graphql', { query, variables }, adminToken)).json.data;
  const group = (await gql('mutation($input: CreateClusterGroupInput!) { createClusterGroup(input: $input) { id } }', { input: { name: 'g' } })).createClusterGroup;
  const token: string = (await gql('mutation($input: AttachClusterInput!) { attachCluster(input: $input) { registrationToken } }', { input: { name: 'c', groupId: group.id } }))
    .attachCluster.registrationToken;
  const forged = `fpr_${randomBytes(32).toString('base64url')}`;
  const forgedCredential = `fpc_${randomBytes(32).toString('base64url')}`;

  expect((await fetch(`${url}${AgentPaths.manifests(token)}`)).status).toBe(200);
  expect((await fetch(`${url}${AgentPaths.manifests(forged)}?t=${forged}`)).status).toBe(404);
  const registered = await post(AgentPaths.register, { registrationToken: token, clusterUid: randomUUID(), agentVersion: '0.1.0' });
  expect(registered.status).toBe(200);
  const { clusterId, credential } = registered.json as { clusterId: string; credential: string };
  expect((await post(AgentPaths.reports, makeReportsRequest([makeHeartbeatItem(1)], { clusterId }), credential)).status).toBe(200);
  const rotated = await post(AgentPaths.rotateCredential, { clusterId }, credential);
  expect(rotated.status).toBe(200);
  const snapshot = { seq: 2, observedAt: '2026-11-26T10:00:30.000Z', kind: 'inventory.snapshot', payload: makeInventory() };
  expect((await post(AgentPaths.reports, makeReportsRequest([snapshot as never], { clusterId }), rotated.json.credential)).status).toBe(200);
  expect((await post(AgentPaths.reports, makeReportsRequest([makeHeartbeatItem(3)], { clusterId }), credential)).status).toBe(401);
  expect((await post(AgentPaths.reports, makeReportsRequest([makeHeartbeatItem(3)], { clusterId }), forgedCredential)).status).toBe(401);
  expect((await post(AgentPaths.reports, makeReportsRequest([makeHeartbeatItem(3)], { clusterId: randomUUID() }), rotated.json.credential)).status).toBe(403);

  const log = logLines.join('');
  // The requests were logged (so the absence checks below look at something)...
  expect(log).toContain('"url":"/agent/v1/manifests/[redacted].yaml"');
  expect(log).toContain('"url":"/agent/v1/manifests/[redacted].yaml?[redacted]"');
  expect(log).toContain(`"url":"${AgentPaths.reports}"`);
  expect(log).toContain(`"url":"${AgentPaths.rotateCredential}"`);
  // ...without a single secret.
  for (const secret of [token, forged, credential, rotated.json.credential as string, forgedCredential]) {
    expect(log).not.toContain(secret);
    expect(log).not.toContain(secret.slice(4, 24));
  }
});

it('redacts secrets from the URLs of requests that matched no route (404s)', async () => {
  const token = `fpr_${randomBytes(32).toString('base64url')}`;
  const apiToken = `fpt_${randomBytes(32).toString('base64url')}`;
  const before = logLines.length;
  for (const path of [
    `/agent/v1/manifest/${token}.yaml`,
    `/agent/v1/manifests/${token}`,
    `/agent/v1/manifests/${token}.yml?x=1`,
    `/no-such-path/${token}?api=${apiToken}`,
    `/graphql/${apiToken}`,
  ]) {
    expect((await fetch(`${url}${path}`)).status).toBe(404);
  }
  const log = logLines.slice(before).join('');
  expect(log).toContain('"url":"/agent/v1/manifest/[redacted].yaml"');
  expect(log).toContain('"url":"/no-such-path/[redacted]?api=[redacted]"');
  expect(log).toContain('"statusCode":404');
  for (const secret of [token, apiToken]) {
    expect(log).not.toContain(secret.slice(4, 24));
  }
});

it('answers INTERNAL_ERROR with a generic message when something unexpected fails, and logs the failure without secrets', async () => {
  const { adminToken } = await app.get(OrganizationService).bootstrap('failure-check', 'Failure check', 'operator:e2e');
  const gql = async (query: string, variables: Record<string, unknown>) => (await post('/graphql', { query, variables }, adminToken)).json.data;
  const group = (await gql('mutation($input: CreateClusterGroupInput!) { createClusterGroup(input: $input) { id } }', { input: { name: 'g' } })).createClusterGroup;
  const token: string = (await gql('mutation($input: AttachClusterInput!) { attachCluster(input: $input) { registrationToken } }', { input: { name: 'c', groupId: group.id } }))
    .attachCluster.registrationToken;
  const { clusterId, credential } = (await post(AgentPaths.register, { registrationToken: token, clusterUid: randomUUID(), agentVersion: '0.1.0' })).json as {
    clusterId: string;
    credential: string;
  };

  // Break this file's private database under the running API.
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  try {
    await pg.query('ALTER TABLE "ClusterInventory" RENAME TO "ClusterInventoryMoved"');
    const before = logLines.length;
    const res = await post(AgentPaths.reports, makeReportsRequest([makeHeartbeatItem(1)], { clusterId }), credential);
    expect(res).toEqual({
      status: 500,
      json: { error: { code: 'INTERNAL_ERROR', message: 'The Farpoint API failed to handle this request. Retry later; the failure has been logged.' } },
    });
    const log = logLines.slice(before).join('');
    expect(log).toContain('POST /agent/v1/reports failed');
    expect(log).toContain('ClusterInventory');
    expect(log).not.toContain(credential);
    expect(log).not.toContain(token);
  } finally {
    await pg.query('ALTER TABLE "ClusterInventoryMoved" RENAME TO "ClusterInventory"').catch(() => undefined);
    await pg.end();
  }
  // Nothing of the failed batch was stored: the agent retries it and it goes through.
  expect((await post(AgentPaths.reports, makeReportsRequest([makeHeartbeatItem(1)], { clusterId }), credential)).json).toEqual({ ackedSeq: 1, directives: [] });
});
