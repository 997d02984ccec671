import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../infra/config/app-config';
import { JobName } from '../../infra/queue/jobs';
import { OnJob } from '../../infra/queue/on-job.decorator';
import { ApiTokenRepository } from './api-token.repository';

/** Worker job: deletes tokens that were revoked or expired longer ago than the retention period. */
@Injectable()
export class ApiTokenPurgeJob {
  private readonly logger = new Logger(ApiTokenPurgeJob.name);

  constructor(
    private readonly tokens: ApiTokenRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @OnJob(JobName.PURGE_API_TOKENS)
  async run(): Promise<{ purged: number }> {
    const cutoff = new Date(Date.now() - this.config.TOKEN_RETENTION_DAYS * 24 * 3600 * 1000);
    const purged = await this.tokens.purgeInactiveBefore(cutoff);
    this.logger.log(`purged ${purged} inactive API tokens older than ${cutoff.toISOString()}`);
    return { purged };
  }
}
