import { Module } from '@nestjs/common';
import { AttachModule } from '../modules/attach/attach.module';
import { ClusterInventoryModule } from '../modules/cluster-inventory/cluster-inventory.module';
import { ClusterGroupsModule } from '../modules/cluster-groups/cluster-groups.module';
import { ClustersModule } from '../modules/clusters/clusters.module';
import { NamespacesModule } from '../modules/namespaces/namespaces.module';
import { SitesModule } from '../modules/sites/sites.module';
import { WorkspacesModule } from '../modules/workspaces/workspaces.module';
import { InventoryLoaderFactory } from './inventory.loaders';

/** What the GraphQL layer needs beyond resolvers: the per-request loader factory and its repositories. */
@Module({
  imports: [ClusterInventoryModule, AttachModule, ClustersModule, NamespacesModule, SitesModule, ClusterGroupsModule, WorkspacesModule],
  providers: [InventoryLoaderFactory],
  exports: [InventoryLoaderFactory],
})
export class GraphqlSupportModule {}
