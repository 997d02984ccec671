import { randomBytes } from 'node:crypto';
import { diffInventory, type Inventory, InventoryDeltaSchema, inventoryDeltaSize, InventorySchema } from '../protocol/inventory';
import { AgentProtocolLimits } from '../protocol/limits';
import type { ReportItemKind, ReportPayloadOf } from '../protocol/reports';
import { AgentApiError, type AgentApi } from './api-client';
import { Backoff, sleep, Wakeup } from './backoff';
import type { ClusterWatch } from './cluster-watch';
import type { AgentConfig } from './config';
import type { CredentialStore, StoredCredential } from './credential-store';
import { detachFromCluster, type DetachProgress } from './detach';
import { buildInventory } from './inventory-builder';
import type { AgentKube } from './kube-gateway';
import type { Logger } from './logger';
import { adoptOwnClusterRole, type AdoptionResult } from './rbac-adoption';
import type { ReportQueue } from './report-queue';

export interface AgentDeps {
  config: AgentConfig;
  log: Logger;
  api: AgentApi;
  credentials: CredentialStore;
  kube: AgentKube;
  watch: ClusterWatch;
  queue: ReportQueue;
  /** Persists the queue (atomically, coalesced); rejections are logged. */
  saveQueue: () => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** Creates the installation secret (default: 32 random bytes, base64url). */
  newInstallationSecret?: () => string;
  /** How often a running agent checks that its ClusterRole is still adopted (default 5 minutes). */
  adoptionRecheckMs?: number;
}

/** How run() ended: DETACH handled (exit 0), or stopped by the signal. */
export type AgentOutcome = 'detached' | 'stopped';

interface Session {
  clusterId: string;
  credential: StoredCredential;
  /** Received from rotate but not yet stored in the Secret, so not yet used. */
  pendingRotation?: StoredCredential;
  heartbeatIntervalMs: number;
  reportIntervalMs: number;
}

type SessionEnd = { kind: 'detached' } | { kind: 'stopped' } | { kind: 'credential-rejected'; code?: string };

/** Report seqs are reserved in the Secret this many at a time, when fewer than the margin are left. */
const SEQ_RESERVE_BLOCK = 1000;
const SEQ_RESERVE_MARGIN = 500;
/** Room for the request envelope around the items in a batch. */
const ENVELOPE_BYTES = 4096;
/** A snapshot or delta must leave this much of the body limit for the envelope. */
const MAX_INVENTORY_ITEM_BYTES = AgentProtocolLimits.maxBodyBytes - 64 * 1024;
const VERSION_TTL_MS = 10 * 60 * 1000;
/** Re-applied install manifests bring the adoption rule back; a running agent removes it again this soon. */
const ADOPTION_RECHECK_MS = 5 * 60 * 1000;
const KUBE_SYSTEM = 'kube-system';

/**
 * The agent's reconcile loop. One session per credential: register (or reuse the stored
 * credential), watch the cluster, queue a snapshot then deltas and heartbeats, and drain the queue to
 * the API in order, rotating the credential at two thirds of its lifetime. Nothing in the loop
 * throws: failures are logged and retried with jittered back-off. A rejected credential or token
 * stops reporting until the Secret holds something new.
 */
export class Agent {
  private readonly now: () => number;
  private readonly startedAt: string;
  private readonly wakeup = new Wakeup();
  private readonly backoff: Backoff;
  /** The API clock minus ours, from the Date header of the latest response. */
  private skewMs = 0;
  private batchItemLimit: number = AgentProtocolLimits.maxItemsPerBatch;
  private readonly rotationBackoff: Backoff;
  /** No rotation attempt before this time (ms, our clock) after a failed one. */
  private rotationRetryAt = 0;

  // Inventory state of the current session.
  private lastInventory: Inventory | undefined;
  private inventoryDirty = false;
  private snapshotRequested = false;
  private inventoryBusy = false;
  private version: { value: string; at: number } | undefined;
  /** Seqs below this are reserved in the Secret. */
  private seqReservedUntil = 0;
  private reservingSeqs = false;

  private nextAdoptionCheckAt = 0;
  private lastAdoption: AdoptionResult | undefined;

  constructor(private readonly deps: AgentDeps) {
    this.now = deps.now ?? Date.now;
    this.startedAt = new Date(this.now()).toISOString();
    this.backoff = new Backoff(deps.config.backoffInitialMs, deps.config.backoffMaxMs, deps.random);
    this.rotationBackoff = new Backoff(deps.config.backoffInitialMs, deps.config.backoffMaxMs, deps.random);
  }

  async run(signal: AbortSignal): Promise<AgentOutcome> {
    const rejectedCredentials = new Set<string>();
    const rejectedTokens = new Set<string>();
    // First of all, so the one-time adoption rule lives no longer than it must.
    for (let error = await this.checkAdoption(); error && !signal.aborted; error = await this.checkAdoption()) {
      await this.retryLater('cannot adopt the agent ClusterRole', error, signal);
    }
    while (!signal.aborted) {
      const session = await this.establish(signal, rejectedCredentials, rejectedTokens);
      if (!session) break;
      const end = await this.report(session, signal);
      if (end.kind === 'detached') return 'detached';
      if (end.kind === 'stopped') break;
      rejectedCredentials.add(session.credential.credential);
    }
    return 'stopped';
  }

  // ------------------------------------------------------------------------------------------
  // Identity: stored credential, or registration with the token
  // ------------------------------------------------------------------------------------------

  private async establish(signal: AbortSignal, rejectedCredentials: Set<string>, rejectedTokens: Set<string>): Promise<Session | null> {
    const { config, log, credentials } = this.deps;
    let idleReason = '';
    while (!signal.aborted) {
      let identity;
      try {
        identity = await credentials.load();
      } catch (error) {
        await this.retryLater('cannot read the agent Secret', error, signal);
        continue;
      }
      if (identity?.seqReservedUntil) {
        // The queue file may be gone (new pod) or lag behind (a write lost in a crash): continuing at the
        // reservation never reuses a seq. A restart skips the rest of the block, which gaps allow.
        this.seqReservedUntil = Math.max(this.seqReservedUntil, identity.seqReservedUntil);
        this.deps.queue.raiseNextSeq(this.seqReservedUntil);
      }
      const stored = identity?.credential;
      if (stored && !rejectedCredentials.has(stored.credential)) {
        log.info('using the stored credential', { clusterId: stored.clusterId });
        return this.session(stored, identity?.heartbeatIntervalSeconds, identity?.reportIntervalSeconds);
      }
      const token = identity?.registrationToken;
      if (token && !rejectedTokens.has(token)) {
        // New install manifests (a new token) also bring the adoption rule back.
        await this.checkAdoptionOrWarn();
        const session = await this.register(token, signal);
        if (session === 'rejected') rejectedTokens.add(token);
        else if (session) return session;
        continue;
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
      await sleep(config.idleRecheckMs, signal);
    }
    return null;
  }

  /** The API's intervals win over the configured defaults unless the configuration forces its own. */
  private session(credential: StoredCredential, heartbeatSeconds?: number, reportSeconds?: number): Session {
    const { config } = this.deps;
    const pick = (fromApi: number | undefined, configured: number) =>
      config.forceIntervals || !fromApi ? configured : fromApi * 1000;
    return {
      clusterId: credential.clusterId,
      credential,
      heartbeatIntervalMs: pick(heartbeatSeconds, config.heartbeatIntervalMs),
      reportIntervalMs: pick(reportSeconds, config.reportIntervalMs),
    };
  }

  /** A session, 'rejected' when the token can never work, or undefined to try again. */
  private async register(token: string, signal: AbortSignal): Promise<Session | 'rejected' | undefined> {
    const { config, log, api, kube, credentials, queue } = this.deps;
    let response;
    try {
      // Stored before it is sent: a retry after a lost answer must present the same one.
      const installationSecret = await credentials.ensureInstallationSecret(this.newInstallationSecret);
      const clusterUid = await kube.namespaceUid(KUBE_SYSTEM);
      response = await api.register({ registrationToken: token, clusterUid, agentVersion: config.agentVersion, installationSecret });
    } catch (error) {
      if (error instanceof AgentApiError && error.isTokenRejected) {
        log.error('registration refused', { code: error.code, error });
        return 'rejected';
      }
      await this.retryLater('registration failed', error, signal);
      return undefined;
    }
    this.observeServerTime(response.serverTime);
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
      issuedAt: response.serverTime ?? this.serverNow(),
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
        await this.retryLater('cannot store the credential in the Secret', error, signal);
        if (signal.aborted) return undefined;
      }
    }
    // Items queued for an earlier attachment do not belong to this one.
    queue.clear();
    this.persist();
    log.info('registered', { clusterId: r.clusterId });
    return this.session(credential, r.heartbeatIntervalSeconds, r.reportIntervalSeconds);
  }

  // ------------------------------------------------------------------------------------------
  // Reporting session
  // ------------------------------------------------------------------------------------------

  private async report(session: Session, signal: AbortSignal): Promise<SessionEnd> {
    const { watch, log } = this.deps;
    this.lastInventory = undefined;
    this.inventoryDirty = true;
    this.snapshotRequested = false;
    this.batchItemLimit = AgentProtocolLimits.maxItemsPerBatch;
    this.backoff.reset();

    watch.start(() => {
      this.inventoryDirty = true;
    });
    const heartbeat = setInterval(() => this.enqueueHeartbeat(), session.heartbeatIntervalMs);
    const inventory = setInterval(() => void this.inventoryTick(), session.reportIntervalMs);
    log.info('reporting', {
      clusterId: session.clusterId,
      heartbeatIntervalMs: session.heartbeatIntervalMs,
      reportIntervalMs: session.reportIntervalMs,
    });
    this.enqueueHeartbeat();
    try {
      while (!signal.aborted) {
        const end = await this.step(session, signal);
        if (end) return end;
      }
      return { kind: 'stopped' };
    } finally {
      clearInterval(heartbeat);
      clearInterval(inventory);
      await watch.stop();
      this.persist();
    }
  }

  /** One pass of the loop: store or start a rotation, send one batch, or wait for work. */
  private async step(session: Session, signal: AbortSignal): Promise<SessionEnd | undefined> {
    try {
      if (this.now() >= this.nextAdoptionCheckAt) await this.checkAdoptionOrWarn();
      const end = await this.maintainCredential(session);
      if (end) return end;
      // The first snapshot goes out as soon as the informers have synced, not a report interval later.
      if (!this.lastInventory && this.deps.watch.synced) await this.inventoryTick();
      if (this.deps.queue.depth > 0) return await this.sendBatch(session, signal);
      await this.wakeup.wait(Math.min(1000, session.heartbeatIntervalMs), signal);
    } catch (error) {
      await this.retryLater('report loop error', error, signal);
    }
    return undefined;
  }

  private async sendBatch(session: Session, signal: AbortSignal): Promise<SessionEnd | undefined> {
    const { api, queue, config, log } = this.deps;
    const items = queue.peekBatch(this.batchItemLimit, AgentProtocolLimits.maxBodyBytes - ENVELOPE_BYTES);
    let result;
    try {
      result = await api.sendReports(session.credential.credential, {
        clusterId: session.clusterId,
        agentVersion: config.agentVersion,
        sentAt: new Date(this.now()).toISOString(),
        items,
      });
    } catch (error) {
      if (error instanceof AgentApiError && error.isCredentialRejected) {
        log.error('the API rejected the credential; reporting stopped', { code: error.code, clusterId: session.clusterId });
        return { kind: 'credential-rejected', code: error.code };
      }
      if (error instanceof AgentApiError && error.isBodyRejected) {
        if (items.length > 1) {
          // Halve the batch until the item the API refuses stands alone.
          this.batchItemLimit = Math.ceil(items.length / 2);
          log.warn('the API refused a batch; sending smaller batches', { code: error.code, items: items.length });
        } else {
          queue.drop(items[0].seq);
          this.persist();
          log.error('the API refused a report item; dropped it', { code: error.code, seq: items[0].seq, kind: items[0].kind, error });
        }
        return undefined;
      }
      await this.retryLater('sending reports failed', error, signal, error instanceof AgentApiError ? error.retryAfterMs : undefined);
      return undefined;
    }
    this.observeServerTime(result.serverTime);
    this.batchItemLimit = AgentProtocolLimits.maxItemsPerBatch;
    const ack = queue.acknowledge(result.body.ackedSeq);
    this.persist();
    if (ack.kind === 'renumbered') {
      log.warn('the API had seen higher sequence numbers; renumbered the queue', { firstSeq: ack.firstSeq });
    }
    if (result.ignoredDirectives?.length) log.warn('ignored unknown directives', { types: result.ignoredDirectives });
    for (const directive of result.body.directives) {
      if (directive.type === 'SEND_SNAPSHOT') {
        this.snapshotRequested = true;
        void this.inventoryTick();
      } else if (directive.type === 'DETACH') {
        log.info('detach requested by the API');
        return (await this.detach(signal)) ? { kind: 'detached' } : { kind: 'stopped' };
      }
    }
    if (ack.kind === 'trimmed' && ack.removed === 0) {
      // Nothing stored: sending the same batch again at once would spin.
      await this.retryLater('the API acknowledged none of the batch', new Error(`ackedSeq ${result.body.ackedSeq}`), signal);
    } else {
      this.backoff.reset();
    }
    return undefined;
  }

  private async detach(signal: AbortSignal): Promise<boolean> {
    const { kube, config, queue } = this.deps;
    const progress: DetachProgress = new Set();
    while (!signal.aborted) {
      try {
        await detachFromCluster(kube, config.namespace, this.deps.log, progress);
        queue.clear();
        this.persist();
        return true;
      } catch (error) {
        await this.retryLater('detach failed', error, signal);
      }
    }
    return false;
  }

  // ------------------------------------------------------------------------------------------
  // RBAC adoption (src/agent-install/rbac.ts)
  // ------------------------------------------------------------------------------------------

  private readonly newInstallationSecret = (): string =>
    this.deps.newInstallationSecret?.() ?? randomBytes(32).toString('base64url');

  /** One adoption attempt; answers the error of a transient failure. Never throws. */
  private async checkAdoption(): Promise<unknown> {
    const { log } = this.deps;
    this.nextAdoptionCheckAt = this.now() + (this.deps.adoptionRecheckMs ?? ADOPTION_RECHECK_MS);
    let result: AdoptionResult;
    try {
      result = await adoptOwnClusterRole(this.deps.kube);
    } catch (error) {
      return error ?? new Error('adoption failed');
    }
    if (result === 'adopted') log.info('adopted the agent ClusterRole: owned by its binding, adoption rule removed');
    else if (result !== this.lastAdoption && result !== 'already-adopted') {
      log.warn('the agent ClusterRole cannot be adopted; detach will leave it behind', { result });
    }
    this.lastAdoption = result;
    return undefined;
  }

  /** A failed check is retried at the next recheck. */
  private async checkAdoptionOrWarn(): Promise<void> {
    const error = await this.checkAdoption();
    if (error) this.deps.log.warn('cannot adopt the agent ClusterRole; retrying later', { error });
  }

  // ------------------------------------------------------------------------------------------
  // Credential rotation
  // ------------------------------------------------------------------------------------------

  private serverNow(): number {
    return this.now() + this.skewMs;
  }

  private observeServerTime(serverTime: number | undefined): void {
    if (serverTime !== undefined) this.skewMs = serverTime - this.now();
  }

  /**
   * Rotates when due, and stores a rotated credential not stored yet. A failure here only delays the
   * next attempt: reports keep flowing with the current credential, which is still valid.
   */
  private async maintainCredential(session: Session): Promise<SessionEnd | undefined> {
    if (this.now() < this.rotationRetryAt) return undefined;
    try {
      if (session.pendingRotation) await this.storeRotation(session);
      else if (this.rotationDue(session)) return await this.rotate(session);
      this.rotationBackoff.reset();
    } catch (error) {
      const delayMs = this.rotationBackoff.next(error instanceof AgentApiError ? error.retryAfterMs : undefined);
      this.rotationRetryAt = this.now() + delayMs;
      this.deps.log.warn('credential rotation failed; retrying', { error, delayMs: Math.round(delayMs) });
    }
    return undefined;
  }

  private rotationDue(session: Session): boolean {
    const { issuedAt, expiresAt } = session.credential;
    return this.serverNow() >= issuedAt + (expiresAt - issuedAt) * this.deps.config.rotateAtFraction;
  }

  private async rotate(session: Session): Promise<SessionEnd | undefined> {
    let result;
    try {
      result = await this.deps.api.rotateCredential(session.credential.credential, { clusterId: session.clusterId });
    } catch (error) {
      if (error instanceof AgentApiError && error.isCredentialRejected) {
        this.deps.log.error('the API rejected the credential during rotation; reporting stopped', { code: error.code });
        return { kind: 'credential-rejected', code: error.code };
      }
      throw error;
    }
    this.observeServerTime(result.serverTime);
    session.pendingRotation = {
      clusterId: session.clusterId,
      credential: result.body.credential,
      expiresAt: Date.parse(result.body.credentialExpiresAt),
      issuedAt: result.serverTime ?? this.serverNow(),
    };
    await this.storeRotation(session);
    return undefined;
  }

  /** Stores the rotated credential, then switches to it; until then the previous one stays in use. */
  private async storeRotation(session: Session): Promise<void> {
    const next = session.pendingRotation!;
    await this.deps.credentials.saveRotation(next);
    session.credential = next;
    session.pendingRotation = undefined;
    this.deps.log.info('credential rotated', { expiresAt: new Date(next.expiresAt).toISOString() });
  }

  // ------------------------------------------------------------------------------------------
  // Queue producers
  // ------------------------------------------------------------------------------------------

  private enqueue<K extends ReportItemKind>(kind: K, payload: ReportPayloadOf<K>): void {
    this.deps.queue.enqueue(kind, payload, new Date(this.now()));
    this.persist();
    this.reserveSeqs();
    this.wakeup.notify();
  }

  /**
   * Keeps a block of seqs reserved in the Secret ahead of the queue (hi/lo), so an agent whose
   * queue file is lost (the state emptyDir goes with the pod) continues above every seq it used.
   */
  private reserveSeqs(): void {
    const upcoming = this.deps.queue.upcomingSeq;
    if (this.reservingSeqs || upcoming + SEQ_RESERVE_MARGIN <= this.seqReservedUntil) return;
    const until = upcoming + SEQ_RESERVE_BLOCK;
    this.reservingSeqs = true;
    this.deps.credentials
      .saveSeqReservation(until)
      .then(
        () => {
          this.seqReservedUntil = Math.max(this.seqReservedUntil, until);
        },
        (error: unknown) => this.deps.log.warn('cannot reserve report sequence numbers in the Secret', { error }),
      )
      .finally(() => {
        this.reservingSeqs = false;
      });
  }

  private enqueueHeartbeat(): void {
    const { queue, watch } = this.deps;
    this.enqueue('heartbeat', {
      startedAt: this.startedAt,
      queueDepth: queue.depth + 1,
      droppedItemCount: queue.droppedItemCount,
      inventorySynced: watch.synced,
    });
  }

  private async kubernetesVersion(): Promise<string | undefined> {
    if (this.version && this.now() - this.version.at < VERSION_TTL_MS) return this.version.value;
    try {
      const value = await this.deps.kube.serverVersion();
      if (this.version && this.version.value !== value) this.inventoryDirty = true;
      this.version = { value, at: this.now() };
    } catch (error) {
      this.deps.log.warn('cannot read the Kubernetes version', { error });
    }
    return this.version?.value;
  }

  /** Queues a snapshot (first time, on request, or after the queue lost inventory) or a delta. */
  private async inventoryTick(): Promise<void> {
    if (this.inventoryBusy || !this.deps.watch.synced) return;
    this.inventoryBusy = true;
    try {
      const version = await this.kubernetesVersion();
      const { queue, log } = this.deps;
      const needSnapshot = !this.lastInventory || this.snapshotRequested || queue.inventoryLost;
      if (!version || (!this.inventoryDirty && !needSnapshot)) return;
      this.inventoryDirty = false;
      const inventory = buildInventory(this.deps.watch.objects(), version);
      if (!needSnapshot) {
        const delta = diffInventory(this.lastInventory!, inventory);
        if (!delta) return;
        const listed = inventory.nodes.length + inventory.namespaces.length + inventory.workloads.length;
        // A delta touching most objects is no cheaper than a snapshot, and a snapshot resets any drift.
        if (inventoryDeltaSize(delta) <= listed / 2) {
          if (this.acceptable('inventory.delta', InventoryDeltaSchema.safeParse(delta).success, delta)) {
            this.enqueue('inventory.delta', delta);
            this.lastInventory = inventory;
          }
          return;
        }
      }
      if (this.acceptable('inventory.snapshot', InventorySchema.safeParse(inventory).success, inventory)) {
        this.enqueue('inventory.snapshot', inventory);
        this.lastInventory = inventory;
        this.snapshotRequested = false;
        log.debug('queued an inventory snapshot', { nodes: inventory.nodes.length, workloads: inventory.workloads.length });
      }
    } catch (error) {
      this.deps.log.error('building the inventory failed', { error });
    } finally {
      this.inventoryBusy = false;
    }
  }

  /** Never queue an item the API would refuse: it would block the queue until dropped. */
  private acceptable(kind: ReportItemKind, valid: boolean, payload: unknown): boolean {
    const bytes = Buffer.byteLength(JSON.stringify(payload));
    if (valid && bytes <= MAX_INVENTORY_ITEM_BYTES) return true;
    this.deps.log.error('inventory item not queued: it breaks a protocol limit', { kind, valid, bytes });
    return false;
  }

  // ------------------------------------------------------------------------------------------

  private persist(): void {
    this.deps.saveQueue().catch((error: unknown) => this.deps.log.warn('cannot save the report queue', { error }));
  }

  private async retryLater(what: string, error: unknown, signal: AbortSignal, retryAfterMs?: number): Promise<void> {
    const delayMs = this.backoff.next(retryAfterMs);
    this.deps.log.warn(`${what}; retrying`, { error, delayMs: Math.round(delayMs) });
    await sleep(delayMs, signal);
  }
}
