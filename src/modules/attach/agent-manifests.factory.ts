import { Inject, Injectable } from '@nestjs/common';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Cluster } from '../../generated/prisma/client';
import { renderAgentManifests } from '../../agent-install';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { SiteRepository } from '../sites/site.repository';
import { storedAgentStateVolume } from './agent-state-volume';
import { AGENT_VERSION } from './agent-version';

/**
 * The agent install manifests for one cluster, the same for both attach modes: served as YAML to
 * `kubectl apply -f <link>` and server-side applied by the queue worker.
 */
@Injectable()
export class AgentManifestsFactory {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sites: SiteRepository,
  ) {}

  async build(cluster: Cluster, registrationToken: string): Promise<KubernetesObject[]> {
    const site = cluster.siteId ? await this.sites.find(cluster.organizationId, cluster.siteId) : null;
    return renderAgentManifests({
      clusterId: cluster.id,
      clusterName: cluster.name,
      apiUrl: this.config.publicUrl,
      registrationToken,
      image: this.config.AGENT_IMAGE ?? `farpoint/agent:${AGENT_VERSION}`,
      agentVersion: AGENT_VERSION,
      heartbeatIntervalSeconds: Math.min(site?.heartbeatIntervalSeconds ?? 20, 3600),
      stateVolume: storedAgentStateVolume(cluster.agentStateVolume),
    });
  }
}
