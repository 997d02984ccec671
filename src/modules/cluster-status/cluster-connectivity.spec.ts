import { clusterConnectivity, ConnectivityState } from './cluster-connectivity';

const now = new Date('2026-12-02T10:00:00.000Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
const cluster = (overrides: Partial<Parameters<typeof clusterConnectivity>[0]> = {}) => ({
  lastHeartbeatAt: null,
  agentQueueDepth: null,
  agentDroppedByKind: null,
  agentOldestQueuedAt: null,
  ...overrides,
});

describe(clusterConnectivity.name, () => {
  it('is NEVER_CONNECTED without a heartbeat, ONLINE within the grace and OFFLINE past it', () => {
    expect(clusterConnectivity(cluster(), 60, now)).toEqual({
      state: ConnectivityState.NEVER_CONNECTED,
      lastHeartbeatAt: null,
      backlogItems: null,
      droppedByKind: [],
      oldestQueuedAt: null,
    });
    expect(clusterConnectivity(cluster({ lastHeartbeatAt: ago(60) }), 60, now).state).toBe(ConnectivityState.ONLINE);
    expect(clusterConnectivity(cluster({ lastHeartbeatAt: ago(61) }), 60, now).state).toBe(ConnectivityState.OFFLINE);
    // A site on LTE backup with a long grace is still online where a data centre would not be.
    expect(clusterConnectivity(cluster({ lastHeartbeatAt: ago(600) }), 900, now).state).toBe(ConnectivityState.ONLINE);
  });

  it('reports the backlog and the drops of the last heartbeat, by kind, ignoring what is not a count', () => {
    const result = clusterConnectivity(
      cluster({ lastHeartbeatAt: ago(1), agentQueueDepth: 42, agentDroppedByKind: { heartbeat: 7, 'audit.result': 2, bogus: 'x', none: 0 }, agentOldestQueuedAt: ago(3600) }),
      60,
      now,
    );
    expect(result).toEqual({
      state: ConnectivityState.ONLINE,
      lastHeartbeatAt: ago(1),
      backlogItems: 42,
      droppedByKind: [
        { kind: 'audit.result', count: 2 },
        { kind: 'heartbeat', count: 7 },
      ],
      oldestQueuedAt: ago(3600),
    });
  });
});
