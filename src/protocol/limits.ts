/**
 * Size limits of agent protocol v1. Both sides enforce them: the API rejects larger input with
 * PAYLOAD_TOO_LARGE or PROTOCOL_INVALID_BODY, and the agent never builds a request that breaks them.
 * Raising a limit is backwards compatible for the API; lowering one is a breaking change.
 */
export const AgentProtocolLimits = {
  /** Largest request body the API accepts, in bytes of UTF-8 JSON (8 MiB). */
  maxBodyBytes: 8 * 1024 * 1024,
  /**
   * Largest body of every other endpoint (register, credential rotation: a token, a UID, a version),
   * so anonymous callers cannot make the API buffer and parse megabytes.
   */
  maxSmallBodyBytes: 16 * 1024,
  /** Most report items in one POST /agent/v1/reports. */
  maxItemsPerBatch: 500,
  /** Most directives in one reports response. */
  maxDirectives: 16,
  /** Kinds named in a heartbeat's droppedByKind. */
  maxDroppedKinds: 32,
  /** Largest seq (and ackedSeq): a signed 32-bit integer, so the API can store it as a Postgres integer. */
  maxSeq: 2_147_483_647,

  /** Most constraints (and bundles) in one desired state. */
  maxDesiredConstraints: 2_000,
  /** Violations listed in one audit.result; `totalViolations` still counts every one. */
  maxAuditViolationsPerItem: 100,
  /** (constraint, action, namespace, kind) entries in one admission.summary; the rest are counted in droppedEntries. */
  maxAdmissionSummaryEntries: 200,
  /** Sample object names per admission.summary entry. */
  maxAdmissionSamples: 5,
  /** Kubernetes kind and API group names in violations and admission summaries. */
  maxKindLength: 253,

  maxNodes: 2_000,
  maxNamespaces: 10_000,
  maxWorkloads: 20_000,
  /** Labels kept per object; the agent keeps the first ones in key order and drops the rest. */
  maxLabelsPerObject: 64,
  maxRolesPerNode: 16,
  maxConditionsPerNode: 32,

  /** Kubernetes DNS-subdomain names (nodes, workloads). */
  maxNameLength: 253,
  /** Kubernetes DNS-label names (namespaces). */
  maxNamespaceNameLength: 63,
  /** Optional 253-character prefix, a slash and a 63-character name. */
  maxLabelKeyLength: 317,
  maxLabelValueLength: 63,
  maxVersionLength: 64,
  maxReasonLength: 256,
  maxMessageLength: 1_024,
  maxErrorMessageLength: 2_048,
  minSecretLength: 16,
  maxSecretLength: 512,
} as const;

/** Shorthand for the most quoted limit. */
export const AGENT_MAX_BODY_BYTES = AgentProtocolLimits.maxBodyBytes;
export const AGENT_MAX_ITEMS_PER_BATCH = AgentProtocolLimits.maxItemsPerBatch;
