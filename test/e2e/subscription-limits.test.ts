// Depth and cost limits apply to subscriptions over graphql-ws too (Apollo's plugins, which enforce
// them for HTTP, never see WebSocket operations). The one subscription has a flat type, so the test
// exceeds the cost limit with aliases, and shows a subscription within the limits receives events.
import { createClient, Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ClusterStatusService } from '../../src/modules/cluster-status/cluster-status.service';
import { PubSubGateway } from '../../src/infra/redis/pubsub.gateway';
import { startApi, TestApi } from '../support/api';

let api: TestApi;
let token: string;
let organizationId: string;
let client: Client;

beforeAll(async () => {
  api = await startApi({ GRAPHQL_MAX_COST: '10' });
  ({ token, organizationId } = await api.bootstrapOrgWithId('limits'));
  client = createClient({ url: `${api.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
});
afterAll(async () => {
  await client?.dispose();
  await api?.close();
});

/** Live subscriptions the API process holds (there is no protocol message for "subscribed"). */
function subscriptionsHeld(): number {
  const gateway = api.app.get(PubSubGateway) as unknown as { listeners: Map<string, Set<unknown>> };
  return [...gateway.listeners.values()].reduce((n, set) => n + set.size, 0);
}

describe('subscription query limits', () => {
  it('refuses a subscription costlier than GRAPHQL_MAX_COST with QUERY_TOO_COMPLEX', async () => {
    const fields = Array.from({ length: 12 }, (_, i) => `f${i}: clusterId`).join(' ');
    const errors = await new Promise<{ message: string; extensions?: { code?: string } }[]>((resolve, reject) => {
      client.subscribe({ query: `subscription { clusterStatusChanged { ${fields} } }` }, { next: () => reject(new Error('got an event')), error: (e) => resolve(e as never), complete: () => reject(new Error('completed without an error')) });
    });
    expect(errors[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(errors[0].message).toMatch(/would cost \d+; the limit is 10/);
    expect(subscriptionsHeld()).toBe(0);
  });

  it('accepts a subscription within the limits: it receives the next status change', async () => {
    const received = new Promise<{ clusterId: string; phase: string }>((resolve, reject) => {
      client.subscribe<{ clusterStatusChanged: { clusterId: string; phase: string } }>(
        { query: 'subscription { clusterStatusChanged { clusterId phase } }' },
        { next: (value) => (value.data ? resolve(value.data.clusterStatusChanged) : reject(new Error(JSON.stringify(value.errors)))), error: reject, complete: () => undefined },
      );
    });
    // Bounded by the test timeout if the server never registers the subscription.
    while (subscriptionsHeld() < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    const change = { organizationId, clusterId: '00000000-0000-4000-8000-000000000001', clusterName: 'c', phase: 'READY', previousPhase: 'ATTACHED', health: 'HEALTHY', previousHealth: 'UNKNOWN', reason: null, actor: 'test', occurredAt: new Date().toISOString() } as const;
    await api.app.get(ClusterStatusService).publish([change]);
    expect(await received).toEqual({ clusterId: change.clusterId, phase: 'READY' });
  });
});
