import { Injectable, Logger } from '@nestjs/common';
import { JobName } from '../../infra/queue/jobs';
import { OnJob } from '../../infra/queue/on-job.decorator';
import { TransactionRunner } from '../../infra/database/transaction';
import { ClusterStatusService } from '../cluster-status/cluster-status.service';
import { ClusterRepository } from '../clusters/cluster.repository';

/**
 * Repeating worker job: clusters whose agent has been silent longer than their site's disconnect
 * grace become DISCONNECTED. Thresholds come from the site's connectivity profile, so a shop on
 * LTE backup is not paged about like a data centre.
 */
@Injectable()
export class ClusterHealthSweepJob {
  private readonly logger = new Logger(ClusterHealthSweepJob.name);

  constructor(
    private readonly clusters: ClusterRepository,
    private readonly transactions: TransactionRunner,
    private readonly status: ClusterStatusService,
  ) {}

  @OnJob(JobName.SWEEP_CLUSTER_HEALTH)
  async run(): Promise<{ disconnected: number }> {
    const silent = await this.clusters.findSilent(new Date());
    const changes = [];
    for (const cluster of silent) {
      const change = await this.transactions.run(async (tx) => {
        const since = cluster.lastHeartbeatAt?.toISOString() ?? 'registration';
        return this.status.transition(tx, cluster, { health: 'DISCONNECTED' }, 'system:health-sweep').then((c) => (c ? { ...c, reason: `No heartbeat since ${since}` } : null));
      });
      changes.push(change);
    }
    await this.status.publish(changes);
    if (silent.length) this.logger.log(`marked ${silent.length} cluster(s) DISCONNECTED`);
    return { disconnected: silent.length };
  }
}
