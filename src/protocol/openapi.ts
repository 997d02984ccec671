import { z } from 'zod';
import { canonicalJson } from './canonical-json';
import { AgentVersionSchema, LabelsSchema, PROTOCOL_FIELD_DOCS, RegistrationTokenSchema, TimestampSchema } from './common';
import {
  AdmissionSettingsSchema,
  BUNDLE_CACHE_CONTROL,
  BUNDLE_MEDIA_TYPE,
  BundleSha256Schema,
  DesiredConstraintMatchSchema,
  DesiredConstraintSchema,
  DesiredLabelSelectorSchema,
  DesiredStateErrorSchema,
  DesiredStateFullSchema,
  DesiredStateResponseSchema,
  DesiredStateUnchangedSchema,
  InventoryKindSchema,
} from './desired-state';
import { AGENT_ERROR_HTTP_STATUS, AgentErrorBodySchema, type AgentErrorCode, AgentErrorCodeSchema } from './errors';
import {
  DistributionSchema,
  InventoryDeltaSchema,
  InventoryNamespaceSchema,
  InventoryNodeSchema,
  InventorySchema,
  InventoryWorkloadSchema,
  NodeConditionSchema,
  NodeResourcesSchema,
  PodCountsByPhaseSchema,
  ResourceTotalsSchema,
  WorkloadRefSchema,
} from './inventory';
import { AgentProtocolLimits } from './limits';
import { AGENT_MANIFESTS_MEDIA_TYPE, AGENT_PROTOCOL_VERSION, AgentPaths } from './paths';
import { DetachAckRequestSchema, DetachAckResponseSchema } from './detach';
import { RENEWAL_MAX_SKEW_SECONDS, RENEWAL_SIGNED_PREFIX, RenewCredentialRequestSchema } from './renewal';
import { REGISTRATION_REPEAT_WINDOW_SECONDS, RegisterRequestSchema, RegisterResponseSchema, RotateCredentialRequestSchema, RotateCredentialResponseSchema } from './register';
import {
  AdmissionSummaryEntrySchema,
  AdmissionSummaryItemSchema,
  AdmissionSummaryPayloadSchema,
  AuditResultItemSchema,
  AuditResultPayloadSchema,
  AuditViolationSchema,
  DirectiveSchema,
  HeartbeatItemSchema,
  HeartbeatPayloadSchema,
  InventoryDeltaItemSchema,
  InventorySnapshotItemSchema,
  ReportItemSchema,
  ReportsRequestSchema,
  ReportsResponseSchema,
} from './reports';

/** Where the committed document lives, relative to the repository root. */
export const AGENT_OPENAPI_DOCUMENT_PATH = 'docs/agent-protocol.openapi.json';

type JsonObject = Record<string, unknown>;

/** Named components; every use of these schemas becomes a $ref. */
const COMPONENTS: Array<[string, z.ZodType, string]> = [
  ['AgentErrorBody', AgentErrorBodySchema, 'Body of every non-2xx response.'],
  ['AgentErrorCode', AgentErrorCodeSchema, 'Stable error codes; agents branch on these, never on messages.'],
  ['Timestamp', TimestampSchema, 'RFC 3339 date-time with Z or an offset.'],
  ['AgentVersion', AgentVersionSchema, 'Version of the agent build.'],
  ['Labels', LabelsSchema, `Kubernetes labels, at most ${AgentProtocolLimits.maxLabelsPerObject} per object.`],
  ['RegisterRequest', RegisterRequestSchema, 'Registration of a cluster with its one-time token.'],
  ['RegisterResponse', RegisterResponseSchema, 'The per-cluster credential and the reporting intervals.'],
  ['RotateCredentialRequest', RotateCredentialRequestSchema, 'Request for a new credential.'],
  ['RotateCredentialResponse', RotateCredentialResponseSchema, 'The new credential.'],
  ['RenewCredentialRequest', RenewCredentialRequestSchema, 'Renewal of an expired credential, signed with the renewal key.'],
  ['DetachAckRequest', DetachAckRequestSchema, 'The agent acknowledges DETACH.'],
  ['DetachAckResponse', DetachAckResponseSchema, 'The cluster is DETACHED.'],
  ['ReportsRequest', ReportsRequestSchema, 'A batch of sequenced report items, ordered by seq.'],
  ['ReportsResponse', ReportsResponseSchema, 'Acknowledgement and directives.'],
  ['ReportItem', ReportItemSchema, 'One report item, discriminated by kind.'],
  ['HeartbeatItem', HeartbeatItemSchema, 'Liveness and queue health of the agent.'],
  ['HeartbeatPayload', HeartbeatPayloadSchema, 'Payload of a heartbeat item.'],
  ['InventorySnapshotItem', InventorySnapshotItemSchema, 'Full inventory; replaces all inventory the API holds for the cluster.'],
  ['InventoryDeltaItem', InventoryDeltaItemSchema, "Changes on top of the agent's previous inventory item."],
  ['AuditResultItem', AuditResultItemSchema, 'The full current set of violations of one constraint on the cluster (periodic audit of existing objects).'],
  ['AuditResultPayload', AuditResultPayloadSchema, 'Payload of an audit.result item.'],
  ['AuditViolation', AuditViolationSchema, 'An existing object that violates the constraint.'],
  ['AdmissionSummaryItem', AdmissionSummaryItemSchema, "The webhook's decisions of one window, aggregated."],
  ['AdmissionSummaryPayload', AdmissionSummaryPayloadSchema, 'Payload of an admission.summary item.'],
  ['AdmissionSummaryEntry', AdmissionSummaryEntrySchema, 'Decisions of one (constraint, action, namespace, kind).'],
  ['Inventory', InventorySchema, 'Full inventory of a cluster; lists unique and sorted by key.'],
  ['InventoryDelta', InventoryDeltaSchema, 'Present scalars replace the old value; present list sections apply deletions, then upserts (by key).'],
  ['InventoryNode', InventoryNodeSchema, 'A node; key: name.'],
  ['InventoryNamespace', InventoryNamespaceSchema, 'A namespace; key: name.'],
  ['InventoryWorkload', InventoryWorkloadSchema, 'A Deployment, StatefulSet or DaemonSet; key: kind/namespace/name.'],
  ['WorkloadRef', WorkloadRefSchema, 'Key of a workload.'],
  ['NodeCondition', NodeConditionSchema, 'A node condition without its heartbeat time.'],
  ['NodeResources', NodeResourcesSchema, 'CPU (millicores, rounded up), memory (MiB, rounded down) and pod slots.'],
  ['ResourceTotals', ResourceTotalsSchema, 'CPU in millicores and memory in MiB.'],
  ['PodCountsByPhase', PodCountsByPhaseSchema, 'Number of pods in each phase.'],
  ['Distribution', DistributionSchema, 'Kubernetes distribution detected from node labels, annotations and kubelet version.'],
  ['Directive', DirectiveSchema, 'An instruction from the API; agents ignore unknown types.'],
  ['DesiredStateResponse', DesiredStateResponseSchema, 'The desired state of the cluster, or unchanged when the agent runs the current generation.'],
  ['DesiredStateUnchanged', DesiredStateUnchangedSchema, 'The agent runs the current generation.'],
  ['DesiredStateFull', DesiredStateFullSchema, 'Everything the agent enforces: constraints, the bundles they use, admission settings.'],
  ['DesiredConstraint', DesiredConstraintSchema, 'A constraint as the policy engine evaluates it, with the assignment it is enforced for.'],
  ['DesiredConstraintMatch', DesiredConstraintMatchSchema, "Gatekeeper's spec.match, with the assignment's excluded namespaces and namespace selector merged in."],
  ['LabelSelector', DesiredLabelSelectorSchema, 'Kubernetes metav1.LabelSelector.'],
  ['AdmissionSettings', AdmissionSettingsSchema, "The webhook's failure policy and timeout (per cluster group)."],
  ['BundleSha256', BundleSha256Schema, 'Lowercase hex SHA-256 of the wasm bytes.'],
  ['InventoryKind', InventoryKindSchema, 'A group/version/kind the agent keeps in data.inventory.'],
  ['DesiredStateError', DesiredStateErrorSchema, 'Why the agent does not run the newest desired state.'],
];

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string) => ({ 'application/json': { schema: ref(id) } });

function inlineSchema(schema: z.ZodType): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as JsonObject;
  return rest;
}

/** JSON Schema keywords zod cannot derive from a refinement. */
const EXTRA_KEYWORDS = new Map<z.ZodType, JsonObject>([[LabelsSchema, { maxProperties: AgentProtocolLimits.maxLabelsPerObject }]]);

function componentSchemas(): Record<string, JsonObject> {
  const registry = z.registry<{ id?: string; description: string }>();
  for (const [schema, description] of PROTOCOL_FIELD_DOCS) {
    registry.add(schema, { description });
  }
  for (const [id, schema, description] of COMPONENTS) {
    registry.add(schema, { id, description, ...EXTRA_KEYWORDS.get(schema) });
  }
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    metadata: registry,
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, JsonObject> };
  const out: Record<string, JsonObject> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    // OpenAPI 3.1 sets the dialect once for the document; the ids are the component names.
    const { $schema: _dialect, $id: _id, ...rest } = schema;
    out[id] = rest;
  }
  return out;
}

/** Error responses of an operation, grouped by HTTP status. */
function errorResponses(codes: AgentErrorCode[]): Record<string, JsonObject> {
  const byStatus = new Map<number, AgentErrorCode[]>();
  for (const code of codes) {
    const status = AGENT_ERROR_HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, JsonObject> = {};
  for (const [status, group] of byStatus) {
    out[String(status)] = { description: `error.code: ${group.join(', ')}`, content: json('AgentErrorBody') };
  }
  return out;
}

const TOKEN_ERRORS: AgentErrorCode[] = ['TOKEN_UNKNOWN', 'TOKEN_USED', 'TOKEN_EXPIRED', 'TOKEN_REVOKED'];
const BODY_ERRORS: AgentErrorCode[] = ['PROTOCOL_INVALID_BODY', 'PAYLOAD_TOO_LARGE'];
const CREDENTIAL_ERRORS: AgentErrorCode[] = ['CREDENTIAL_INVALID', 'CREDENTIAL_EXPIRED', 'CREDENTIAL_REVOKED', 'CREDENTIAL_WRONG_CLUSTER'];
const ALWAYS: AgentErrorCode[] = ['RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR'];

const DESCRIPTION = [
  'HTTP protocol between the Farpoint agent (inside an edge cluster, outbound connections only) and the Farpoint API.',
  '',
  `Conventions: JSON bodies of at most ${AgentProtocolLimits.maxBodyBytes} bytes for reports and ${AgentProtocolLimits.maxSmallBodyBytes} bytes elsewhere; readers ignore unknown fields;`,
  'every non-2xx response has the body AgentErrorBody with a stable code; 429 and 5xx carry an optional',
  'Retry-After (seconds) and are retried by the agent with jittered exponential back-off; every response carries',
  'an HTTP Date header, from which the agent estimates its clock skew.',
  '',
  'Credentials: the agent stores a credential in its Secret before it uses it. After a rotation the previous',
  'credential stays valid until the new one is used for the first time or the previous one expires, whichever',
  'comes first, so an agent that crashed before storing the new credential can still rotate again.',
  '',
  'Reports: items carry a per-agent sequence number (seq) that only grows; gaps are allowed (the agent drops the',
  'oldest heartbeats when its queue is full). The API stores items with seq > its last ackedSeq in order, ignores',
  'the others as duplicates, and answers the new ackedSeq (also when it stored nothing). The agent reserves seq',
  'blocks in its Secret, so losing its queue file never makes it reuse a seq; should the API still answer an',
  'ackedSeq at or above the next seq the agent would assign, the agent renumbers its pending items above',
  'ackedSeq and sends them again.',
  'Inventory: an inventory.delta applies to the inventory as of the preceding inventory item. When the API has no',
  'base for a delta it answers the directive SEND_SNAPSHOT and the agent sends a full snapshot.',
  '',
  'Desired state: the agent polls GET /agent/v1/desired-state with the generation it runs, fetches the bundles it',
  'lacks by sha256, verifies every hash (one wrong hash refuses the whole state; the previous one keeps running),',
  'writes the state to disk atomically and enforces it; its heartbeats carry the generation it runs and, when the',
  'newest one failed, why (desiredStateGeneration, desiredStateError).',
].join('\n');

/** The OpenAPI 3.1 document of agent protocol v1, generated from the zod schemas. */
export function buildAgentOpenApiDocument(): JsonObject {
  const bearer = [{ agentCredential: [] }];
  return {
    openapi: '3.1.0',
    info: { title: 'Farpoint agent protocol', version: AGENT_PROTOCOL_VERSION, description: DESCRIPTION },
    paths: {
      [AgentPaths.manifestsTemplate]: {
        get: {
          operationId: 'getAgentManifests',
          summary: 'Install manifests of a pending cluster (for kubectl apply -f <url>)',
          description: 'Does not consume the token; registration does.',
          parameters: [{ name: 'token', in: 'path', required: true, schema: inlineSchema(RegistrationTokenSchema) }],
          responses: {
            '200': {
              description: 'Multi-document YAML: namespace, RBAC, Secret, ConfigMap, Deployment.',
              content: { [AGENT_MANIFESTS_MEDIA_TYPE]: { schema: { type: 'string' } } },
            },
            ...errorResponses([...TOKEN_ERRORS, ...ALWAYS]),
          },
        },
      },
      [AgentPaths.register]: {
        post: {
          operationId: 'registerAgent',
          summary: 'Exchange the one-time token and the cluster identity for a per-cluster credential',
          description: [
            'clusterUid is the metadata.uid of the kube-system namespace.',
            'Repeating the call with the same token, clusterUid and installationSecret before the issued credential',
            `was first used and within ${REGISTRATION_REPEAT_WINDOW_SECONDS / 60} minutes of the first registration`,
            'returns the same clusterId and a new credential (the agent may have crashed before storing the first)',
            'and revokes the earlier one. Anything else with a used token gets TOKEN_USED; a repeat with a missing or',
            'wrong installationSecret is also recorded as a SECURITY event.',
          ].join(' '),
          requestBody: { required: true, content: json('RegisterRequest') },
          responses: {
            '200': { description: 'Registered.', content: json('RegisterResponse') },
            ...errorResponses([...BODY_ERRORS, ...TOKEN_ERRORS, 'CLUSTER_IDENTITY_MISMATCH', ...ALWAYS]),
          },
        },
      },
      [AgentPaths.rotateCredential]: {
        post: {
          operationId: 'rotateAgentCredential',
          summary: 'Replace the credential before it expires',
          description: 'The agent rotates at two thirds of the credential lifetime.',
          security: bearer,
          requestBody: { required: true, content: json('RotateCredentialRequest') },
          responses: {
            '200': { description: 'The new credential.', content: json('RotateCredentialResponse') },
            ...errorResponses([...BODY_ERRORS, ...CREDENTIAL_ERRORS, 'CLUSTER_DETACHING', ...ALWAYS]),
          },
        },
      },
      [AgentPaths.renewCredential]: {
        post: {
          operationId: 'renewAgentCredential',
          summary: 'Replace an expired credential (the agent was offline longer than its lifetime) without attaching again',
          description: [
            'The bearer is the expired, unrevoked credential; a valid one is CREDENTIAL_NOT_EXPIRED (rotate instead).',
            'signature is the Ed25519 signature, with the private key whose public key the agent sent at registration',
            `(renewalPublicKey), of the UTF-8 lines "${RENEWAL_SIGNED_PREFIX}", clusterId, the hex SHA-256 of the bearer credential,`,
            `nonce and signedAt, joined by "\\n". signedAt must be within ${RENEWAL_MAX_SKEW_SECONDS} s of the API clock and each nonce is`,
            'answered once (RENEWAL_REPLAYED). The new credential works like a rotated one: the expired one is revoked at its',
            'first use, and until then a renewal with a fresh nonce replaces an answer that was lost. DETACHED clusters and',
            'revoked credentials cannot renew.',
          ].join(' '),
          security: bearer,
          requestBody: { required: true, content: json('RenewCredentialRequest') },
          responses: {
            '200': { description: 'The new credential.', content: json('RotateCredentialResponse') },
            ...errorResponses([
              ...BODY_ERRORS,
              'CREDENTIAL_INVALID',
              'CREDENTIAL_REVOKED',
              'CREDENTIAL_WRONG_CLUSTER',
              'CREDENTIAL_NOT_EXPIRED',
              'RENEWAL_NOT_ENROLLED',
              'RENEWAL_SIGNATURE_INVALID',
              'RENEWAL_REPLAYED',
              ...ALWAYS,
            ]),
          },
        },
      },
      [AgentPaths.detachAck]: {
        post: {
          operationId: 'acknowledgeDetach',
          summary: 'Acknowledge DETACH: the cluster becomes DETACHED and all its credentials are revoked',
          description: [
            'Reports of a DETACHING cluster are answered DETACH until this call, so a lost answer is heard again.',
            'The agent calls it after removing its webhook configuration and cluster role binding, before deleting its',
            'namespace. While DETACHING, rotation is refused (CLUSTER_DETACHING). A repeated acknowledgement whose first',
            'answer was lost gets CREDENTIAL_REVOKED: the detach is complete either way.',
          ].join(' '),
          security: bearer,
          requestBody: { required: true, content: json('DetachAckRequest') },
          responses: {
            '200': { description: 'Detached.', content: json('DetachAckResponse') },
            ...errorResponses([...BODY_ERRORS, ...CREDENTIAL_ERRORS, 'DETACH_NOT_REQUESTED', ...ALWAYS]),
          },
        },
      },
      [AgentPaths.desiredState]: {
        get: {
          operationId: 'getDesiredState',
          summary: "The cluster's desired state, or unchanged when the agent already runs the current generation",
          description:
            'Answered from one indexed read when the generation is the current one. The constraints are those of the assignments in effect on the cluster; a constraint assigned several times appears once, with the strongest action (deny > warn > dryrun; a tie goes to the most specific scope) and that assignment id.',
          security: bearer,
          parameters: [{ name: 'generation', in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: AgentProtocolLimits.maxSeq } }],
          responses: {
            '200': { description: 'The state, or unchanged.', content: json('DesiredStateResponse') },
            ...errorResponses(['PROTOCOL_INVALID_PARAMETER', ...CREDENTIAL_ERRORS, ...ALWAYS]),
          },
        },
      },
      [AgentPaths.bundleTemplate]: {
        get: {
          operationId: 'getBundle',
          summary: "The wasm bytes of a bundle in the cluster's current desired state",
          description: `Immutable: Cache-Control "${BUNDLE_CACHE_CONTROL}", ETag the sha256. A bundle not in the requesting cluster's current desired state is BUNDLE_NOT_FOUND, whoever else uses it.`,
          security: bearer,
          parameters: [{ name: 'sha256', in: 'path', required: true, schema: ref('BundleSha256') }],
          responses: {
            '200': { description: 'The policy.wasm bytes opa built.', content: { [BUNDLE_MEDIA_TYPE]: { schema: { type: 'string', contentMediaType: BUNDLE_MEDIA_TYPE } } } },
            ...errorResponses(['PROTOCOL_INVALID_PARAMETER', 'BUNDLE_NOT_FOUND', ...CREDENTIAL_ERRORS, ...ALWAYS]),
          },
        },
      },
      [AgentPaths.reports]: {
        post: {
          operationId: 'postAgentReports',
          summary: 'Deliver a batch of sequenced report items; answers the acknowledged seq and directives',
          description: `At most ${AgentProtocolLimits.maxItemsPerBatch} items per batch. Also serves as the heartbeat channel.`,
          security: bearer,
          requestBody: { required: true, content: json('ReportsRequest') },
          responses: {
            '200': { description: 'Stored up to ackedSeq.', content: json('ReportsResponse') },
            ...errorResponses([...BODY_ERRORS, ...CREDENTIAL_ERRORS, 'REPORT_ASSIGNMENT_REFUSED', 'REPORT_OBJECT_OF_ANOTHER_CLUSTER', ...ALWAYS]),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        agentCredential: {
          type: 'http',
          scheme: 'bearer',
          description: 'The per-cluster credential from register or rotate.',
        },
      },
      schemas: componentSchemas(),
    },
  };
}

/** The document as committed: sorted keys, two-space indent, trailing newline. */
export function serializeAgentOpenApiDocument(document: JsonObject = buildAgentOpenApiDocument()): string {
  return `${canonicalJson(document, 2)}\n`;
}
