import type { CredentialHolder } from './identity/credential-holder';

/** Why a session ended: DETACH received, the agent stopping, or the API refusing the credential. */
export type SessionEnd = { kind: 'detach' } | { kind: 'stopped' } | { kind: 'credential-rejected'; code?: string };

export interface SessionSettings {
  credential: CredentialHolder;
  heartbeatIntervalMs: number;
  reportIntervalMs: number;
}

/**
 * One credential's reporting session: the loops run with its signal until one of them ends it (the
 * first reason wins) or the agent stops.
 */
export class Session implements SessionSettings {
  readonly credential: CredentialHolder;
  readonly heartbeatIntervalMs: number;
  readonly reportIntervalMs: number;
  private readonly controller = new AbortController();
  private reason: SessionEnd | undefined;
  private readonly onParentAbort = () => this.end({ kind: 'stopped' });

  constructor(
    settings: SessionSettings,
    private readonly parent: AbortSignal,
  ) {
    this.credential = settings.credential;
    this.heartbeatIntervalMs = settings.heartbeatIntervalMs;
    this.reportIntervalMs = settings.reportIntervalMs;
    if (parent.aborted) {
      this.end({ kind: 'stopped' });
    } else {
      parent.addEventListener('abort', this.onParentAbort, { once: true });
    }
  }

  /** Aborts when the session ends. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** How it ended; 'stopped' while it runs. */
  get outcome(): SessionEnd {
    return this.reason ?? { kind: 'stopped' };
  }

  end(reason: SessionEnd): void {
    if (this.reason) {
      return;
    }
    this.reason = reason;
    this.parent.removeEventListener('abort', this.onParentAbort);
    this.controller.abort();
  }
}
