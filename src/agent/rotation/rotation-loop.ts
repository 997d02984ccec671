import { AgentApiError, type AgentApi } from '../api-client';
import type { StoredCredential } from '../identity/credential-store';
import type { Logger } from '../logger';
import { type BackoffSettings, runLoop } from '../loop';
import type { ServerClock } from '../server-clock';
import type { Session } from '../session';

/** Where a rotated credential is kept before it is used (the agent Secret). */
export interface RotationStore {
  saveRotation(credential: StoredCredential): Promise<void>;
}

export interface RotationLoopDeps {
  api: Pick<AgentApi, 'rotateCredential'>;
  store: RotationStore;
  clock: ServerClock;
  log: Logger;
  backoff: BackoffSettings;
  /** Share of the credential lifetime after which it is rotated. */
  rotateAtFraction: number;
}

/** Longest sleep before the due time is computed again (the observed server clock may move). */
const MAX_WAIT_MS = 60_000;

/**
 * Credential rotation: at `rotateAtFraction` of its lifetime (by the API clock) the loop asks for a
 * successor, stores it in the Secret, then switches the session's credential to it. Until stored it
 * is not used (the API may invalidate an unused successor). A failure only delays the next attempt
 * (its own back-off): the other loops keep using the current credential, which is still valid.
 */
export class RotationLoop {
  constructor(private readonly deps: RotationLoopDeps) {}

  async run(session: Session): Promise<void> {
    const { log, backoff } = this.deps;
    /** Received from rotate but not yet stored in the Secret, so not yet used. */
    let pending: StoredCredential | undefined;
    await runLoop(
      { name: 'rotation loop', log, backoff },
      async (ctx) => {
        try {
          if (!pending) {
            const waitMs = this.dueAt(session.credential.current) - this.deps.clock.serverNow();
            if (waitMs > 0) {
              return Math.min(waitMs, MAX_WAIT_MS);
            }
            pending = await this.rotate(session);
            if (!pending) {
              return 0;
            }
          }
          await this.store(session, pending);
          pending = undefined;
          ctx.succeeded();
        } catch (error) {
          await ctx.retryLater('credential rotation failed', error, error instanceof AgentApiError ? error.retryAfterMs : undefined);
        }
        return 0;
      },
      session.signal,
    );
  }

  private dueAt({ issuedAt, expiresAt }: StoredCredential): number {
    return issuedAt + (expiresAt - issuedAt) * this.deps.rotateAtFraction;
  }

  /** The successor, or undefined when the API rejected the credential (the session ends). */
  private async rotate(session: Session): Promise<StoredCredential | undefined> {
    const { api, clock, log } = this.deps;
    const clusterId = session.credential.clusterId;
    let result;
    try {
      result = await api.rotateCredential(session.credential.current.credential, { clusterId });
    } catch (error) {
      if (error instanceof AgentApiError && error.isCredentialRejected) {
        log.error('the API rejected the credential during rotation; reporting stopped', { code: error.code });
        session.end({ kind: 'credential-rejected', code: error.code });
        return undefined;
      }
      throw error;
    }
    clock.observe(result.serverTime);
    return {
      clusterId,
      credential: result.body.credential,
      expiresAt: Date.parse(result.body.credentialExpiresAt),
      issuedAt: result.serverTime ?? clock.serverNow(),
    };
  }

  /** Stores the rotated credential, then switches to it; until then the previous one stays in use. */
  private async store(session: Session, next: StoredCredential): Promise<void> {
    await this.deps.store.saveRotation(next);
    session.credential.replace(next);
    this.deps.log.info('credential rotated', { expiresAt: new Date(next.expiresAt).toISOString() });
  }
}
