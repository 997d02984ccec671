/** Agent protocol version and HTTP paths. The version is part of every path. */
export const AGENT_PROTOCOL_VERSION = 'v1';
export const AGENT_API_BASE_PATH = `/agent/${AGENT_PROTOCOL_VERSION}`;

export const AgentPaths = {
  /** GET, path template as in the OpenAPI document. */
  manifestsTemplate: `${AGENT_API_BASE_PATH}/manifests/{token}.yaml`,
  manifests: (token: string): string => `${AGENT_API_BASE_PATH}/manifests/${encodeURIComponent(token)}.yaml`,
  register: `${AGENT_API_BASE_PATH}/register`,
  rotateCredential: `${AGENT_API_BASE_PATH}/credentials/rotate`,
  /** POST with an expired credential and a signature of the renewal key (renewal.ts). */
  renewCredential: `${AGENT_API_BASE_PATH}/credentials/renew`,
  reports: `${AGENT_API_BASE_PATH}/reports`,
  /** POST: the agent heard DETACH and removed what needs cluster-wide permissions. */
  detachAck: `${AGENT_API_BASE_PATH}/detach/ack`,
  /** GET, with ?generation=N. */
  desiredState: `${AGENT_API_BASE_PATH}/desired-state`,
  /** GET, path template as in the OpenAPI document. */
  bundleTemplate: `${AGENT_API_BASE_PATH}/bundles/{sha256}`,
  bundle: (sha256: string): string => `${AGENT_API_BASE_PATH}/bundles/${encodeURIComponent(sha256)}`,
} as const;

/** Media type of the install manifests (multi-document YAML). */
export const AGENT_MANIFESTS_MEDIA_TYPE = 'application/yaml';
