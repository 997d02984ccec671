import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { JobName } from '../../infra/queue/jobs';
import { OnJob } from '../../infra/queue/on-job.decorator';
import { ViolationRepository } from './violation.repository';

/** Worker job: deletes violations resolved longer ago than VIOLATION_RETENTION_DAYS, so history stays bounded. */
@Injectable()
export class ViolationPurgeJob {
  private readonly logger = new Logger(ViolationPurgeJob.name);

  constructor(
    private readonly violations: ViolationRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @OnJob(JobName.PURGE_RESOLVED_VIOLATIONS)
  run(): Promise<{ purged: number }> {
    return this.purge(new Date());
  }

  async purge(now: Date): Promise<{ purged: number }> {
    const cutoff = new Date(now.getTime() - this.config.VIOLATION_RETENTION_DAYS * 24 * 3600 * 1000);
    const purged = await this.violations.purgeResolvedBefore(cutoff);
    this.logger.log(`purged ${purged} policy violations resolved before ${cutoff.toISOString()}`);
    return { purged };
  }
}
