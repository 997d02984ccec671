import { Module } from '@nestjs/common';
import { SealedBox } from '../../common/crypto/sealed-box';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { KubeGateway } from '../../infra/kubernetes/kube.gateway';
import { ClustersModule } from '../clusters/clusters.module';
import { SitesModule } from '../sites/sites.module';
import { AgentManifestsFactory } from './agent-manifests.factory';
import { AttachJobQueue } from './attach-job.queue';
import { AttachClusterJob } from './attach-cluster.job';
import { AttachResolver } from './attach.resolver';
import { AttachService } from './attach.service';
import { ClusterOperationRepository } from './cluster-operation.repository';
import { ClusterAttachResolver } from './cluster-attach.resolver';
import { OperationsReconciler } from './operations-reconciler.job';
import { RegistrationTokenRepository } from './registration-token.repository';

@Module({
  imports: [ClustersModule, SitesModule],
  providers: [
    // One key for sealing kubeconfigs into attach jobs (API) and opening them (worker).
    { provide: SealedBox, useFactory: (config: AppConfig) => new SealedBox(config.SECRETS_KEY), inject: [APP_CONFIG] },
    KubeGateway,
    RegistrationTokenRepository,
    ClusterOperationRepository,
    AgentManifestsFactory,
    AttachJobQueue,
    AttachService,
    AttachResolver,
    ClusterAttachResolver,
    AttachClusterJob,
    OperationsReconciler,
  ],
  exports: [RegistrationTokenRepository, ClusterOperationRepository, AgentManifestsFactory, KubeGateway],
})
export class AttachModule {}
