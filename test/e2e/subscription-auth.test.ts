// A graphql-ws connection follows the API token it was opened with: refused at connection_init
// without a valid token, and closed (4401) when the token is revoked, expires, or is found invalid by
// the periodic re-check. Real Redis pub/sub carries revocations between replicas.
import { createClient, type Client } from 'graphql-ws';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { SubscriptionServer } from '../../src/graphql/subscription-server';
import { PubSubGateway } from '../../src/infra/redis/pubsub.gateway';
import { startApi, type TestApi } from '../support/api';

const QUERY = 'subscription { clusterStatusChanged { clusterId phase } }';

let api: TestApi;
let recheckApi: TestApi;
let admin: string;

beforeAll(async () => {
  [api, recheckApi] = await Promise.all([
    // A re-check an hour away: whatever closes a connection here is the revocation message or the expiry timer.
    startApi({ GRAPHQL_WS_RECHECK_SECONDS: '3600' }),
    startApi({ GRAPHQL_WS_RECHECK_SECONDS: '1' }),
  ]);
  admin = await api.bootstrapOrg('ws-auth');
  await api.app.get(SubscriptionServer).revocationsHeard();
});
afterAll(async () => {
  await Promise.all([api?.close(), recheckApi?.close()]);
});

interface Connection {
  client: Client;
  /** The close event once the socket closed. */
  closed?: { code: number; reason: string };
  errors: unknown[];
  close(): Promise<void>;
}

/** Opens a connection with these connection parameters and starts one subscription on it. */
function subscribe(on: TestApi, connectionParams: Record<string, unknown>): Connection {
  const connection: Connection = {
    client: createClient({
      url: `${on.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      on: { closed: (event) => (connection.closed = { code: (event as { code: number }).code, reason: String((event as { reason: unknown }).reason) }) },
    }),
    errors: [],
    close: async () => {
      await connection.client.dispose();
    },
  };
  connection.client.subscribe({ query: QUERY }, { next: () => undefined, error: (error) => connection.errors.push(error), complete: () => undefined });
  return connection;
}

function subscriptionsHeld(on: TestApi): number {
  const gateway = on.app.get<unknown, { listeners: Map<string, Set<unknown>> }>(PubSubGateway);
  return [...gateway.listeners.entries()].filter(([key]) => key.includes(':pubsub:cluster-status:')).reduce((n, [, set]) => n + set.size, 0);
}

async function until(condition: () => boolean): Promise<void> {
  // Bounded by the test timeout.
  while (!condition()) {
    await sleep(10);
  }
}

async function newToken(on: TestApi, adminToken: string, name: string, expiresAt?: Date): Promise<{ id: string; secret: string }> {
  const data = await on.gqlOk<{ createApiToken: { secret: string; token: { id: string } } }>(
    adminToken,
    'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret token { id } } }',
    { input: { name, role: 'VIEWER', expiresAt: expiresAt?.toISOString() } },
  );
  return { id: data.createApiToken.token.id, secret: data.createApiToken.secret };
}

describe('subscriptions follow their API token', () => {
  it.each([
    ['no token', {}, 'Send an API token'],
    ['a token that does not exist', { authorization: `Bearer fpt_${randomBytes(32).toString('base64url')}` }, 'This API token is not valid.'],
    ['something that is not a token', { authorization: 'Basic dXNlcjpwYXNz' }, 'not a Farpoint API token'],
  ])('refuses a connection with %s at connection_init (4401), before any subscription', async (_, params, reason) => {
    const connection = subscribe(api, params);
    await until(() => connection.closed !== undefined);
    expect(connection.closed!.code).toBe(4401);
    expect(connection.closed!.reason).toContain(reason);
    expect(subscriptionsHeld(api)).toBe(0);
    await connection.close();
  });

  it('closes the open subscription of a token when it is revoked (4401), and only that one', async () => {
    const doomed = await newToken(api, admin, 'doomed');
    const kept = await newToken(api, admin, 'kept');
    const [revoked, other] = [subscribe(api, { authorization: `Bearer ${doomed.secret}` }), subscribe(api, { authorization: `Bearer ${kept.secret}` })];
    await until(() => subscriptionsHeld(api) === 2);
    await api.gqlOk(admin, 'mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }', { id: doomed.id });
    await until(() => revoked.closed !== undefined);
    expect(revoked.closed).toEqual({ code: 4401, reason: 'This API token has been revoked.' });
    await until(() => subscriptionsHeld(api) === 1);
    expect(other.closed).toBeUndefined();
    // A new connection with the revoked token is refused at once.
    const again = subscribe(api, { authorization: `Bearer ${doomed.secret}` });
    await until(() => again.closed !== undefined);
    expect(again.closed).toEqual({ code: 4401, reason: 'This API token has been revoked.' });
    await Promise.all([revoked.close(), other.close(), again.close()]);
  });

  it('closes the open subscription of a token when it expires (4401)', async () => {
    const expiring = await newToken(api, admin, 'short-lived', new Date(Date.now() + 2_000));
    const connection = subscribe(api, { authorization: `Bearer ${expiring.secret}` });
    await until(() => subscriptionsHeld(api) === 1 || connection.closed !== undefined);
    expect(connection.closed).toBeUndefined(); // it was open before the token expired
    await until(() => connection.closed !== undefined);
    expect(connection.closed).toEqual({ code: 4401, reason: 'This API token has expired.' });
    await until(() => subscriptionsHeld(api) === 0);
    await connection.close();
  });

  it('closes a connection whose token the periodic re-check finds invalid (a revocation no message announced)', async () => {
    const recheckAdmin = await recheckApi.bootstrapOrg('ws-recheck');
    const token = await newToken(recheckApi, recheckAdmin, 'quietly-revoked');
    const connection = subscribe(recheckApi, { authorization: `Bearer ${token.secret}` });
    await until(() => subscriptionsHeld(recheckApi) === 1);
    // Straight in the database: no pub/sub message, only the re-check can notice.
    await recheckApi.prisma.apiToken.update({ where: { id: token.id }, data: { revokedAt: new Date() } });
    await until(() => connection.closed !== undefined);
    expect(connection.closed).toEqual({ code: 4401, reason: 'This API token has been revoked.' });
    await until(() => subscriptionsHeld(recheckApi) === 0);
    await connection.close();
  });
});
