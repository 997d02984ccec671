import type { V1Pod } from '@kubernetes/client-node';
import { applyInventoryDelta, type Inventory, type InventoryDelta } from '../../protocol/inventory';
import { eventually } from '../../dev/eventually';
import { tkgClusterObjects } from '../testing/cluster-objects';
import { FakeAgentKube, FakeClusterWatch } from '../testing/fakes';
import { capturedLog, FAST_BACKOFF, testSession } from '../testing/loops';
import { buildInventory } from './inventory-builder';
import { InventoryLoop, type InventorySink } from './inventory-loop';

type Queued = { kind: 'inventory.snapshot'; payload: Inventory } | { kind: 'inventory.delta'; payload: InventoryDelta };

class RecordingSink implements InventorySink {
  inventoryLost = false;
  readonly items: Queued[] = [];
  enqueue(kind: Queued['kind'], payload: unknown): void {
    this.items.push({ kind, payload } as Queued);
  }
  kinds(): string[] {
    return this.items.map((i) => i.kind);
  }
  /** The inventory the API rebuilds from what was queued. */
  rebuilt(): Inventory {
    let inventory: Inventory | undefined;
    for (const item of this.items) {
      inventory = item.kind === 'inventory.snapshot' ? item.payload : applyInventoryDelta(inventory!, item.payload);
    }
    return inventory!;
  }
}

function setup() {
  const watch = new FakeClusterWatch(tkgClusterObjects());
  const sink = new RecordingSink();
  const kube = new FakeAgentKube();
  const { log, logs } = capturedLog();
  const loop = new InventoryLoop({ kube, watch, sink, log, backoff: FAST_BACKOFF, now: Date.now });
  const { session, stop } = testSession({ reportIntervalMs: 5 });
  const running = loop.run(session);
  const end = async () => {
    stop();
    await running;
  };
  return { watch, sink, kube, logs, loop, end };
}

describe(InventoryLoop.name, () => {
  it('queues a snapshot once the informers have synced, not before', async () => {
    const watch = new FakeClusterWatch(tkgClusterObjects());
    watch.synced = false;
    const sink = new RecordingSink();
    const { log } = capturedLog();
    const loop = new InventoryLoop({ kube: new FakeAgentKube(), watch, sink, log, backoff: FAST_BACKOFF, now: Date.now });
    const { session, stop } = testSession({ reportIntervalMs: 5 });
    const running = loop.run(session);
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.items).toEqual([]);
    watch.synced = true;
    await eventually(() => sink.items.length === 1, { what: 'a snapshot' });
    stop();
    await running;
    expect(sink.kinds()).toEqual(['inventory.snapshot']);
    expect(watch.started).toBe(1);
    expect(watch.stopped).toBe(1);
  });

  it('queues coalesced deltas after the snapshot that rebuild the same inventory', async () => {
    const { watch, sink, end } = setup();
    await eventually(() => sink.items.length === 1, { what: 'a snapshot' });
    const failedPod: V1Pod = { metadata: { name: 'pos-api-2', namespace: 'default' }, status: { phase: 'Failed' } };
    watch.change((o) => ({ ...o, pods: [...o.pods, failedPod] }));
    watch.change((o) => ({ ...o, deployments: o.deployments.filter((d) => d.metadata?.name !== 'pos-web') }));
    await eventually(() => sink.kinds().includes('inventory.delta'), { what: 'a delta' });
    await end();
    expect(sink.kinds()).toEqual(['inventory.snapshot', 'inventory.delta']);
    const delta = sink.items[1].payload as InventoryDelta;
    expect(delta.workloads?.deletions).toEqual([{ kind: 'Deployment', namespace: 'default', name: 'pos-web' }]);
    expect(delta.podCountsByPhase?.Failed).toBe(1);
    expect(sink.rebuilt()).toEqual(buildInventory(watch.current, 'v1.31.4+vmware.1'));
  });

  it('queues a snapshot when the API asks for one, and nothing while nothing changes', async () => {
    const { sink, loop, end } = setup();
    await eventually(() => sink.items.length === 1, { what: 'a snapshot' });
    loop.requestSnapshot();
    await eventually(() => sink.items.length === 2, { what: 'the requested snapshot' });
    await new Promise((r) => setTimeout(r, 30));
    await end();
    expect(sink.kinds()).toEqual(['inventory.snapshot', 'inventory.snapshot']);
  });

  it('sends a snapshot instead of a delta when the queue lost inventory', async () => {
    const { watch, sink, end } = setup();
    await eventually(() => sink.items.length === 1, { what: 'a snapshot' });
    sink.inventoryLost = true;
    watch.change((o) => ({ ...o, pods: o.pods.slice(1) }));
    await eventually(() => sink.items.length === 2, { what: 'a second item' });
    await end();
    expect(sink.kinds()).toEqual(['inventory.snapshot', 'inventory.snapshot']);
  });

  it('sends a snapshot when a delta would touch most objects', async () => {
    const { watch, sink, end } = setup();
    await eventually(() => sink.items.length === 1, { what: 'a snapshot' });
    watch.change((o) => ({ ...o, deployments: [], statefulsets: [], daemonsets: [] }));
    await eventually(() => sink.items.length === 2, { what: 'a second item' });
    await end();
    expect(sink.kinds()).toEqual(['inventory.snapshot', 'inventory.snapshot']);
  });

  it('logs and skips a tick when the cluster objects cannot be read, and carries on', async () => {
    const { watch, sink, logs, end } = setup();
    const objects = watch.objects.bind(watch);
    let failures = 1;
    watch.objects = () => {
      if (failures-- > 0) {
        throw new Error('informer cache gone');
      }
      return objects();
    };
    await eventually(() => sink.items.length === 1, { what: 'a snapshot after the failure' });
    await end();
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', msg: 'building the inventory failed' }));
  });

  it('starts every session with a snapshot', async () => {
    const { watch, sink, loop, end } = setup();
    await eventually(() => sink.items.length === 1, { what: 'a snapshot' });
    await end();
    const { session, stop } = testSession({ reportIntervalMs: 5 });
    const running = loop.run(session);
    await eventually(() => sink.items.length === 2, { what: 'the snapshot of the second session' });
    stop();
    await running;
    expect(sink.kinds()).toEqual(['inventory.snapshot', 'inventory.snapshot']);
    expect(watch.started).toBe(2);
  });
});
