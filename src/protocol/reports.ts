import { z } from 'zod';
import { AgentVersionSchema, ClusterIdSchema, count, CountSchema, documented, TimestampSchema } from './common';
import { DesiredStateErrorSchema } from './desired-state';
import { InventoryDeltaSchema, InventorySchema } from './inventory';
import { AgentProtocolLimits as L } from './limits';

export const SeqSchema = documented(z.number().int().min(1).max(L.maxSeq), 'Sequence number of the item: strictly increasing per cluster, gaps allowed, at most 2^31-1.');

export const HeartbeatPayloadSchema = z.object({
  startedAt: documented(z.iso.datetime({ offset: true }), 'When the agent process started; a new value means a restart.'),
  queueDepth: count('Items in the agent queue when this heartbeat was queued, including it.'),
  droppedItemCount: count('Items the bounded queue dropped since its directory was created (all kinds, see droppedByKind).'),
  inventorySynced: documented(z.boolean(), 'True once every informer has listed the cluster at least once.'),
  droppedByKind: documented(
    z
      .record(z.string().regex(/^[a-z][a-z0-9.-]{0,62}$/, 'must be a report item kind'), CountSchema)
      .refine((counts) => Object.keys(counts).length <= L.maxDroppedKinds, { message: `must name at most ${L.maxDroppedKinds} kinds` })
      .optional(),
    'Exact count per item kind of the items the bounded queue dropped since its directory was created (over its bounds, or refused ' +
      'by the API); kinds never dropped are absent. When full it drops: heartbeats but the newest, then every inventory delta (the ' +
      'next inventory item is a snapshot), then admission summaries, then audit results, then anything else oldest first; never ' +
      'the newest inventory snapshot. Sent by agents with the durable segmented queue.',
  ),
  oldestQueuedAt: documented(
    z.iso.datetime({ offset: true }).optional(),
    'observedAt (agent clock) of the oldest undelivered item when this heartbeat was queued; absent when the queue held nothing else.',
  ),
  desiredStateGeneration: documented(z.number().int().min(0).max(L.maxSeq).optional(), 'The desired-state generation the agent enforces (absent: admission off, or no state yet).'),
  desiredStateError: documented(
    DesiredStateErrorSchema.nullable().optional(),
    'Why the agent does not run the newest desired state it fetched (a bundle with a wrong hash, say); null once it runs it.',
  ),
});
export type HeartbeatPayload = z.infer<typeof HeartbeatPayloadSchema>;

const itemBase = {
  seq: SeqSchema,
  /** When the agent observed what the item reports, by its clock. */
  observedAt: TimestampSchema,
};

export const HeartbeatItemSchema = z.object({ ...itemBase, kind: z.literal('heartbeat'), payload: HeartbeatPayloadSchema });
/** A full inventory; replaces everything the API knew about the cluster's inventory. */
export const InventorySnapshotItemSchema = z.object({
  ...itemBase,
  kind: z.literal('inventory.snapshot'),
  payload: InventorySchema,
});
/** Changes on top of the inventory as of the agent's previous inventory item. */
export const InventoryDeltaItemSchema = z.object({
  ...itemBase,
  kind: z.literal('inventory.delta'),
  payload: InventoryDeltaSchema,
});

/**
 * Item kinds of protocol v1. Later kinds (e.g. `violation`, `admission.decision`,
 * `desired-state.applied`) are added to this union; the API is upgraded before agents use them.
 */
export const ReportItemSchema = z.discriminatedUnion('kind', [HeartbeatItemSchema, InventorySnapshotItemSchema, InventoryDeltaItemSchema]);
export type ReportItem = z.infer<typeof ReportItemSchema>;
export type ReportItemKind = ReportItem['kind'];
export type ReportItemOf<K extends ReportItemKind> = Extract<ReportItem, { kind: K }>;
export type ReportPayloadOf<K extends ReportItemKind> = ReportItemOf<K>['payload'];
export const REPORT_ITEM_KINDS = ['heartbeat', 'inventory.snapshot', 'inventory.delta'] as const satisfies readonly ReportItemKind[];

export const ReportsRequestSchema = z
  .object({
    clusterId: ClusterIdSchema,
    agentVersion: AgentVersionSchema,
    sentAt: documented(z.iso.datetime({ offset: true }), 'When the agent sent the batch, by its clock.'),
    /** Ordered by strictly increasing seq. */
    items: z.array(ReportItemSchema).min(1).max(L.maxItemsPerBatch),
  })
  .superRefine((body, ctx) => {
    for (let i = 1; i < body.items.length; i++) {
      if (body.items[i].seq <= body.items[i - 1].seq) {
        ctx.addIssue({ code: 'custom', path: ['items', i, 'seq'], message: 'must be greater than the previous item seq' });
      }
    }
  });
export type ReportsRequest = z.infer<typeof ReportsRequestSchema>;

export const DetachDirectiveSchema = z.object({ type: z.literal('DETACH') });
export const SendSnapshotDirectiveSchema = z.object({ type: z.literal('SEND_SNAPSHOT') });

/** Instructions from the API in a reports response. Agents ignore types they do not know. */
export const DirectiveSchema = z.discriminatedUnion('type', [DetachDirectiveSchema, SendSnapshotDirectiveSchema]);
export type Directive = z.infer<typeof DirectiveSchema>;
export type DirectiveType = Directive['type'];
export const DIRECTIVE_TYPES = ['DETACH', 'SEND_SNAPSHOT'] as const satisfies readonly DirectiveType[];

export const ReportsResponseSchema = z.object({
  ackedSeq: documented(
    z.number().int().min(0).max(L.maxSeq),
    'Highest seq the API has durably stored for this cluster (0 when none). The agent deletes every queued ' +
      'item with seq <= ackedSeq. Items at or below the previous ackedSeq are duplicates and are ignored.',
  ),
  directives: z.array(DirectiveSchema).max(L.maxDirectives),
});
export type ReportsResponse = z.infer<typeof ReportsResponseSchema>;
