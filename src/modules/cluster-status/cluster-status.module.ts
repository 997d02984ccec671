import { Global, Module } from '@nestjs/common';
import { PubSubGateway } from '../../infra/redis/pubsub.gateway';
import { ClustersModule } from '../clusters/clusters.module';
import { ClusterHealthSweepJob } from './cluster-health-sweep.job';
import { ClusterStatusResolver } from './cluster-status.resolver';
import { ClusterStatusService } from './cluster-status.service';

@Global()
@Module({
  imports: [ClustersModule],
  providers: [PubSubGateway, ClusterStatusService, ClusterStatusResolver, ClusterHealthSweepJob],
  exports: [ClusterStatusService, PubSubGateway],
})
export class ClusterStatusModule {}
