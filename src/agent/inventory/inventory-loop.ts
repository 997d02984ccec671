import { diffInventory, type Inventory, InventoryDeltaSchema, inventoryDeltaSize, InventorySchema } from '../../protocol/inventory';
import { AgentProtocolLimits } from '../../protocol/limits';
import type { ReportPayloadOf } from '../../protocol/reports';
import { Wakeup } from '../backoff';
import type { AgentKube } from '../kube-gateway';
import type { Logger } from '../logger';
import { type BackoffSettings, runLoop } from '../loop';
import type { Session } from '../session';
import type { ClusterWatch } from './cluster-watch';
import { buildInventory } from './inventory-builder';

type InventoryKind = 'inventory.snapshot' | 'inventory.delta';

/** Where inventory items go (the report outbox). */
export interface InventorySink {
  /** Set when queued inventory was dropped: the next item must be a snapshot. */
  readonly inventoryLost: boolean;
  enqueue<K extends InventoryKind>(kind: K, payload: ReportPayloadOf<K>): void;
}

export interface InventoryLoopDeps {
  kube: Pick<AgentKube, 'serverVersion'>;
  watch: ClusterWatch;
  sink: InventorySink;
  log: Logger;
  backoff: BackoffSettings;
  now: () => number;
}

/** A snapshot or delta must leave this much of the body limit for the envelope. */
const MAX_INVENTORY_ITEM_BYTES = AgentProtocolLimits.maxBodyBytes - 64 * 1024;
const VERSION_TTL_MS = 10 * 60 * 1000;
/** Until the first snapshot, how often the loop looks whether the informers have synced. */
const SYNC_POLL_MS = 1000;

/**
 * Inventory production: watches the cluster with informers and, once they have synced, queues a
 * snapshot; then every report interval one delta of what changed (coalesced), or a snapshot when the
 * delta would touch most objects, the API asks for one, or the queue lost inventory.
 */
export class InventoryLoop {
  private readonly wakeup = new Wakeup();
  private lastInventory: Inventory | undefined;
  private dirty = false;
  private snapshotRequested = false;
  private version: { value: string; at: number } | undefined;

  constructor(private readonly deps: InventoryLoopDeps) {}

  get synced(): boolean {
    return this.deps.watch.synced;
  }

  /** SEND_SNAPSHOT: queue a full snapshot now. */
  requestSnapshot(): void {
    this.snapshotRequested = true;
    this.wakeup.notify();
  }

  async run(session: Session): Promise<void> {
    const { watch, log, backoff } = this.deps;
    // Every session starts with a snapshot.
    this.lastInventory = undefined;
    this.dirty = true;
    this.snapshotRequested = false;
    watch.start(() => {
      this.dirty = true;
    });
    try {
      await runLoop(
        { name: 'inventory loop', log, backoff, wakeup: this.wakeup },
        async () => {
          await this.tick();
          // The first snapshot goes out as soon as the informers have synced, not a report interval later.
          return this.lastInventory ? session.reportIntervalMs : Math.min(SYNC_POLL_MS, session.reportIntervalMs);
        },
        session.signal,
      );
    } finally {
      await watch.stop();
    }
  }

  /** Queues a snapshot (first time, on request, or after the queue lost inventory) or a delta. Never throws. */
  private async tick(): Promise<void> {
    const { watch, sink, log } = this.deps;
    if (!watch.synced) {
      return;
    }
    try {
      const version = await this.kubernetesVersion();
      const needSnapshot = !this.lastInventory || this.snapshotRequested || sink.inventoryLost;
      if (!version || (!this.dirty && !needSnapshot)) {
        return;
      }
      this.dirty = false;
      const inventory = buildInventory(watch.objects(), version);
      if (!needSnapshot) {
        const delta = diffInventory(this.lastInventory!, inventory);
        if (!delta) {
          return;
        }
        const listed = inventory.nodes.length + inventory.namespaces.length + inventory.workloads.length;
        // A delta touching most objects is no cheaper than a snapshot, and a snapshot resets any drift.
        if (inventoryDeltaSize(delta) <= listed / 2) {
          if (this.acceptable('inventory.delta', InventoryDeltaSchema.safeParse(delta).success, delta)) {
            sink.enqueue('inventory.delta', delta);
            this.lastInventory = inventory;
          }
          return;
        }
      }
      if (this.acceptable('inventory.snapshot', InventorySchema.safeParse(inventory).success, inventory)) {
        sink.enqueue('inventory.snapshot', inventory);
        this.lastInventory = inventory;
        this.snapshotRequested = false;
        log.debug('queued an inventory snapshot', { nodes: inventory.nodes.length, workloads: inventory.workloads.length });
      }
    } catch (error) {
      log.error('building the inventory failed', { error });
    }
  }

  private async kubernetesVersion(): Promise<string | undefined> {
    const { kube, log, now } = this.deps;
    if (this.version && now() - this.version.at < VERSION_TTL_MS) {
      return this.version.value;
    }
    try {
      const value = await kube.serverVersion();
      if (this.version && this.version.value !== value) {
        this.dirty = true;
      }
      this.version = { value, at: now() };
    } catch (error) {
      log.warn('cannot read the Kubernetes version', { error });
    }
    return this.version?.value;
  }

  /** Never queue an item the API would refuse: it would block the queue until dropped. */
  private acceptable(kind: InventoryKind, valid: boolean, payload: unknown): boolean {
    const bytes = Buffer.byteLength(JSON.stringify(payload));
    if (valid && bytes <= MAX_INVENTORY_ITEM_BYTES) {
      return true;
    }
    this.deps.log.error('inventory item not queued: it breaks a protocol limit', { kind, valid, bytes });
    return false;
  }
}
