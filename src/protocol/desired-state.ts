import { z } from 'zod';
import { count, documented } from './common';
import { AgentProtocolLimits as L } from './limits';

/** Lowercase hex SHA-256 of a bundle's wasm bytes: its name in GET /agent/v1/bundles/{sha256}. */
export const BundleSha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256 (64 characters)');

/** Query of GET /agent/v1/desired-state: the generation the agent runs (absent: it runs none). */
export const DesiredStateQuerySchema = z.object({
  generation: documented(
    z
      .string()
      .regex(/^(0|[1-9][0-9]{0,9})$/, 'must be a non-negative integer')
      .transform(Number)
      .pipe(z.number().int().min(0).max(L.maxSeq))
      .optional(),
    'The desired-state generation the agent runs; the API answers unchanged when it is the current one.',
  ),
});
export type DesiredStateQuery = z.infer<typeof DesiredStateQuerySchema>;

const LabelSelectorRequirementSchema = z.object({
  key: z.string().min(1),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(z.string()).optional(),
});
export const DesiredLabelSelectorSchema = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(LabelSelectorRequirementSchema).optional(),
});

/** Gatekeeper's spec.match, as the policy engine evaluates it. */
export const DesiredConstraintMatchSchema = z.object({
  kinds: z.array(z.object({ apiGroups: z.array(z.string()).optional(), kinds: z.array(z.string()).optional() })).optional(),
  namespaces: z.array(z.string()).optional(),
  excludedNamespaces: z.array(z.string()).optional(),
  labelSelector: DesiredLabelSelectorSchema.optional(),
  namespaceSelector: DesiredLabelSelectorSchema.optional(),
  scope: z.enum(['*', 'Cluster', 'Namespaced']).optional(),
  name: z.string().optional(),
});

/** One constraint the agent evaluates: the engine's ConstraintForEvaluation plus the assignment it comes from. */
export const DesiredConstraintSchema = z.object({
  assignmentId: documented(z.uuid(), 'The policy assignment this constraint is enforced for (the strongest one when several assign it); violations and decisions name it.'),
  name: documented(z.string().min(1).max(L.maxNameLength), 'Constraint name, unique in the desired state.'),
  kind: z.string().min(1).max(L.maxNameLength),
  bundleSha256: BundleSha256Schema,
  entrypoint: documented(z.string().min(1), 'What the bundle evaluates, e.g. k8sdisallowedtags/violation.'),
  parameters: z.record(z.string(), z.unknown()),
  enforcementAction: documented(z.enum(['deny', 'warn', 'dryrun']), "The assignment's action, else the constraint's."),
  match: DesiredConstraintMatchSchema.optional(),
});
export type DesiredConstraint = z.infer<typeof DesiredConstraintSchema>;

/** A kind a referential template reads from data.inventory ("" is the core group); the agent watches it. */
export const InventoryKindSchema = z.object({
  group: z.string().regex(/^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)?$/),
  version: z.string().regex(/^v[0-9a-z]{1,30}$/),
  kind: z.string().regex(/^[A-Z][A-Za-z0-9]{0,62}$/),
});
export type InventoryKind = z.infer<typeof InventoryKindSchema>;

export const AdmissionSettingsSchema = z.object({
  failurePolicy: documented(z.enum(['Ignore', 'Fail']), "What the apiserver does when the agent's webhook cannot answer (the cluster group's setting)."),
  timeoutSeconds: documented(z.number().int().min(1).max(30), 'How long the apiserver waits for the webhook.'),
});
export type AdmissionSettings = z.infer<typeof AdmissionSettingsSchema>;

export const DesiredStateUnchangedSchema = z.object({
  generation: count('The current generation, the one the agent asked with.'),
  unchanged: z.literal(true),
});

export const DesiredStateFullSchema = z.object({
  generation: count('The generation of this state; the agent acknowledges it in its heartbeats once it runs it.'),
  unchanged: z.literal(false),
  constraints: z.array(DesiredConstraintSchema).max(L.maxDesiredConstraints),
  bundles: documented(z.array(BundleSha256Schema).max(L.maxDesiredConstraints), 'Every bundle the constraints use, once each; fetched from GET /agent/v1/bundles/{sha256}.'),
  admission: AdmissionSettingsSchema,
  inventoryKinds: documented(
    z.array(InventoryKindSchema).max(64),
    "What the constraints' referential templates read from data.inventory (their versions' syncKinds), each once, sorted.",
  ),
});
export type DesiredStateFull = z.infer<typeof DesiredStateFullSchema>;

export const DesiredStateResponseSchema = z.discriminatedUnion('unchanged', [DesiredStateUnchangedSchema, DesiredStateFullSchema]);
export type DesiredStateResponse = z.infer<typeof DesiredStateResponseSchema>;

/** Media type of GET /agent/v1/bundles/{sha256}. */
export const BUNDLE_MEDIA_TYPE = 'application/wasm';
/** Bundles are immutable (named by their hash). */
export const BUNDLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** Why an agent does not run the newest desired state, as it reports it in heartbeats. */
export const DesiredStateErrorSchema = z.object({
  code: documented(
    z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Z][A-Z0-9_]*$/, 'must be an error code such as BUNDLE_HASH_MISMATCH'),
    'Stable code, e.g. BUNDLE_HASH_MISMATCH.',
  ),
  message: z.string().min(1).max(L.maxErrorMessageLength),
});
export type DesiredStateErrorReport = z.infer<typeof DesiredStateErrorSchema>;
