import type { Informer, KubernetesObject, ObjectCache } from '@kubernetes/client-node';

/** A client-node informer with its cache: what the inventory watch and admission's data.inventory both keep (shared here, as loops never import each other). */
export type InformerLike<T extends KubernetesObject> = Informer<T> & ObjectCache<T> & { latestResourceVersion?: () => string };
