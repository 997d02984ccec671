import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  KubernetesObjectApi,
  makeInformer,
  type V1APIResourceList,
} from '@kubernetes/client-node';
import type { SyncKind } from '../../policy-engine/sync-requirements';
import type { Inventory } from '../../policy-engine/types';
import { Backoff } from '../backoff';
import type { InformerLike } from '../informer';
import type { Logger } from '../logger';

/** Where the objects of a synced kind come from: an informer, or undefined when the cluster does not serve the kind. */
export type SyncInformerFactory = (kind: SyncKind) => Promise<InformerLike<KubernetesObject> | undefined>;

const keyOf = (k: SyncKind) => `${k.group}/${k.version}/${k.kind}`;
const groupVersion = (k: SyncKind) => (k.group ? `${k.group}/${k.version}` : k.version);

interface Synced {
  kind: SyncKind;
  informer?: InformerLike<KubernetesObject>;
  stopped: boolean;
  backoff: Backoff;
  timer?: NodeJS.Timeout;
}

/**
 * Gatekeeper's data.inventory at the edge: the objects of the kinds that the running referential
 * templates declare (requires-sync-data), kept by informers so a policy such as "unique ingress
 * host" decides offline too. The inventory object handed out stays the same until an object changes,
 * which lets the engine reuse the data it has loaded into each policy. A kind the agent may not read
 * (RBAC) or the cluster does not serve is logged and retried with back-off; it reads as empty.
 */
export class InventorySync {
  private readonly synced = new Map<string, Synced>();
  private snapshot: Inventory | undefined;

  constructor(
    private readonly factory: SyncInformerFactory,
    private readonly log: Logger,
    private readonly restartBackoff: () => Backoff = () => new Backoff(1000, 60_000),
  ) {}

  /** Watches exactly these kinds from now on: new ones start, ones no longer needed stop. */
  setKinds(kinds: readonly SyncKind[]): void {
    const wanted = new Map(kinds.map((k) => [keyOf(k), k]));
    for (const [key, s] of this.synced) {
      if (!wanted.has(key)) {
        void this.stopOne(s);
        this.synced.delete(key);
        this.snapshot = undefined;
      }
    }
    for (const [key, kind] of wanted) {
      if (!this.synced.has(key)) {
        const s: Synced = { kind, stopped: false, backoff: this.restartBackoff() };
        this.synced.set(key, s);
        void this.startOne(s);
      }
    }
  }

  /** The kinds watched now. */
  kinds(): SyncKind[] {
    return [...this.synced.values()].map((s) => s.kind);
  }

  /** data.inventory in Gatekeeper's layout: cluster[groupVersion][kind][name], namespace[ns][groupVersion][kind][name]. */
  current(): Inventory {
    if (this.snapshot) {
      return this.snapshot;
    }
    const cluster: NonNullable<Inventory['cluster']> = {};
    const namespace: NonNullable<Inventory['namespace']> = {};
    for (const s of this.synced.values()) {
      const gv = groupVersion(s.kind);
      for (const obj of s.informer?.list() ?? []) {
        const name = obj.metadata?.name;
        if (!name) {
          continue;
        }
        // Informers list objects without apiVersion and kind; policies compare them.
        const full = { ...obj, apiVersion: gv, kind: s.kind.kind };
        const ns = obj.metadata?.namespace;
        const byGv = ns ? ((namespace[ns] ??= {})[gv] ??= {}) : (cluster[gv] ??= {});
        (byGv[s.kind.kind] ??= {} as Record<string, unknown>)[name] = full;
      }
    }
    this.snapshot = { cluster, namespace };
    return this.snapshot;
  }

  async stop(): Promise<void> {
    const all = [...this.synced.values()];
    this.synced.clear();
    this.snapshot = undefined;
    await Promise.all(all.map((s) => this.stopOne(s)));
  }

  private changed = (obj?: KubernetesObject): void => {
    if (obj?.metadata) {
      delete obj.metadata.managedFields;
    }
    this.snapshot = undefined;
  };

  private async startOne(s: Synced): Promise<void> {
    try {
      s.informer ??= await this.factory(s.kind);
      if (s.stopped) {
        return;
      }
      if (!s.informer) {
        this.retryLater(s, new Error(`the cluster serves no ${groupVersion(s.kind)} ${s.kind.kind}`));
        return;
      }
      const informer = s.informer;
      informer.on('add', this.changed);
      informer.on('update', this.changed);
      informer.on('delete', () => this.changed());
      informer.on('error', (error: unknown) => this.retryLater(s, error));
      await informer.start();
      this.changed();
      s.backoff.reset();
    } catch (error) {
      this.retryLater(s, error);
    }
  }

  private retryLater(s: Synced, error: unknown): void {
    if (s.stopped || s.timer) {
      return;
    }
    const delayMs = Math.round(s.backoff.next());
    this.log.warn('inventory sync failed; retrying (referential policies see no objects of this kind)', { kind: keyOf(s.kind), error, delayMs });
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (!s.stopped && s.informer) {
        void s.informer.start().then(
          () => {
            this.changed();
            s.backoff.reset();
          },
          (e: unknown) => this.retryLater(s, e),
        );
      } else if (!s.stopped) {
        void this.startOne(s);
      }
    }, delayMs);
  }

  private async stopOne(s: Synced): Promise<void> {
    s.stopped = true;
    if (s.timer) {
      clearTimeout(s.timer);
    }
    await s.informer?.stop().catch(() => undefined);
  }
}

/** Informers over a real cluster; the resource name comes from discovery. */
export function createInventorySync(kubeConfig: KubeConfig, log: Logger): InventorySync {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const discover = async (kind: SyncKind): Promise<V1APIResourceList | undefined> => {
    try {
      return kind.group ? await custom.getAPIResources({ group: kind.group, version: kind.version }) : await core.getAPIResources();
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) {
        return undefined;
      }
      throw error;
    }
  };
  const factory: SyncInformerFactory = async (kind) => {
    const apiVersion = groupVersion(kind);
    // The plural from discovery (no guessing: Ingress -> ingresses, NetworkPolicy -> networkpolicies).
    const resource = (await discover(kind))?.resources.find((r) => r.kind === kind.kind && !r.name.includes('/'));
    if (!resource) {
      return undefined;
    }
    const path = `${kind.group ? `/apis/${apiVersion}` : '/api/v1'}/${resource.name}`;
    const list = (): Promise<KubernetesListObject<KubernetesObject>> => objects.list(apiVersion, kind.kind);
    return makeInformer(kubeConfig, path, list);
  };
  return new InventorySync(factory, log);
}
