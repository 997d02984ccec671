import type { ClusterHealth } from '../../generated/prisma/enums';
import { applyInventoryDelta, type HeartbeatPayload, type Inventory, type InventorySummary, type ReportItem, summarizeInventory } from '../../protocol';

/**
 * The pure part of report ingestion: which items are new, and what they add up to. The service
 * loads the state, runs `foldReportItems` and writes the outcome in one transaction.
 */

/** What the API holds for a cluster before a batch: the last acknowledged seq and the inventory (null before the first snapshot). */
export interface IngestState {
  ackedSeq: number;
  inventory: Inventory | null;
}

export interface IngestOutcome {
  /** The seq to acknowledge: the highest seq stored, never lower than before. */
  ackedSeq: number;
  /** Items with seq > the previous ackedSeq, in seq order. */
  processed: number;
  /** Items at or below the previous ackedSeq: duplicates of items already stored. */
  skipped: number;
  /** At least one new heartbeat: the agent is alive now. */
  heartbeat: boolean;
  /** The payload of the newest new heartbeat (what the agent says about itself: the desired-state generation it runs, say). */
  lastHeartbeat?: HeartbeatPayload;
  /** The inventory after the batch (null while no snapshot has arrived). */
  inventory: Inventory | null;
  /** A snapshot or an applied delta changed the stored inventory. */
  inventoryChanged: boolean;
  /** At least one new inventory.snapshot. */
  snapshotReceived: boolean;
  /** Deltas that arrived while there was no inventory to apply them to; they are acknowledged and dropped. */
  ignoredDeltas: number;
  /** Some delta had no base and no snapshot followed it: ask the agent for a snapshot (SEND_SNAPSHOT). */
  needsSnapshot: boolean;
  /** New audit.result and admission.summary items, in seq order, for the violations ingestion. */
  policyItems: PolicyReportItem[];
}

/** The agent's report queue as a heartbeat saw it, as the cluster row stores it. */
export interface AgentQueueReport {
  depth: number;
  /** Absent from heartbeats of agents before the segmented queue. */
  droppedByKind: Record<string, number> | null;
  oldestQueuedAt: Date | null;
}

export function agentQueueOf(heartbeat: HeartbeatPayload): AgentQueueReport {
  return {
    depth: heartbeat.queueDepth,
    droppedByKind: heartbeat.droppedByKind ?? null,
    oldestQueuedAt: heartbeat.oldestQueuedAt ? new Date(heartbeat.oldestQueuedAt) : null,
  };
}

export type PolicyReportItem = Extract<ReportItem, { kind: 'audit.result' | 'admission.summary' }>;

/** The items not stored yet: seq above ackedSeq, in seq order (the schema already enforces increasing seq). */
export function newItems<T extends Pick<ReportItem, 'seq'>>(items: readonly T[], ackedSeq: number): T[] {
  return items.filter((item) => item.seq > ackedSeq).sort((a, b) => a.seq - b.seq);
}

/**
 * Applies a batch to the state. Items at or below `state.ackedSeq` are skipped, so replaying a batch
 * (the agent did not see our answer) changes nothing. A delta without a base inventory is dropped
 * but still acknowledged, and the outcome asks for a snapshot: deltas cannot be replayed later anyway,
 * and holding back the ack would block the agent's queue behind an item the API can never use.
 */
export function foldReportItems(state: IngestState, items: readonly ReportItem[]): IngestOutcome {
  const fresh = newItems(items, state.ackedSeq);
  let inventory = state.inventory;
  let ackedSeq = state.ackedSeq;
  let heartbeat = false;
  let lastHeartbeat: HeartbeatPayload | undefined;
  let inventoryChanged = false;
  let snapshotReceived = false;
  let ignoredDeltas = 0;
  let baseMissing = false;
  const policyItems: PolicyReportItem[] = [];
  for (const item of fresh) {
    ackedSeq = item.seq;
    switch (item.kind) {
      case 'heartbeat':
        heartbeat = true;
        lastHeartbeat = item.payload;
        break;
      case 'inventory.snapshot':
        inventory = item.payload;
        inventoryChanged = true;
        snapshotReceived = true;
        baseMissing = false;
        break;
      case 'inventory.delta':
        if (inventory === null) {
          ignoredDeltas += 1;
          baseMissing = true;
        } else {
          inventory = applyInventoryDelta(inventory, item.payload);
          inventoryChanged = true;
        }
        break;
      case 'audit.result':
      case 'admission.summary':
        policyItems.push(item);
        break;
      default: {
        const unknown: never = item;
        throw new Error(`unhandled report item kind ${(unknown as ReportItem).kind}`);
      }
    }
  }
  return {
    ackedSeq,
    processed: fresh.length,
    skipped: items.length - fresh.length,
    heartbeat,
    ...(lastHeartbeat ? { lastHeartbeat } : {}),
    inventory,
    inventoryChanged,
    snapshotReceived,
    ignoredDeltas,
    needsSnapshot: baseMissing,
    policyItems,
  };
}

/** Health from the nodes: all Ready → HEALTHY, some not Ready → WARNING, none Ready (or no nodes) → UNHEALTHY. */
export function healthFromInventory(inventory: Inventory): Extract<ClusterHealth, 'HEALTHY' | 'WARNING' | 'UNHEALTHY'> {
  return healthFromSummary(summarizeInventory(inventory));
}

function healthFromSummary(summary: Pick<InventorySummary, 'nodeCount' | 'readyNodeCount'>): Extract<ClusterHealth, 'HEALTHY' | 'WARNING' | 'UNHEALTHY'> {
  if (summary.nodeCount === 0 || summary.readyNodeCount === 0) {
    return 'UNHEALTHY';
  }
  return summary.readyNodeCount === summary.nodeCount ? 'HEALTHY' : 'WARNING';
}

/**
 * The health after a batch. Inventory decides when there is one; a heartbeat is what brings a
 * DISCONNECTED cluster back (the health sweep judges by heartbeats, so an inventory change alone
 * must not undo its verdict). With no inventory yet a heartbeat can only say UNKNOWN.
 */
export function nextHealth(current: ClusterHealth, outcome: Pick<IngestOutcome, 'heartbeat' | 'inventory' | 'inventoryChanged'>): ClusterHealth {
  if (!outcome.heartbeat && !outcome.inventoryChanged) {
    return current;
  }
  if (current === 'DISCONNECTED' && !outcome.heartbeat) {
    return current;
  }
  if (outcome.inventory) {
    return healthFromInventory(outcome.inventory);
  }
  return current === 'DISCONNECTED' ? 'UNKNOWN' : current;
}

/**
 * Whether ingesting these new items needs the stored inventory. Heartbeats (and policy items) are most of the traffic
 * and the snapshot can be megabytes, so it is read only when an inventory item arrives (a delta
 * needs its base) or a heartbeat may change the health: from the inventory's nodes, health only
 * changes with the inventory, except when the cluster is DISCONNECTED or UNKNOWN. Without it,
 * foldReportItems/nextHealth see no inventory and keep any other health as it is.
 */
export function needsStoredInventory(fresh: readonly Pick<ReportItem, 'kind'>[], health: ClusterHealth): boolean {
  if (fresh.some((item) => item.kind === 'inventory.snapshot' || item.kind === 'inventory.delta')) {
    return true;
  }
  return fresh.length > 0 && (health === 'DISCONNECTED' || health === 'UNKNOWN');
}
