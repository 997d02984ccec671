import type { KubernetesObject } from '@kubernetes/client-node';
import { eventually } from '../../dev/eventually';
import { Backoff } from '../backoff';
import type { InformerLike } from '../informer';
import { capturedLog } from '../testing/loops';
import { InventorySync } from './inventory-sync';

const INGRESS = { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' };
const NAMESPACE = { group: '', version: 'v1', kind: 'Namespace' };

/** Stands in for client-node's ListWatch: objects set by the test, handlers called on change. */
class FakeInformer {
  objects: KubernetesObject[] = [];
  started = 0;
  stopped = 0;
  failStarts = 0;
  private handlers = new Map<string, Array<(obj?: KubernetesObject) => void>>();
  on(event: string, handler: (obj?: KubernetesObject) => void) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
  }
  emit(event: 'add' | 'update' | 'delete', obj: KubernetesObject) {
    if (event === 'delete') {
      this.objects = this.objects.filter((o) => o.metadata?.name !== obj.metadata?.name || o.metadata?.namespace !== obj.metadata?.namespace);
    } else {
      this.objects = [...this.objects.filter((o) => o.metadata?.name !== obj.metadata?.name), obj];
    }
    for (const h of this.handlers.get(event) ?? []) {
      h(obj);
    }
  }
  list() {
    return this.objects;
  }
  start() {
    this.started++;
    return this.failStarts-- > 0 ? Promise.reject(new Error('403 forbidden')) : Promise.resolve();
  }
  stop() {
    this.stopped++;
    return Promise.resolve();
  }
}

const obj = (name: string, namespace?: string): KubernetesObject => ({ metadata: { name, ...(namespace ? { namespace } : {}), managedFields: [{ manager: 'kubectl' }] } });

function sync(informers: Record<string, FakeInformer | undefined>) {
  const { log, messages } = capturedLog();
  const factory = (k: { kind: string }) => Promise.resolve(informers[k.kind] as unknown as InformerLike<KubernetesObject> | undefined);
  return { inventory: new InventorySync(factory, log, () => new Backoff(2, 10, () => 0)), messages };
}

describe('InventorySync (data.inventory at the edge)', () => {
  it("lays objects out as Gatekeeper's sync does: namespaced under namespace[ns][groupVersion][kind], others under cluster[groupVersion][kind]", async () => {
    const ingresses = new FakeInformer();
    const namespaces = new FakeInformer();
    ingresses.objects = [obj('storefront', 'shop')];
    namespaces.objects = [obj('shop')];
    const { inventory } = sync({ Ingress: ingresses, Namespace: namespaces });
    inventory.setKinds([INGRESS, NAMESPACE]);
    await eventually(() => ingresses.started === 1 && namespaces.started === 1);
    const data = inventory.current();
    expect(data.namespace).toEqual({
      shop: { 'networking.k8s.io/v1': { Ingress: { storefront: expect.objectContaining({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' }) } } },
    });
    expect(data.cluster).toEqual({ v1: { Namespace: { shop: expect.objectContaining({ apiVersion: 'v1', kind: 'Namespace' }) } } });
  });

  it('hands out the same object until something changes (the engine reuses loaded data by identity), then a new one', async () => {
    const ingresses = new FakeInformer();
    const { inventory } = sync({ Ingress: ingresses });
    inventory.setKinds([INGRESS]);
    await eventually(() => ingresses.started === 1);
    const before = inventory.current();
    expect(inventory.current()).toBe(before);
    ingresses.emit('add', obj('blog', 'shop'));
    const after = inventory.current();
    expect(after).not.toBe(before);
    expect(Object.keys(after.namespace?.shop?.['networking.k8s.io/v1']?.Ingress ?? {})).toEqual(['blog']);
    expect((after.namespace?.shop?.['networking.k8s.io/v1']?.Ingress?.blog as KubernetesObject).metadata?.managedFields).toBeUndefined();
    ingresses.emit('delete', obj('blog', 'shop'));
    expect(inventory.current().namespace).toEqual({});
  });

  it('stops the watches of kinds no longer needed and starts only new ones', async () => {
    const ingresses = new FakeInformer();
    const namespaces = new FakeInformer();
    const { inventory } = sync({ Ingress: ingresses, Namespace: namespaces });
    inventory.setKinds([INGRESS]);
    await eventually(() => ingresses.started === 1);
    inventory.setKinds([INGRESS, NAMESPACE]);
    await eventually(() => namespaces.started === 1);
    inventory.setKinds([NAMESPACE]);
    expect(ingresses.stopped).toBe(1);
    expect(ingresses.started).toBe(1);
    expect(inventory.kinds()).toEqual([NAMESPACE]);
    await inventory.stop();
    expect(namespaces.stopped).toBe(1);
  });

  it('retries a watch that fails (RBAC, outage) with back-off and reads the kind as empty meanwhile', async () => {
    const ingresses = new FakeInformer();
    ingresses.failStarts = 2;
    ingresses.objects = [obj('storefront', 'shop')];
    const { inventory, messages } = sync({ Ingress: ingresses });
    inventory.setKinds([INGRESS]);
    await eventually(() => ingresses.started === 3);
    expect(messages()).toContain('inventory sync failed; retrying (referential policies see no objects of this kind)');
    await eventually(() => Object.keys(inventory.current().namespace ?? {}).length === 1);
    await inventory.stop();
  });

  it('keeps retrying a kind the cluster does not serve, without throwing', async () => {
    const { inventory, messages } = sync({});
    inventory.setKinds([INGRESS]);
    await eventually(() => messages().filter((m) => m === 'inventory sync failed; retrying (referential policies see no objects of this kind)').length >= 2);
    expect(inventory.current()).toEqual({ cluster: {}, namespace: {} });
    await inventory.stop();
  });
});
