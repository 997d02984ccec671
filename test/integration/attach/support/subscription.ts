// clusterStatusChanged over graphql-ws (the `ws` package as the WebSocket), as a UI would subscribe.
import { createClient, type Client } from 'graphql-ws';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { PubSubGateway } from '../../../../src/infra/redis/pubsub.gateway';
import type { Farpoint } from './farpoint';

export interface StatusChange {
  clusterId: string;
  clusterName: string;
  phase: string;
  previousPhase: string;
  health: string;
  previousHealth: string;
  reason: string | null;
  actor: string;
  occurredAt: string;
}

export interface StatusStream {
  received: StatusChange[];
  errors: unknown[];
  close(): Promise<void>;
}

const QUERY = 'subscription($id: ID) { clusterStatusChanged(clusterId: $id) { clusterId clusterName phase previousPhase health previousHealth reason actor occurredAt } }';

/** Local listeners the API process holds on its Redis subscriber (there is no "subscribed" message in graphql-ws). */
function listenersHeld(fp: Farpoint): number {
  const gateway = fp.api.app.get<unknown, { listeners: Map<string, Set<unknown>> }>(PubSubGateway);
  return [...gateway.listeners.values()].reduce((n, set) => n + set.size, 0);
}

/** Subscribes to one cluster's status changes and resolves once the API is listening for them. */
export async function subscribeClusterStatus(fp: Farpoint, clusterId: string): Promise<StatusStream> {
  const before = listenersHeld(fp);
  const client: Client = createClient({
    url: `${fp.api.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${fp.token}` },
    retryAttempts: 0,
  });
  const received: StatusChange[] = [];
  const errors: unknown[] = [];
  const unsubscribe = client.subscribe<{ clusterStatusChanged: StatusChange }>(
    { query: QUERY, variables: { id: clusterId } },
    {
      next: (value) => {
        if (value.errors) {
          errors.push(value.errors);
        }
        if (value.data?.clusterStatusChanged) {
          received.push(value.data.clusterStatusChanged);
        }
      },
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  const deadline = Date.now() + 30_000;
  while (listenersHeld(fp) <= before) {
    if (errors.length) {
      throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
    }
    if (Date.now() > deadline) {
      throw new Error('the API did not start listening for the subscription within 30 s');
    }
    await sleep(20);
  }
  return {
    received,
    errors,
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
}
