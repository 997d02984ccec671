import { Injectable, Logger } from '@nestjs/common';
import { Cluster } from '../../generated/prisma/client';
import { JobName } from '../../infra/queue/jobs';
import { OnJob } from '../../infra/queue/on-job.decorator';
import { TransactionRunner } from '../../infra/database/transaction';
import { ClusterStatusChange, ClusterStatusService } from './cluster-status.service';
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
  async run(): Promise<{ disconnected: number; skipped: number }> {
    return this.sweep(new Date());
  }

  /**
   * Decides from one unlocked read, then writes each cluster with a compare-and-set on the phase,
   * health and lastHeartbeatAt it read: a heartbeat, detach or phase change committed in between wins
   * and that cluster is skipped (no Event, nothing published). `beforeWrite` runs between the read and
   * each write; tests use it to commit such a change there.
   */
  async sweep(now: Date, beforeWrite: (cluster: Cluster) => Promise<void> = async () => undefined): Promise<{ disconnected: number; skipped: number }> {
    const silent = await this.clusters.findSilent(now);
    const changes: ClusterStatusChange[] = [];
    for (const cluster of silent) {
      await beforeWrite(cluster);
      const change = await this.transactions.run((tx) => this.status.transition(tx, cluster, { health: 'DISCONNECTED' }, 'system:health-sweep', { sameHeartbeat: true }));
      if (change) {
        changes.push({ ...change, reason: `No heartbeat since ${cluster.lastHeartbeatAt?.toISOString() ?? 'registration'}` });
      }
    }
    await this.status.publish(changes);
    const skipped = silent.length - changes.length;
    if (silent.length) {
      this.logger.log(`marked ${changes.length} cluster(s) DISCONNECTED${skipped ? `; ${skipped} changed meanwhile and were left as they are` : ''}`);
    }
    return { disconnected: changes.length, skipped };
  }
}
