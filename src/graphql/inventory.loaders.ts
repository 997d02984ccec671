import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { Cluster, ClusterGroup, ClusterHealth, ClusterOperation, Site, Workspace } from '../generated/prisma/client';
import { ClusterInventoryRepository } from '../modules/cluster-inventory/cluster-inventory.repository';
import { ClusterOperationRepository } from '../modules/attach/cluster-operation.repository';
import type { Inventory } from '../protocol';
import { ClusterGroupRepository } from '../modules/cluster-groups/cluster-group.repository';
import { ClusterRepository } from '../modules/clusters/cluster.repository';
import { NamespaceRepository } from '../modules/namespaces/namespace.repository';
import { SiteRepository } from '../modules/sites/site.repository';
import { WorkspaceRepository } from '../modules/workspaces/workspace.repository';

/** Batches by-id loads: one statement per loader per tick, whatever the page size. */
function byId<T extends { id: string }>(load: (ids: readonly string[]) => Promise<T[]>) {
  return new DataLoader<string, T | null>(async (ids) => {
    const found = new Map((await load(ids)).map((row) => [row.id, row]));
    return ids.map((id) => found.get(id) ?? null);
  });
}

function counts(load: (ids: readonly string[]) => Promise<Map<string, number>>) {
  return new DataLoader<string, number>(async (ids) => {
    const found = await load(ids);
    return ids.map((id) => found.get(id) ?? 0);
  });
}

export type HealthCounts = Partial<Record<ClusterHealth, number>>;

/**
 * The loaders of one GraphQL request. Every batch is scoped to the caller's organization, read
 * lazily because authentication happens after the context is built.
 */
export interface InventoryLoaders {
  site: DataLoader<string, Site | null>;
  clusterGroup: DataLoader<string, ClusterGroup | null>;
  cluster: DataLoader<string, Cluster | null>;
  workspace: DataLoader<string, Workspace | null>;
  clusterCountBySite: DataLoader<string, number>;
  clusterCountByGroup: DataLoader<string, number>;
  clusterHealthBySite: DataLoader<string, HealthCounts>;
  namespaceCountByCluster: DataLoader<string, number>;
  namespaceCountByWorkspace: DataLoader<string, number>;
  operationsByCluster: DataLoader<string, ClusterOperation[]>;
  inventoryByCluster: DataLoader<string, { snapshot: Inventory | null; reportedAt: Date } | null>;
}

@Injectable()
export class InventoryLoaderFactory {
  constructor(
    private readonly sites: SiteRepository,
    private readonly groups: ClusterGroupRepository,
    private readonly clusters: ClusterRepository,
    private readonly workspaces: WorkspaceRepository,
    private readonly namespaces: NamespaceRepository,
    private readonly operations: ClusterOperationRepository,
    private readonly inventories: ClusterInventoryRepository,
  ) {}

  create(organizationId: () => string): InventoryLoaders {
    return {
      site: byId((ids) => this.sites.findByIds(organizationId(), ids)),
      clusterGroup: byId((ids) => this.groups.findByIds(organizationId(), ids)),
      cluster: byId((ids) => this.clusters.findByIds(organizationId(), ids)),
      workspace: byId((ids) => this.workspaces.findByIds(organizationId(), ids)),
      clusterCountBySite: counts((ids) => this.clusters.countBySite(organizationId(), ids)),
      clusterCountByGroup: counts((ids) => this.clusters.countByGroup(organizationId(), ids)),
      clusterHealthBySite: new DataLoader(async (ids) => {
        const found = await this.clusters.healthBySite(organizationId(), ids);
        return ids.map((id) => found.get(id) ?? {});
      }),
      namespaceCountByCluster: counts((ids) => this.namespaces.countByCluster(organizationId(), ids)),
      namespaceCountByWorkspace: counts((ids) => this.namespaces.countByWorkspace(organizationId(), ids)),
      operationsByCluster: new DataLoader(async (ids) => {
        const rows = await this.operations.listForClusters(organizationId(), ids);
        return ids.map((id) => rows.filter((op) => op.clusterId === id));
      }),
      // Scoped like every other loader: a cluster id reaching it by a path no one foresaw stays harmless.
      inventoryByCluster: new DataLoader(async (ids) => {
        const found = await this.inventories.snapshotsOf(organizationId(), ids);
        return ids.map((id) => found.get(id) ?? null);
      }),
    };
  }
}
