import type { AgentKube } from '../kube-gateway';
import type { Logger } from '../logger';
import { type BackoffSettings, runLoop } from '../loop';
import type { Session } from '../session';
import { adoptOwnClusterRole, type AdoptionResult } from './rbac-adoption';

export interface AdoptionLoopDeps {
  kube: AgentKube;
  log: Logger;
  backoff: BackoffSettings;
  now: () => number;
  /** How often a running agent checks that its ClusterRole is still adopted. */
  recheckMs: number;
}

/**
 * RBAC adoption (src/agent-install/rbac.ts): first of all when the agent starts, so the one-time
 * adoption rule lives no longer than it must; again before every registration (new install
 * manifests bring the rule back) and every `recheckMs` while a session runs.
 */
export class AdoptionLoop {
  private nextCheckAt = 0;
  private lastResult: AdoptionResult | undefined;

  constructor(private readonly deps: AdoptionLoopDeps) {}

  /** Adopts before anything else, retrying transient failures until it succeeds or the agent stops. */
  async adoptFirst(signal: AbortSignal): Promise<void> {
    const { log, backoff } = this.deps;
    await runLoop(
      { name: 'adoption', log, backoff },
      async (ctx) => {
        const error = await this.check();
        if (!error) {
          return { done: undefined };
        }
        await ctx.retryLater('cannot adopt the agent ClusterRole', error);
        return 0;
      },
      signal,
    );
  }

  /** One attempt; a failure is logged and retried at the next recheck. Never throws. */
  async checkOrWarn(): Promise<void> {
    const error = await this.check();
    if (error) {
      this.deps.log.warn('cannot adopt the agent ClusterRole; retrying later', { error });
    }
  }

  /** Rechecks while the session runs. */
  async run(session: Session): Promise<void> {
    const { log, backoff, now } = this.deps;
    await runLoop(
      { name: 'adoption loop', log, backoff },
      async () => {
        const waitMs = this.nextCheckAt - now();
        if (waitMs > 0) {
          return waitMs;
        }
        await this.checkOrWarn();
        return 0;
      },
      session.signal,
    );
  }

  /** One adoption attempt; answers the error of a transient failure. Never throws. */
  private async check(): Promise<unknown> {
    const { log } = this.deps;
    this.nextCheckAt = this.deps.now() + this.deps.recheckMs;
    let result: AdoptionResult;
    try {
      result = await adoptOwnClusterRole(this.deps.kube);
    } catch (error) {
      return error ?? new Error('adoption failed');
    }
    if (result === 'adopted') {
      log.info('adopted the agent ClusterRole: owned by its binding, adoption rule removed');
    } else if (result !== this.lastResult && result !== 'already-adopted') {
      log.warn('the agent ClusterRole cannot be adopted; detach will leave it behind', { result });
    }
    this.lastResult = result;
    return undefined;
  }
}
