import { randomBytes } from 'node:crypto';
import { AgentApiError, type AgentApi } from '../api-client';
import type { AgentConfig } from '../config';
import type { AgentKube } from '../kube-gateway';
import type { Logger } from '../logger';
import { type BackoffSettings, type LoopContext, runLoop, type StepResult } from '../loop';
import type { ServerClock } from '../server-clock';
import type { CredentialStore, StoredCredential, StoredIdentity } from './credential-store';
import { newRenewalPrivateKey, renewalPublicKeyOf, signedRenewal } from './renewal-key';

const KUBE_SYSTEM = 'kube-system';

export interface IdentityLoopDeps {
  config: Pick<AgentConfig, 'namespace' | 'secretName' | 'agentVersion' | 'expectedClusterId' | 'forceIntervals' | 'heartbeatIntervalMs' | 'reportIntervalMs' | 'idleRecheckMs'>;
  log: Logger;
  api: Pick<AgentApi, 'register' | 'renewCredential'>;
  kube: Pick<AgentKube, 'namespaceUid'>;
  credentials: CredentialStore;
  clock: ServerClock;
  backoff: BackoffSettings;
  /** Creates the installation secret. */
  newInstallationSecret: () => string;
  /** Creates the renewal private key (default: a new Ed25519 key). */
  newRenewalPrivateKey?: () => string;
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

/** Answers to a renewal after which the same credential can never renew. */
const RENEWAL_IMPOSSIBLE: ReadonlySet<string> = new Set(['RENEWAL_NOT_ENROLLED', 'RENEWAL_SIGNATURE_INVALID']);

/**
 * Identity and registration: a session starts from the credential stored in the Secret or, when
 * there is none (or the API rejected it), from registering once with the registration token, the
 * kube-system UID and the installation secret. A credential the API refused as expired (the agent was
 * offline longer than its lifetime) is first renewed with the renewal key (POST /credentials/renew). A token the API refuses is not tried again; with
 * neither, the loop re-reads the Secret every idle interval until new install manifests bring a token.
 */
export class IdentityLoop {
  private readonly rejectedCredentials = new Set<string>();
  private readonly expiredCredentials = new Set<string>();
  private readonly rejectedTokens = new Set<string>();

  constructor(private readonly deps: IdentityLoopDeps) {}

  /** The API refused this credential: never use it again; renew it when it expired, else wait for a new token. */
  rejectCredential(credential: string, code?: string): void {
    if (code === 'CREDENTIAL_EXPIRED') {
      this.expiredCredentials.add(credential);
    } else {
      this.rejectedCredentials.add(credential);
    }
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
        if (identity && stored && this.expiredCredentials.has(stored.credential) && !this.rejectedCredentials.has(stored.credential)) {
          const renewed = await this.renew(identity, stored, ctx);
          if (renewed !== 'impossible') {
            return renewed ? { done: renewed } : 0;
          }
          this.rejectedCredentials.add(stored.credential);
        }
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

  /**
   * A renewed identity, 'impossible' when this credential can never renew (no key, refused, revoked),
   * or undefined to try again (a replay refusal means: sign again, fresh nonce and time).
   */
  private async renew(identity: StoredIdentity, expired: StoredCredential, ctx: LoopContext): Promise<EstablishedIdentity | 'impossible' | undefined> {
    const { log, api, credentials, clock } = this.deps;
    if (!identity.renewalPrivateKey) {
      log.error('the credential expired and the agent has no renewal key; apply new install manifests to attach again', { clusterId: expired.clusterId });
      return 'impossible';
    }
    let response;
    try {
      const request = signedRenewal(
        identity.renewalPrivateKey,
        expired.clusterId,
        expired.credential,
        randomBytes(16).toString('base64url'),
        new Date(clock.serverNow()).toISOString(),
      );
      response = await api.renewCredential(expired.credential, request);
    } catch (error) {
      if (error instanceof AgentApiError && error.code === 'CREDENTIAL_NOT_EXPIRED') {
        // Our clock was off, not the credential: use it again.
        this.expiredCredentials.delete(expired.credential);
        return this.established(expired, identity.heartbeatIntervalSeconds, identity.reportIntervalSeconds);
      }
      if (error instanceof AgentApiError && (error.isCredentialRejected || (error.code !== undefined && RENEWAL_IMPOSSIBLE.has(error.code)))) {
        log.error('renewal of the expired credential refused', { code: error.code, clusterId: expired.clusterId });
        return 'impossible';
      }
      await ctx.retryLater('renewal of the expired credential failed', error, error instanceof AgentApiError ? error.retryAfterMs : undefined);
      return undefined;
    }
    clock.observe(response.serverTime);
    const renewed: StoredCredential = {
      clusterId: expired.clusterId,
      credential: response.body.credential,
      expiresAt: Date.parse(response.body.credentialExpiresAt),
      issuedAt: response.serverTime ?? clock.serverNow(),
    };
    // Stored before it is used: its first use revokes the expired one.
    try {
      await credentials.saveRotation(renewed);
    } catch (error) {
      // Not stored: the expired credential renews again (its unused successor is then revoked).
      await ctx.retryLater('cannot store the renewed credential in the Secret', error);
      return undefined;
    }
    this.expiredCredentials.delete(expired.credential);
    log.info('renewed the expired credential', { clusterId: renewed.clusterId });
    return this.established(renewed, identity.heartbeatIntervalSeconds, identity.reportIntervalSeconds);
  }

  /** An identity, 'rejected' when the token can never work, or undefined to try again. */
  private async register(token: string, ctx: LoopContext): Promise<EstablishedIdentity | 'rejected' | undefined> {
    const { config, log, api, kube, credentials, clock } = this.deps;
    let response;
    try {
      // Stored before it is sent: a retry after a lost answer must present the same one.
      const installationSecret = await credentials.ensureInstallationSecret(this.deps.newInstallationSecret);
      const renewalPublicKey = renewalPublicKeyOf(await credentials.ensureRenewalPrivateKey(this.deps.newRenewalPrivateKey ?? newRenewalPrivateKey));
      const clusterUid = await kube.namespaceUid(KUBE_SYSTEM);
      response = await api.register({ registrationToken: token, clusterUid, agentVersion: config.agentVersion, installationSecret, renewalPublicKey });
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
