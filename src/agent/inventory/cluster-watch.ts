import { AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesListObject, type KubernetesObject, makeInformer } from '@kubernetes/client-node';
import { Backoff } from '../backoff';
import type { ClusterObjects } from './inventory-builder';
import type { Logger } from '../logger';

import type { InformerLike } from '../informer';

export type { InformerLike };

export type InformerFactory = <T extends KubernetesObject>(path: string, list: () => Promise<KubernetesListObject<T>>) => InformerLike<T>;

/** The cluster objects the agent reports, kept current by informers. */
export interface ClusterWatch {
  /** Starts watching in the background; `onChange` runs after every add, update or delete. */
  start(onChange: () => void): void;
  stop(): Promise<void>;
  /** True once every informer has listed at least once. */
  readonly synced: boolean;
  objects(): ClusterObjects;
}

type Kind = keyof ClusterObjects;

/** Fields the agent never reads that make up much of an object's size in memory. */
function slim(obj: KubernetesObject): void {
  if (obj.metadata) {
    delete obj.metadata.managedFields;
    if (obj.metadata.annotations) {
      delete obj.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'];
    }
  }
}

interface Tracked {
  informer: InformerLike<KubernetesObject>;
  synced: boolean;
  restarting: boolean;
  backoff: Backoff;
}

/**
 * Informers (client-node ListWatch) for nodes, namespaces, pods, deployments, statefulsets and
 * daemonsets. An informer whose list or watch fails is started again after a jittered back-off;
 * errors never escape.
 */
export class InformerClusterWatch implements ClusterWatch {
  private readonly tracked = new Map<Kind, Tracked>();
  private stopped = false;
  private timers = new Set<NodeJS.Timeout>();

  private onChange: () => void = () => undefined;

  constructor(
    factory: InformerFactory,
    list: Record<Kind, () => Promise<KubernetesListObject<KubernetesObject>>>,
    private readonly log: Logger,
    restartBackoff: () => Backoff = () => new Backoff(1000, 60_000),
  ) {
    for (const [kind, path] of Object.entries(PATHS) as Array<[Kind, string]>) {
      const t: Tracked = { informer: factory(path, list[kind]), synced: false, restarting: false, backoff: restartBackoff() };
      const changed = (obj: KubernetesObject) => {
        slim(obj);
        this.onChange();
      };
      t.informer.on('add', changed);
      t.informer.on('update', changed);
      t.informer.on('delete', () => this.onChange());
      t.informer.on('error', (error: unknown) => this.restartLater(kind, t, error));
      this.tracked.set(kind, t);
    }
  }

  get synced(): boolean {
    return [...this.tracked.values()].every((t) => t.synced);
  }

  objects(): ClusterObjects {
    const list = <K extends Kind>(kind: K) => this.tracked.get(kind)!.informer.list() as unknown as ClusterObjects[K];
    return {
      nodes: list('nodes'),
      namespaces: list('namespaces'),
      pods: list('pods'),
      deployments: list('deployments'),
      statefulsets: list('statefulsets'),
      daemonsets: list('daemonsets'),
    };
  }

  start(onChange: () => void): void {
    this.stopped = false;
    this.onChange = onChange;
    for (const [kind, t] of this.tracked) {
      void this.startOne(kind, t);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
    await Promise.all([...this.tracked.values()].map((t) => t.informer.stop().catch(() => undefined)));
  }

  private async startOne(kind: Kind, t: Tracked): Promise<void> {
    try {
      await t.informer.start();
      // A failed list reports through the error callback and leaves the resource version empty.
      if (t.informer.latestResourceVersion?.() !== '') {
        if (!t.synced) {
          this.log.info('informer synced', { kind });
        }
        t.synced = true;
        t.backoff.reset();
      }
    } catch (error) {
      this.restartLater(kind, t, error);
    }
  }

  private restartLater(kind: Kind, t: Tracked, error: unknown): void {
    if (this.stopped || t.restarting) {
      return;
    }
    t.restarting = true;
    const delay = t.backoff.next();
    this.log.warn('informer failed; restarting', { kind, error, delayMs: Math.round(delay) });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      t.restarting = false;
      if (!this.stopped) {
        void this.startOne(kind, t);
      }
    }, delay);
    this.timers.add(timer);
  }
}

const PATHS: Record<Kind, string> = {
  nodes: '/api/v1/nodes',
  namespaces: '/api/v1/namespaces',
  pods: '/api/v1/pods',
  deployments: '/apis/apps/v1/deployments',
  statefulsets: '/apis/apps/v1/statefulsets',
  daemonsets: '/apis/apps/v1/daemonsets',
};

/** The watch over a real cluster. */
export function createClusterWatch(kubeConfig: KubeConfig, log: Logger): InformerClusterWatch {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const factory: InformerFactory = (path, list) => makeInformer(kubeConfig, path, list);
  const list = {
    nodes: () => core.listNode(),
    namespaces: () => core.listNamespace(),
    pods: () => core.listPodForAllNamespaces(),
    deployments: () => apps.listDeploymentForAllNamespaces(),
    statefulsets: () => apps.listStatefulSetForAllNamespaces(),
    daemonsets: () => apps.listDaemonSetForAllNamespaces(),
  } as Record<Kind, () => Promise<KubernetesListObject<KubernetesObject>>>;
  return new InformerClusterWatch(factory, list, log);
}
