import { Module } from '@nestjs/common';
import { ClusterGroupsModule } from '../cluster-groups/cluster-groups.module';
import { GenerationsModule } from '../desired-state/generations.module';
import { SitesModule } from '../sites/sites.module';
import { ClusterRepository } from './cluster.repository';
import { ClusterResolver } from './cluster.resolver';
import { ClusterService } from './cluster.service';

@Module({
  imports: [SitesModule, ClusterGroupsModule, GenerationsModule],
  providers: [ClusterRepository, ClusterService, ClusterResolver],
  exports: [ClusterRepository, ClusterService],
})
export class ClustersModule {}
