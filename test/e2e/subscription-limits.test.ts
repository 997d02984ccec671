// Limits of subscriptions over graphql-ws: depth and cost (Apollo's plugins, which enforce them for
// HTTP, never see WebSocket operations), subscriptions per connection, message size, and the backlog
// of a subscriber that does not keep up. The one subscription has a flat type, so the test exceeds
// the cost limit with aliases.
import { createClient, type Client } from 'graphql-ws';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { ClusterStatusService } from '../../src/modules/cluster-status/cluster-status.service';
import { PubSubGateway, SUBSCRIBER_MAX_PENDING } from '../../src/infra/redis/pubsub.gateway';
import { startApi, type TestApi } from '../support/api';

const MAX_SUBSCRIPTIONS = 2;
const MAX_PAYLOAD = 2048;

let api: TestApi;
let token: string;
let organizationId: string;
let client: Client;

beforeAll(async () => {
  api = await startApi({ GRAPHQL_MAX_COST: '10', GRAPHQL_WS_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS), GRAPHQL_WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD) });
  ({ token, organizationId } = await api.bootstrapOrgWithId('limits'));
  client = connect();
});
afterAll(async () => {
  await client?.dispose();
  await api?.close();
});

function connect(): Client {
  return createClient({ url: `${api.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
}

/** Listeners the API process holds on cluster-status channels (there is no protocol message for "subscribed"). */
function subscriptionsHeld(): number {
  const gateway = api.app.get<unknown, { listeners: Map<string, Set<unknown>> }>(PubSubGateway);
  return [...gateway.listeners.entries()].filter(([key]) => key.includes(':pubsub:cluster-status:')).reduce((n, [, set]) => n + set.size, 0);
}

async function until(condition: () => boolean): Promise<void> {
  // Bounded by the test timeout.
  while (!condition()) {
    await sleep(10);
  }
}

const QUERY = 'subscription { clusterStatusChanged { clusterId phase } }';
const change = (clusterId: string) =>
  ({
    organizationId,
    clusterId,
    clusterName: 'c',
    phase: 'READY',
    previousPhase: 'ATTACHED',
    health: 'HEALTHY',
    previousHealth: 'UNKNOWN',
    reason: null,
    actor: 'test',
    occurredAt: new Date().toISOString(),
  }) as const;

type GqlErrors = { message: string; extensions?: { code?: string; [key: string]: unknown } }[];

/** Subscribes and resolves with the errors the server answers (the subscription must fail). */
function subscriptionErrors(on: Client, query: string): Promise<GqlErrors> {
  return new Promise((resolve, reject) => {
    on.subscribe(
      { query },
      { next: () => reject(new Error('got an event')), error: (e) => resolve(e as GqlErrors), complete: () => reject(new Error('completed without an error')) },
    );
  });
}

describe('subscription limits', () => {
  it('refuses a subscription costlier than GRAPHQL_MAX_COST with QUERY_TOO_COMPLEX', async () => {
    const fields = Array.from({ length: 12 }, (_, i) => `f${i}: clusterId`).join(' ');
    const errors = await subscriptionErrors(client, `subscription { clusterStatusChanged { ${fields} } }`);
    expect(errors[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(errors[0].message).toMatch(/would cost \d+; the limit is 10/);
    expect(subscriptionsHeld()).toBe(0);
  });

  it('accepts a subscription within the limits: it receives the next status change', async () => {
    const received = new Promise<{ clusterId: string; phase: string }>((resolve, reject) => {
      const stop = client.subscribe<{ clusterStatusChanged: { clusterId: string; phase: string } }>(
        { query: QUERY },
        {
          next: (value) => {
            stop();
            if (value.data) {
              resolve(value.data.clusterStatusChanged);
            } else {
              reject(new Error(JSON.stringify(value.errors)));
            }
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    await until(() => subscriptionsHeld() >= 1);
    const published = change('00000000-0000-4000-8000-000000000001');
    await api.app.get(ClusterStatusService).publish([published]);
    expect(await received).toEqual({ clusterId: published.clusterId, phase: 'READY' });
    await until(() => subscriptionsHeld() === 0);
  });

  it(`refuses more than GRAPHQL_WS_MAX_SUBSCRIPTIONS (${MAX_SUBSCRIPTIONS}) on one connection with RATE_LIMITED; a completed one frees its place`, async () => {
    const own = connect();
    try {
      const sink = { next: () => undefined, error: () => undefined, complete: () => undefined };
      const stops = Array.from({ length: MAX_SUBSCRIPTIONS }, () => own.subscribe({ query: QUERY }, sink));
      await until(() => subscriptionsHeld() === MAX_SUBSCRIPTIONS);
      const errors = await subscriptionErrors(own, QUERY);
      expect(errors[0].extensions).toEqual({ code: 'RATE_LIMITED', maxSubscriptions: MAX_SUBSCRIPTIONS });
      expect(errors[0].message).toContain(`already holds ${MAX_SUBSCRIPTIONS} subscriptions`);
      expect(subscriptionsHeld()).toBe(MAX_SUBSCRIPTIONS);
      // Another connection has its own allowance.
      const other = connect();
      const otherStop = other.subscribe({ query: QUERY }, sink);
      await until(() => subscriptionsHeld() === MAX_SUBSCRIPTIONS + 1);
      otherStop();
      await other.dispose();
      stops[0]();
      await until(() => subscriptionsHeld() === MAX_SUBSCRIPTIONS - 1);
      own.subscribe({ query: QUERY }, sink);
      await until(() => subscriptionsHeld() === MAX_SUBSCRIPTIONS);
    } finally {
      await own.dispose();
    }
    await until(() => subscriptionsHeld() === 0);
  });

  it(`closes the socket (1009) on a message larger than GRAPHQL_WS_MAX_PAYLOAD_BYTES (${MAX_PAYLOAD}), before parsing it`, async () => {
    const socket = new WebSocket(`${api.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const messages: { type: string }[] = [];
    socket.on('message', (data) => messages.push(JSON.parse((data as Buffer).toString('utf8'))));
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await until(() => messages.some((m) => m.type === 'connection_ack'));
    // Within the limit: served as usual.
    socket.send(JSON.stringify({ id: 'small', type: 'subscribe', payload: { query: QUERY } }));
    await until(() => subscriptionsHeld() === 1);
    const padding = ' '.repeat(MAX_PAYLOAD);
    socket.send(JSON.stringify({ id: 'big', type: 'subscribe', payload: { query: `${QUERY}${padding}` } }));
    expect(await closed).toBe(1009);
    await until(() => subscriptionsHeld() === 0);
  });

  it(`ends a subscriber more than ${SUBSCRIBER_MAX_PENDING} messages behind with RATE_LIMITED and lets go of its messages`, async () => {
    const pubsub = api.app.get(PubSubGateway);
    const channel = `slow-consumer-${Date.now()}`;
    const count = SUBSCRIBER_MAX_PENDING + 5;
    const slow = pubsub.iterate<number>(channel);
    // Room for every message, so it keeps all of them however they arrive.
    const fast = pubsub.iterate<number>(channel, { maxPending: count });
    const internals = pubsub as unknown as { listeners: Map<string, Set<unknown>>; subscriptions: Map<string, Promise<unknown>> };
    const key = `${api.config.QUEUE_PREFIX}:pubsub:${channel}`;
    await internals.subscriptions.get(key); // Redis confirmed the SUBSCRIBE
    const held = () => internals.listeners.get(key)?.size ?? 0;
    expect(held()).toBe(2);
    for (let i = 0; i < count; i++) {
      await pubsub.publish(channel, i);
    }
    // Every listener sees each message at the same moment, so once `fast` has read them all, `slow`
    // has been offered them all too.
    const seen: number[] = [];
    while (seen.length < count) {
      seen.push((await fast.next()).value as number);
    }
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
    await until(() => held() === 1); // `slow` let go of its channel
    await expect(slow.next()).rejects.toMatchObject({ code: 'RATE_LIMITED', details: { maxPending: SUBSCRIBER_MAX_PENDING } });
    expect(await slow.next()).toEqual({ value: undefined, done: true });
    await fast.return!();
    expect(held()).toBe(0);
  });
});
