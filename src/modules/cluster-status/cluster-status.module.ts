import { Global, Module } from '@nestjs/common';
import { PubSubGateway } from '../../infra/redis/pubsub.gateway';
import { ClustersModule } from '../clusters/clusters.module';
import { ClusterConnectivityResolver } from './cluster-connectivity.resolver';
import { ClusterHealthSweepJob } from './cluster-health-sweep.job';
import { ClusterStatusResolver } from './cluster-status.resolver';
import { ClusterStatusService } from './cluster-status.service';

@Global()
@Module({
  imports: [ClustersModule],
  providers: [PubSubGateway, ClusterStatusService, ClusterStatusResolver, ClusterConnectivityResolver, ClusterHealthSweepJob],
  exports: [ClusterStatusService, PubSubGateway],
})
export class ClusterStatusModule {}
