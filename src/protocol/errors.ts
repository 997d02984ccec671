import { z } from 'zod';
import { AgentProtocolLimits } from './limits';

/**
 * Stable error codes of the agent protocol. Every non-2xx response carries one of them in
 * `{ error: { code, message } }`; agents branch on the code, never on the message.
 */
export const AgentErrorCode = {
  /** The body is not JSON or does not match the schema; the message lists the field paths. */
  PROTOCOL_INVALID_BODY: 'PROTOCOL_INVALID_BODY',
  /** The body is larger than AgentProtocolLimits.maxBodyBytes. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A query or path parameter is malformed (a generation that is not a number, a sha256 that is not one). */
  PROTOCOL_INVALID_PARAMETER: 'PROTOCOL_INVALID_PARAMETER',
  /** The bundle is not in the requesting cluster's current desired state (or does not exist). */
  BUNDLE_NOT_FOUND: 'BUNDLE_NOT_FOUND',
  TOKEN_UNKNOWN: 'TOKEN_UNKNOWN',
  TOKEN_USED: 'TOKEN_USED',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  TOKEN_REVOKED: 'TOKEN_REVOKED',
  /** The cluster was attached before with another kube-system namespace UID. */
  CLUSTER_IDENTITY_MISMATCH: 'CLUSTER_IDENTITY_MISMATCH',
  CREDENTIAL_INVALID: 'CREDENTIAL_INVALID',
  CREDENTIAL_EXPIRED: 'CREDENTIAL_EXPIRED',
  CREDENTIAL_REVOKED: 'CREDENTIAL_REVOKED',
  /** The credential is valid but belongs to another cluster than the body's clusterId. */
  CREDENTIAL_WRONG_CLUSTER: 'CREDENTIAL_WRONG_CLUSTER',
  /** A policy report item names an assignment that is not one of the cluster's organization or does not reach the cluster; the batch is refused. */
  REPORT_ASSIGNMENT_REFUSED: 'REPORT_ASSIGNMENT_REFUSED',
  /** A policy report item names an object (by uid) that the API knows on another cluster; the batch is refused. */
  REPORT_OBJECT_OF_ANOTHER_CLUSTER: 'REPORT_OBJECT_OF_ANOTHER_CLUSTER',
  /** POST /detach/ack for a cluster that is not being detached (no DETACH was answered). */
  DETACH_NOT_REQUESTED: 'DETACH_NOT_REQUESTED',
  /** The cluster is being detached: its credential may only send reports (answered DETACH) and acknowledge. */
  CLUSTER_DETACHING: 'CLUSTER_DETACHING',
  /** Renewal is for expired credentials only; a valid credential rotates (POST /credentials/rotate). */
  CREDENTIAL_NOT_EXPIRED: 'CREDENTIAL_NOT_EXPIRED',
  /** The agent gave no renewal public key at registration: an expired credential can only be replaced by attaching again. */
  RENEWAL_NOT_ENROLLED: 'RENEWAL_NOT_ENROLLED',
  /** The renewal signature does not verify with the cluster's renewal public key. */
  RENEWAL_SIGNATURE_INVALID: 'RENEWAL_SIGNATURE_INVALID',
  /** The renewal's nonce was used before, or its signedAt is outside the accepted window: sign a fresh one. */
  RENEWAL_REPLAYED: 'RENEWAL_REPLAYED',
  /** Too many requests; the response carries Retry-After (seconds). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The API cannot serve right now (its database is saturated or unreachable); the response carries Retry-After (seconds). */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** Anything unexpected on the API side; agents retry with back-off. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];
export const AGENT_ERROR_CODES = Object.values(AgentErrorCode) as [AgentErrorCode, ...AgentErrorCode[]];

/** The HTTP status the API answers with for each code. */
export const AGENT_ERROR_HTTP_STATUS: Readonly<Record<AgentErrorCode, number>> = {
  PROTOCOL_INVALID_BODY: 400,
  PAYLOAD_TOO_LARGE: 413,
  PROTOCOL_INVALID_PARAMETER: 400,
  BUNDLE_NOT_FOUND: 404,
  TOKEN_UNKNOWN: 404,
  TOKEN_USED: 409,
  TOKEN_EXPIRED: 410,
  TOKEN_REVOKED: 410,
  CLUSTER_IDENTITY_MISMATCH: 409,
  CREDENTIAL_INVALID: 401,
  CREDENTIAL_EXPIRED: 401,
  CREDENTIAL_REVOKED: 401,
  CREDENTIAL_WRONG_CLUSTER: 403,
  REPORT_ASSIGNMENT_REFUSED: 422,
  REPORT_OBJECT_OF_ANOTHER_CLUSTER: 422,
  DETACH_NOT_REQUESTED: 409,
  CLUSTER_DETACHING: 409,
  CREDENTIAL_NOT_EXPIRED: 409,
  RENEWAL_NOT_ENROLLED: 409,
  RENEWAL_SIGNATURE_INVALID: 401,
  RENEWAL_REPLAYED: 409,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

const TOKEN_CODES: ReadonlySet<AgentErrorCode> = new Set(['TOKEN_UNKNOWN', 'TOKEN_USED', 'TOKEN_EXPIRED', 'TOKEN_REVOKED']);
const CREDENTIAL_CODES: ReadonlySet<AgentErrorCode> = new Set(['CREDENTIAL_INVALID', 'CREDENTIAL_EXPIRED', 'CREDENTIAL_REVOKED', 'CREDENTIAL_WRONG_CLUSTER']);

/** Codes after which retrying the same registration token cannot succeed. */
export function isTokenErrorCode(code: string): boolean {
  return TOKEN_CODES.has(code as AgentErrorCode);
}

/** Codes after which retrying with the same credential cannot succeed. */
export function isCredentialErrorCode(code: string): boolean {
  return CREDENTIAL_CODES.has(code as AgentErrorCode);
}

export function isAgentErrorCode(code: unknown): code is AgentErrorCode {
  return typeof code === 'string' && (AGENT_ERROR_CODES as string[]).includes(code);
}

export const AgentErrorCodeSchema = z.enum(AGENT_ERROR_CODES);

export const AgentErrorBodySchema = z.object({
  error: z.object({
    code: AgentErrorCodeSchema,
    /** One or more sentences for people; never contains secrets. */
    message: z.string().min(1).max(AgentProtocolLimits.maxErrorMessageLength),
  }),
});
export type AgentErrorBody = z.infer<typeof AgentErrorBodySchema>;

/** A protocol failure with its stable code; `toBody()` is the wire shape. */
export class AgentProtocolError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    /** Machine-readable details for logs and tests, e.g. the invalid field paths. Not sent on the wire. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AgentProtocolError';
  }

  get httpStatus(): number {
    return AGENT_ERROR_HTTP_STATUS[this.code];
  }

  toBody(): AgentErrorBody {
    const max = AgentProtocolLimits.maxErrorMessageLength;
    const message = this.message.length > max ? `${this.message.slice(0, max - 1)}…` : this.message;
    return { error: { code: this.code, message } };
  }
}
