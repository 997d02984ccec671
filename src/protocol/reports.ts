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

export const PolicyActionSchema = documented(z.enum(['DENY', 'WARN', 'DRYRUN']), 'The enforcement action of the constraint as the agent runs it.');

export const AuditViolationSchema = z.object({
  kind: z.string().min(1).max(L.maxKindLength),
  apiGroup: documented(z.string().max(L.maxKindLength), '"" for the core group.'),
  namespace: documented(z.string().max(L.maxNamespaceNameLength), '"" for a cluster-scoped object.'),
  name: z.string().min(1).max(L.maxNameLength),
  uid: documented(z.string().min(1).max(L.maxNameLength).optional(), 'metadata.uid; the API keys a violation by it, else by kind/namespace/name.'),
  message: z.string().min(1).max(L.maxMessageLength),
  action: PolicyActionSchema,
});
export type AuditViolation = z.infer<typeof AuditViolationSchema>;

export const AuditResultPayloadSchema = z
  .object({
    assignmentId: documented(z.uuid(), 'The PolicyAssignment the constraint comes from (desired state).'),
    generation: count('Desired-state generation the audit ran with; an older generation than the last one stored is ignored.'),
    complete: documented(
      z.boolean(),
      'True when every kind the constraint matches was listed; then the API resolves the open violations not in the set. False (a kind was forbidden or unknown): the set is added, nothing is resolved.',
    ),
    totalViolations: count('Every violation found, also those beyond the list.'),
    violations: documented(
      z.array(AuditViolationSchema).max(L.maxAuditViolationsPerItem),
      `The current violations, sorted by namespace, kind and name, at most ${L.maxAuditViolationsPerItem}. When totalViolations is larger, the list is cut and the API resolves nothing.`,
    ),
  })
  .refine((p) => p.totalViolations >= p.violations.length, { message: 'totalViolations must count at least the listed violations', path: ['totalViolations'] });
export type AuditResultPayload = z.infer<typeof AuditResultPayloadSchema>;

export const AdmissionSummaryEntrySchema = z.object({
  assignmentId: documented(z.uuid().optional(), 'The PolicyAssignment of the constraint, when the desired state names it.'),
  constraint: z.string().min(1).max(L.maxNameLength),
  action: PolicyActionSchema,
  namespace: documented(z.string().max(L.maxNamespaceNameLength), '"" for cluster-scoped objects.'),
  kind: z.string().min(1).max(L.maxKindLength),
  count: documented(z.number().int().min(1), 'Decisions in the window: refusals (DENY), warnings (WARN) or would-be refusals (DRYRUN).'),
  samples: documented(z.array(z.string().min(1).max(L.maxNameLength)).max(L.maxAdmissionSamples), `Up to ${L.maxAdmissionSamples} object names.`),
});
export type AdmissionSummaryEntry = z.infer<typeof AdmissionSummaryEntrySchema>;

export const AdmissionSummaryPayloadSchema = z.object({
  windowStart: TimestampSchema,
  windowEnd: TimestampSchema,
  entries: z.array(AdmissionSummaryEntrySchema).min(1).max(L.maxAdmissionSummaryEntries),
  droppedEntries: count('Decisions of entries beyond the limit, counted but not listed.'),
});
export type AdmissionSummaryPayload = z.infer<typeof AdmissionSummaryPayloadSchema>;

/** The full current set of violations of one constraint on the cluster, from a periodic audit of existing objects. */
export const AuditResultItemSchema = z.object({ ...itemBase, kind: z.literal('audit.result'), payload: AuditResultPayloadSchema });
/** The webhook's decisions of one window, counted per (constraint, action, namespace, kind). */
export const AdmissionSummaryItemSchema = z.object({ ...itemBase, kind: z.literal('admission.summary'), payload: AdmissionSummaryPayloadSchema });

/**
 * Item kinds of protocol v1. Later kinds (e.g. `desired-state.applied`) are added to this union; the API is upgraded before agents use them.
 */
export const ReportItemSchema = z.discriminatedUnion('kind', [
  HeartbeatItemSchema,
  InventorySnapshotItemSchema,
  InventoryDeltaItemSchema,
  AuditResultItemSchema,
  AdmissionSummaryItemSchema,
]);
export type ReportItem = z.infer<typeof ReportItemSchema>;
export type ReportItemKind = ReportItem['kind'];
export type ReportItemOf<K extends ReportItemKind> = Extract<ReportItem, { kind: K }>;
export type ReportPayloadOf<K extends ReportItemKind> = ReportItemOf<K>['payload'];
export const REPORT_ITEM_KINDS = ['heartbeat', 'inventory.snapshot', 'inventory.delta', 'audit.result', 'admission.summary'] as const satisfies readonly ReportItemKind[];

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
