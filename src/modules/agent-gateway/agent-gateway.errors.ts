import { SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../common/errors/farpoint-error';
import { AgentErrorCode, AgentProtocolError } from '../../protocol';

/**
 * The gateway's refusals, one sentence each, in the protocol's error type (AgentProtocolError with a
 * stable AgentErrorCode; the filter turns it into `{ error: { code, message } }` with its HTTP status).
 * Messages never contain secrets: no token, no credential, not even a prefix of one.
 */
export const AgentGatewayErrors = {
  tokenUnknown: () =>
    new AgentProtocolError(
      AgentErrorCode.TOKEN_UNKNOWN,
      'This registration token is not known to Farpoint. Copy the install command again from the cluster page, or create a new registration link.',
    ),
  tokenUsed: () =>
    new AgentProtocolError(
      AgentErrorCode.TOKEN_USED,
      'This registration token has already been used by an agent. Each token registers one agent once; create a new registration link to attach again.',
    ),
  tokenExpired: (expiresAt: Date) =>
    new AgentProtocolError(AgentErrorCode.TOKEN_EXPIRED, `This registration token expired at ${expiresAt.toISOString()}. Create a new registration link for the cluster.`),
  tokenRevoked: () =>
    new AgentProtocolError(
      AgentErrorCode.TOKEN_REVOKED,
      'This registration token was revoked (a newer link was issued, or the cluster is being detached). Use the newest registration link of the cluster.',
    ),
  clusterNotRegistrable: (phase: string) =>
    new AgentProtocolError(
      AgentErrorCode.TOKEN_REVOKED,
      `The cluster is ${phase} and no longer accepts agent registrations with this token. Create a new registration link if it should be attached again.`,
    ),
  identityMismatch: () =>
    new AgentProtocolError(
      AgentErrorCode.CLUSTER_IDENTITY_MISMATCH,
      'This Farpoint cluster was attached before from a different Kubernetes cluster (another kube-system namespace UID). Install the agent into the original cluster, or detach this cluster and attach the new one separately.',
    ),
  credentialMissing: () => new AgentProtocolError(AgentErrorCode.CREDENTIAL_INVALID, 'Send the agent credential as "Authorization: Bearer <credential>".'),
  credentialInvalid: () => new AgentProtocolError(AgentErrorCode.CREDENTIAL_INVALID, 'This agent credential is not valid. The agent must be attached again.'),
  credentialExpired: (expiresAt: Date) =>
    new AgentProtocolError(
      AgentErrorCode.CREDENTIAL_EXPIRED,
      `This agent credential expired at ${expiresAt.toISOString()} before it was rotated. The agent must be attached again.`,
    ),
  credentialRevoked: () =>
    new AgentProtocolError(AgentErrorCode.CREDENTIAL_REVOKED, 'This agent credential was revoked (it was replaced by a rotated credential, or the cluster was detached).'),
  clusterDetached: () => new AgentProtocolError(AgentErrorCode.CREDENTIAL_REVOKED, 'The cluster has been detached from Farpoint; its agent credentials are revoked.'),
  clusterDetaching: () =>
    new AgentProtocolError(
      AgentErrorCode.CLUSTER_DETACHING,
      'The cluster is being detached: its agent may only send reports (answered DETACH) and acknowledge the detach (POST /agent/v1/detach/ack).',
    ),
  detachNotRequested: (phase: string) =>
    new AgentProtocolError(AgentErrorCode.DETACH_NOT_REQUESTED, `The cluster is ${phase}, not being detached: there is no DETACH to acknowledge.`),
  credentialNotExpired: (expiresAt: Date) =>
    new AgentProtocolError(
      AgentErrorCode.CREDENTIAL_NOT_EXPIRED,
      `This agent credential is valid until ${expiresAt.toISOString()}: renewal is for expired credentials only; rotate it (POST /agent/v1/credentials/rotate).`,
    ),
  renewalNotEnrolled: () =>
    new AgentProtocolError(
      AgentErrorCode.RENEWAL_NOT_ENROLLED,
      'The agent of this cluster registered without a renewal public key, so its expired credential cannot be renewed. Attach the cluster again.',
    ),
  renewalSignatureInvalid: () =>
    new AgentProtocolError(AgentErrorCode.RENEWAL_SIGNATURE_INVALID, "The renewal signature does not verify with this cluster's renewal public key; the attempt was recorded."),
  renewalReplayed: () =>
    new AgentProtocolError(
      AgentErrorCode.RENEWAL_REPLAYED,
      'This renewal was answered before (its nonce is used) or was signed too long ago; sign a new one with a fresh nonce and the current time.',
    ),
  wrongCluster: () =>
    new AgentProtocolError(
      AgentErrorCode.CREDENTIAL_WRONG_CLUSTER,
      'This agent credential belongs to another cluster than the clusterId in the request. A credential is valid for its own cluster only.',
    ),
  invalidParameter: (name: string, problem: string) => new AgentProtocolError(AgentErrorCode.PROTOCOL_INVALID_PARAMETER, `The ${name} parameter ${problem}.`, { parameter: name }),
  bundleNotFound: () =>
    new AgentProtocolError(
      AgentErrorCode.BUNDLE_NOT_FOUND,
      "This bundle is not in the cluster's current desired state. Fetch the desired state again and download the bundles it lists.",
    ),
  serviceUnavailable: () =>
    new AgentProtocolError(
      AgentErrorCode.SERVICE_UNAVAILABLE,
      `The Farpoint API cannot serve this right now: its database is busy or unreachable. Retry after ${SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS} s.`,
      { retryAfterSeconds: SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS },
    ),
  internal: () => new AgentProtocolError(AgentErrorCode.INTERNAL_ERROR, 'The Farpoint API failed to handle this request. Retry later; the failure has been logged.'),
} as const;
