import { AgentApiError, type AgentApi } from '../api-client';
import type { AgentConfig } from '../config';
import type { AgentKube } from '../kube-gateway';
import type { Logger } from '../logger';
import { type BackoffSettings, type LoopContext, runLoop, type StepResult } from '../loop';
import type { ServerClock } from '../server-clock';
import type { CredentialStore, StoredCredential } from './credential-store';

const KUBE_SYSTEM = 'kube-system';

export interface IdentityLoopDeps {
  config: Pick<AgentConfig, 'namespace' | 'secretName' | 'agentVersion' | 'expectedClusterId' | 'forceIntervals' | 'heartbeatIntervalMs' | 'reportIntervalMs' | 'idleRecheckMs'>;
  log: Logger;
  api: Pick<AgentApi, 'register'>;
  kube: Pick<AgentKube, 'namespaceUid'>;
  credentials: CredentialStore;
  clock: ServerClock;
  backoff: BackoffSettings;
  /** Creates the installation secret. */
  newInstallationSecret: () => string;
  /** Runs before every registration (the RBAC adoption check). */
  beforeRegistration: () => Promise<void>;
  /** The seq reservation found in the Secret, at every read. */
  onSeqReservation: (reservedUntil: number) => void;
  /** A new registration is stored: items queued for an earlier attachment do not belong to this one. */
  onRegistered: () => void;
}

/** A credential to report with, and the intervals of its session. */
export interface EstablishedIdentity {
  credential: StoredCredential;
  heartbeatIntervalMs: number;
  reportIntervalMs: number;
}

/**
 * Identity and registration: a session starts from the credential stored in the Secret or, when
 * there is none (or the API rejected it), from registering once with the registration token, the
 * kube-system UID and the installation secret. A token the API refuses is not tried again; with
 * neither, the loop re-reads the Secret every idle interval until new install manifests bring a token.
 */
export class IdentityLoop {
  private readonly rejectedCredentials = new Set<string>();
  private readonly rejectedTokens = new Set<string>();

  constructor(private readonly deps: IdentityLoopDeps) {}

  /** The API refused this credential: never use it again, wait for a new token instead. */
  rejectCredential(credential: string): void {
    this.rejectedCredentials.add(credential);
  }

  /** A credential to report with, or undefined when the agent stopped first. */
  establish(signal: AbortSignal): Promise<EstablishedIdentity | undefined> {
    const { config, log } = this.deps;
    let idleReason = '';
    return runLoop<EstablishedIdentity>(
      { name: 'identity loop', log, backoff: this.deps.backoff },
      async (ctx): Promise<StepResult<EstablishedIdentity>> => {
        let identity;
        try {
          identity = await this.deps.credentials.load();
        } catch (error) {
          await ctx.retryLater('cannot read the agent Secret', error);
          return 0;
        }
        if (identity?.seqReservedUntil) {
          this.deps.onSeqReservation(identity.seqReservedUntil);
        }
        const stored = identity?.credential;
        if (stored && !this.rejectedCredentials.has(stored.credential)) {
          log.info('using the stored credential', { clusterId: stored.clusterId });
          return { done: this.established(stored, identity?.heartbeatIntervalSeconds, identity?.reportIntervalSeconds) };
        }
        const token = identity?.registrationToken;
        if (token && !this.rejectedTokens.has(token)) {
          // New install manifests (a new token) also bring the adoption rule back.
          await this.deps.beforeRegistration();
          const registered = await this.register(token, ctx);
          if (registered === 'rejected') {
            this.rejectedTokens.add(token);
          } else if (registered) {
            return { done: registered };
          }
          return 0;
        }
        const reason = !identity
          ? `the Secret ${config.namespace}/${config.secretName} does not exist`
          : stored
            ? 'the API rejected the stored credential and the Secret holds no new registration token'
            : 'the Secret holds neither a credential nor a registration token';
        if (reason !== idleReason) {
          log.error('reporting stopped: apply new install manifests to attach this cluster again', { reason });
          idleReason = reason;
        }
        return config.idleRecheckMs;
      },
      signal,
    );
  }

  /** The API's intervals win over the configured defaults unless the configuration forces its own. */
  private established(credential: StoredCredential, heartbeatSeconds?: number, reportSeconds?: number): EstablishedIdentity {
    const { config } = this.deps;
    const pick = (fromApi: number | undefined, configured: number) => (config.forceIntervals || !fromApi ? configured : fromApi * 1000);
    return {
      credential,
      heartbeatIntervalMs: pick(heartbeatSeconds, config.heartbeatIntervalMs),
      reportIntervalMs: pick(reportSeconds, config.reportIntervalMs),
    };
  }

  /** An identity, 'rejected' when the token can never work, or undefined to try again. */
  private async register(token: string, ctx: LoopContext): Promise<EstablishedIdentity | 'rejected' | undefined> {
    const { config, log, api, kube, credentials, clock } = this.deps;
    let response;
    try {
      // Stored before it is sent: a retry after a lost answer must present the same one.
      const installationSecret = await credentials.ensureInstallationSecret(this.deps.newInstallationSecret);
      const clusterUid = await kube.namespaceUid(KUBE_SYSTEM);
      response = await api.register({ registrationToken: token, clusterUid, agentVersion: config.agentVersion, installationSecret });
    } catch (error) {
      if (error instanceof AgentApiError && error.isTokenRejected) {
        log.error('registration refused', { code: error.code, error });
        return 'rejected';
      }
      await ctx.retryLater('registration failed', error);
      return undefined;
    }
    clock.observe(response.serverTime);
    const r = response.body;
    if (config.expectedClusterId && r.clusterId !== config.expectedClusterId) {
      log.error('registration answered another cluster than the manifests name', {
        expectedClusterId: config.expectedClusterId,
        clusterId: r.clusterId,
      });
      return 'rejected';
    }
    const credential: StoredCredential = {
      clusterId: r.clusterId,
      credential: r.credential,
      expiresAt: Date.parse(r.credentialExpiresAt),
      issuedAt: response.serverTime ?? clock.serverNow(),
    };
    // The credential is stored before it is used: the API may invalidate an unused earlier one.
    for (;;) {
      try {
        await credentials.saveRegistration({
          ...credential,
          heartbeatIntervalSeconds: r.heartbeatIntervalSeconds,
          reportIntervalSeconds: r.reportIntervalSeconds,
        });
        break;
      } catch (error) {
        await ctx.retryLater('cannot store the credential in the Secret', error);
        if (ctx.signal.aborted) {
          return undefined;
        }
      }
    }
    this.deps.onRegistered();
    log.info('registered', { clusterId: r.clusterId });
    return this.established(credential, r.heartbeatIntervalSeconds, r.reportIntervalSeconds);
  }
}
