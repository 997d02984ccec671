import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { Backoff } from '../backoff';
import { type InformerFactory, InformerClusterWatch, type InformerLike } from './cluster-watch';
import { createJsonLogger } from '../logger';
import { eventually } from '../../dev/eventually';

type Callback = (arg: never) => void;

/** Stands in for client-node's ListWatch: a scripted list result per start() call. */
class FakeInformer implements InformerLike<KubernetesObject> {
  private callbacks: Record<string, Callback[]> = { add: [], update: [], delete: [], error: [], connect: [] };
  private items: KubernetesObject[] = [];
  private rv = '';
  starts = 0;
  stops = 0;
  constructor(public failures: number) {}

  on(verb: string, cb: Callback): void {
    this.callbacks[verb].push(cb);
  }
  off(): void {}
  async start(): Promise<void> {
    this.starts += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      this.emit('error', new Error('connection refused'));
      return;
    }
    this.rv = '1';
  }
  async stop(): Promise<void> {
    this.stops += 1;
  }
  list(): KubernetesObject[] {
    return this.items;
  }
  get(): undefined {
    return undefined;
  }
  latestResourceVersion(): string {
    return this.rv;
  }
  add(obj: KubernetesObject): void {
    this.items.push(obj);
    this.emit('add', obj);
  }
  emit(verb: string, arg: unknown): void {
    for (const cb of this.callbacks[verb]) {
      cb(arg as never);
    }
  }
}

describe(InformerClusterWatch.name, () => {
  const silent = createJsonLogger('error', () => undefined);
  const noList = async () => ({ items: [] });
  const lists = { nodes: noList, namespaces: noList, pods: noList, deployments: noList, statefulsets: noList, daemonsets: noList };

  function setup(failuresFor: Record<string, number> = {}) {
    const informers = new Map<string, FakeInformer>();
    const factory = ((path: string) => {
      const informer = new FakeInformer(failuresFor[path] ?? 0);
      informers.set(path, informer);
      return informer;
    }) as unknown as InformerFactory;
    const watch = new InformerClusterWatch(factory, lists, silent, () => new Backoff(5, 20, () => 0));
    return { watch, informers };
  }

  it('is synced once every informer has listed', async () => {
    const { watch, informers } = setup();
    expect(watch.synced).toBe(false);
    watch.start(() => undefined);
    await eventually(() => watch.synced);
    expect([...informers.keys()].sort()).toEqual([
      '/api/v1/namespaces',
      '/api/v1/nodes',
      '/api/v1/pods',
      '/apis/apps/v1/daemonsets',
      '/apis/apps/v1/deployments',
      '/apis/apps/v1/statefulsets',
    ]);
    await watch.stop();
    expect([...informers.values()].every((i) => i.stops === 1)).toBe(true);
  });

  it('restarts an informer whose list failed, with back-off, until it syncs', async () => {
    const { watch, informers } = setup({ '/api/v1/pods': 2 });
    watch.start(() => undefined);
    await eventually(() => watch.synced);
    expect(informers.get('/api/v1/pods')!.starts).toBe(3);
    expect(informers.get('/api/v1/nodes')!.starts).toBe(1);
    await watch.stop();
  });

  it('does not restart after stop', async () => {
    const { watch, informers } = setup({ '/api/v1/pods': 100 });
    watch.start(() => undefined);
    await watch.stop();
    const starts = informers.get('/api/v1/pods')!.starts;
    await new Promise((r) => setTimeout(r, 60));
    expect(informers.get('/api/v1/pods')!.starts).toBe(starts);
  });

  it('signals changes, serves cached objects and strips fields the agent never reads', async () => {
    const { watch, informers } = setup();
    let changes = 0;
    watch.start(() => (changes += 1));
    const pod: V1Pod = {
      metadata: {
        name: 'p',
        namespace: 'default',
        managedFields: [{ manager: 'kubectl' }],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{…}', keep: 'yes' },
      },
    };
    informers.get('/api/v1/pods')!.add(pod);
    expect(changes).toBe(1);
    expect(watch.objects().pods).toEqual([{ metadata: { name: 'p', namespace: 'default', annotations: { keep: 'yes' } } }]);
    await watch.stop();
  });
});
