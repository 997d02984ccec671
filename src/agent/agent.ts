import { randomBytes } from 'node:crypto';
import { AgentApiError, type AgentApi } from './api-client';
import type { AgentConfig } from './config';
import { DesiredStateLoop } from './desired-state/desired-state-loop';
import { DesiredStateStatus } from './desired-state-status';
import { CredentialHolder } from './identity/credential-holder';
import type { CredentialStore } from './identity/credential-store';
import { type EstablishedIdentity, IdentityLoop } from './identity/identity-loop';
import { AdoptionLoop } from './installation/adoption-loop';
import { detachUntilDone } from './installation/detach';
import type { ClusterWatch } from './inventory/cluster-watch';
import { InventoryLoop } from './inventory/inventory-loop';
import type { AgentKube } from './kube-gateway';
import type { Logger } from './logger';
import type { BackoffSettings } from './loop';
import { HeartbeatLoop } from './reporting/heartbeat-loop';
import { ReportOutbox } from './reporting/outbox';
import type { ReportQueue } from './reporting/report-queue';
import { SenderLoop } from './reporting/sender-loop';
import { RotationLoop } from './rotation/rotation-loop';
import { ServerClock } from './server-clock';
import { Session, type SessionEnd } from './session';

export interface AgentDeps {
  config: AgentConfig;
  log: Logger;
  api: AgentApi;
  credentials: CredentialStore;
  kube: AgentKube;
  watch: ClusterWatch;
  queue: ReportQueue;
  /** Persists the queue's changes (QueueLog.save: appended, coalesced); rejections are logged. */
  saveQueue: () => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** Creates the installation secret (default: 32 random bytes, base64url). */
  newInstallationSecret?: () => string;
  /** How often a running agent checks that its ClusterRole is still adopted (default 5 minutes). */
  adoptionRecheckMs?: number;
  /** Edge admission (FARPOINT_ADMISSION=on): runs beside the sessions, needs no credential, stops before detach. */
  admission?: { run(signal: AbortSignal, reports: ReportOutbox): Promise<void> };
  /** The audit of existing objects (with admission): built with the outbox, runs beside admission, woken by the informers. */
  audit?: (reports: ReportOutbox) => { run(signal: AbortSignal): Promise<void>; clusterChanged(): void };
  /** Shared with admission: what heartbeats say about the desired state (created here when not given). */
  desiredStateStatus?: DesiredStateStatus;
}

/** How run() ended: DETACH handled (exit 0), or stopped by the signal. */
export type AgentOutcome = 'detached' | 'stopped';

/** Re-applied install manifests bring the adoption rule back; a running agent removes it again this soon. */
const ADOPTION_RECHECK_MS = 5 * 60 * 1000;

/** A loop that runs for the length of a session. */
interface SessionLoop {
  run(session: Session): Promise<void>;
}

/**
 * The agent: small loops sharing the session's credential. It adopts its RBAC first, then, one
 * session per credential, the identity loop finds a credential (stored, or by registering) and the
 * session loops run side by side — heartbeats, inventory, report sending, rotation, the adoption
 * recheck — until one ends the session: DETACH (then detach, and the agent ends) or a rejected
 * credential (then identity again, which waits for a new token). Every loop has its own back-off and
 * logs and retries its errors; none throws.
 */
export class Agent {
  private readonly outbox: ReportOutbox;
  private readonly adoption: AdoptionLoop;
  private readonly identity: IdentityLoop;
  private readonly inventory: InventoryLoop;
  /** In start order: the heartbeat first, so a session's first item is a heartbeat. */
  private readonly sessionLoops: SessionLoop[];
  private readonly backoff: BackoffSettings;
  private readonly audit?: { run(signal: AbortSignal): Promise<void>; clusterChanged(): void };

  constructor(private readonly deps: AgentDeps) {
    const { config, log, api, kube, credentials } = deps;
    const now = deps.now ?? Date.now;
    const clock = new ServerClock(now);
    const backoff: BackoffSettings = { initialMs: config.backoffInitialMs, maxMs: config.backoffMaxMs, random: deps.random };
    this.backoff = backoff;
    this.outbox = new ReportOutbox({ queue: deps.queue, saveQueue: deps.saveQueue, reservations: credentials, log, now });
    this.adoption = new AdoptionLoop({ kube, log, backoff, now, recheckMs: deps.adoptionRecheckMs ?? ADOPTION_RECHECK_MS });
    this.identity = new IdentityLoop({
      config,
      log,
      api,
      kube,
      credentials,
      clock,
      backoff,
      newInstallationSecret: deps.newInstallationSecret ?? (() => randomBytes(32).toString('base64url')),
      beforeRegistration: () => this.adoption.checkOrWarn(),
      onSeqReservation: (until) => this.outbox.continueAbove(until),
      onRegistered: () => this.outbox.clear(),
    });
    this.audit = deps.audit?.(this.outbox);
    // The informers' changes also wake the audit of existing objects.
    const source = deps.watch;
    const watch: ClusterWatch = {
      start: (onChange) =>
        source.start(() => {
          onChange();
          this.audit?.clusterChanged();
        }),
      stop: () => source.stop(),
      get synced() {
        return source.synced;
      },
      objects: () => source.objects(),
    };
    this.inventory = new InventoryLoop({ kube, watch, sink: this.outbox, log, backoff, now });
    const desiredStateStatus = deps.desiredStateStatus ?? new DesiredStateStatus();
    const heartbeat = new HeartbeatLoop({
      outbox: this.outbox,
      log,
      backoff,
      startedAt: new Date(now()).toISOString(),
      inventorySynced: () => this.inventory.synced,
      desiredState: () => desiredStateStatus.report(),
    });
    const sender = new SenderLoop({
      api,
      outbox: this.outbox,
      clock,
      log,
      backoff,
      agentVersion: config.agentVersion,
      now,
      onSnapshotRequested: () => this.inventory.requestSnapshot(),
    });
    const rotation = new RotationLoop({ api, store: credentials, clock, log, backoff, rotateAtFraction: config.rotateAtFraction });
    // The desired state is pulled only for admission, which enforces it (FARPOINT_ADMISSION=on).
    const desiredState = config.admission
      ? [new DesiredStateLoop({ api, stateDir: config.stateDir, status: desiredStateStatus, log, backoff, intervalMs: config.admission.desiredStateIntervalMs })]
      : [];
    this.sessionLoops = [heartbeat, this.inventory, sender, rotation, this.adoption, ...desiredState];
  }

  async run(signal: AbortSignal): Promise<AgentOutcome> {
    const admission = new AbortController();
    const stopAdmission = () => admission.abort();
    signal.addEventListener('abort', stopAdmission, { once: true });
    const admitting = Promise.all([this.deps.admission?.run(admission.signal, this.outbox), this.audit?.run(admission.signal)]);
    const beforeDetach = async () => {
      // Detach deletes the webhook configuration first: admission must not write it back.
      stopAdmission();
      await admitting;
    };
    try {
      return await this.runSessions(signal, beforeDetach);
    } finally {
      stopAdmission();
      signal.removeEventListener('abort', stopAdmission);
      await admitting;
    }
  }

  private async runSessions(signal: AbortSignal, beforeDetach: () => Promise<void>): Promise<AgentOutcome> {
    await this.adoption.adoptFirst(signal);
    while (!signal.aborted) {
      const identity = await this.identity.establish(signal);
      if (!identity) {
        break;
      }
      const { end, credential } = await this.runSession(identity, signal);
      if (end.kind === 'detach') {
        await beforeDetach();
        return (await this.detach(signal, { clusterId: identity.credential.clusterId, credential })) ? 'detached' : 'stopped';
      }
      if (end.kind === 'stopped') {
        break;
      }
      this.identity.rejectCredential(credential, end.code);
    }
    return 'stopped';
  }

  /** Runs the session loops until one of them ends the session or the agent stops. */
  private async runSession(identity: EstablishedIdentity, signal: AbortSignal): Promise<{ end: SessionEnd; credential: string }> {
    const session = new Session({ ...identity, credential: new CredentialHolder(identity.credential) }, signal);
    this.deps.log.info('reporting', {
      clusterId: session.credential.clusterId,
      heartbeatIntervalMs: session.heartbeatIntervalMs,
      reportIntervalMs: session.reportIntervalMs,
    });
    // Loops never reject (runLoop); should one anyway, the others keep running until the session ends.
    const failed = (error: unknown) => this.deps.log.error('a session loop ended with an error', { error });
    await Promise.all(this.sessionLoops.map((loop) => loop.run(session).catch(failed)));
    this.outbox.persist();
    return { end: session.outcome, credential: session.credential.current.credential };
  }

  private async detach(signal: AbortSignal, held: { clusterId: string; credential: string }): Promise<boolean> {
    const { kube, config, log, api } = this.deps;
    const acknowledge = async () => {
      try {
        await api.acknowledgeDetach(held.credential, { clusterId: held.clusterId });
      } catch (error) {
        // Refused credential: an earlier acknowledgement whose answer was lost (or a force detach) already ended it.
        if (error instanceof AgentApiError && error.isCredentialRejected) {
          log.info('detach: the API no longer accepts the credential; the detach is complete there', { code: error.code });
          return;
        }
        throw error;
      }
    };
    if (!(await detachUntilDone(kube, config.namespace, log, this.backoff, signal, acknowledge))) {
      return false;
    }
    this.outbox.clear();
    return true;
  }
}
