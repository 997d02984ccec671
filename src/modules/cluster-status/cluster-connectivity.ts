import type { Cluster } from '../../generated/prisma/client';

export enum ConnectivityState {
  ONLINE = 'ONLINE',
  OFFLINE = 'OFFLINE',
  NEVER_CONNECTED = 'NEVER_CONNECTED',
}

/** A cluster without a site gets the health sweep's default grace. */
export const DEFAULT_DISCONNECT_GRACE_SECONDS = 60;

export interface ClusterConnectivity {
  state: ConnectivityState;
  lastHeartbeatAt: Date | null;
  backlogItems: number | null;
  droppedByKind: Array<{ kind: string; count: number }>;
  oldestQueuedAt: Date | null;
}

/**
 * Connectivity by the same rule as the health sweep (a heartbeat within the site's disconnect grace),
 * but judged when read, so it is exact between sweeps; the queue figures are those of the last
 * heartbeat the API stored.
 */
export function clusterConnectivity(
  cluster: Pick<Cluster, 'lastHeartbeatAt' | 'agentQueueDepth' | 'agentDroppedByKind' | 'agentOldestQueuedAt'>,
  disconnectGraceSeconds: number,
  now: Date,
): ClusterConnectivity {
  const last = cluster.lastHeartbeatAt;
  const state = !last ? ConnectivityState.NEVER_CONNECTED : now.getTime() - last.getTime() > disconnectGraceSeconds * 1000 ? ConnectivityState.OFFLINE : ConnectivityState.ONLINE;
  const dropped = cluster.agentDroppedByKind && typeof cluster.agentDroppedByKind === 'object' && !Array.isArray(cluster.agentDroppedByKind) ? cluster.agentDroppedByKind : {};
  return {
    state,
    lastHeartbeatAt: last,
    backlogItems: cluster.agentQueueDepth,
    droppedByKind: Object.entries(dropped)
      .filter((entry): entry is [string, number] => typeof entry[1] === 'number' && entry[1] > 0)
      .map(([kind, count]) => ({ kind, count }))
      .sort((a, b) => a.kind.localeCompare(b.kind)),
    oldestQueuedAt: cluster.agentOldestQueuedAt,
  };
}
