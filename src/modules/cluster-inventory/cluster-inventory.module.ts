import { Module } from '@nestjs/common';
import { ClusterInventoryRepository } from './cluster-inventory.repository';
import { ClusterInventoryResolver } from './cluster-inventory.resolver';
import { ClusterInventoryService } from './cluster-inventory.service';

/** What agents report a cluster holds (nodes, namespaces, workloads, pods): ingestion, storage, GraphQL. */
@Module({
  providers: [ClusterInventoryRepository, ClusterInventoryService, ClusterInventoryResolver],
  exports: [ClusterInventoryRepository, ClusterInventoryService],
})
export class ClusterInventoryModule {}
