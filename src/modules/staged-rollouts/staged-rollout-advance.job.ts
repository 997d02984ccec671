import { Injectable } from '@nestjs/common';
import { JobName } from '../../infra/queue/jobs';
import { OnJob } from '../../infra/queue/on-job.decorator';
import { StagedRolloutService } from './staged-rollout.service';

/** Worker job, every ROLLOUT_ADVANCE_EVERY_SECONDS: one step of each RUNNING staged rollout. */
@Injectable()
export class StagedRolloutAdvanceJob {
  constructor(private readonly rollouts: StagedRolloutService) {}

  @OnJob(JobName.ADVANCE_STAGED_ROLLOUTS)
  run() {
    return this.rollouts.advanceAll();
  }
}
