/**
 * Names of the objects the install manifests create. The agent and the manifests share them:
 * RBAC grants by these names, and the agent reads, writes and deletes exactly these objects.
 */
export const AgentObjectNames = {
  namespace: 'farpoint-system',
  serviceAccount: 'farpoint-agent',
  clusterRole: 'farpoint-agent',
  clusterRoleBinding: 'farpoint-agent',
  role: 'farpoint-agent',
  roleBinding: 'farpoint-agent',
  secret: 'farpoint-agent',
  configMap: 'farpoint-agent-config',
  validatingWebhookConfiguration: 'farpoint-agent',
  deployment: 'farpoint-agent',
  container: 'agent',
  /** Only with the persistentVolumeClaim state volume. */
  stateClaim: 'farpoint-agent-state',
} as const;

/** Keys of the agent Secret. Only the agent writes the credential keys. */
export const AgentSecretKeys = {
  registrationToken: 'registration-token',
  /**
   * Random value the agent stores before its first registration and sends with it: a repeated
   * registration must present it, so a leaked token and cluster UID cannot take the agent's place.
   */
  installationSecret: 'installation-secret',
  /**
   * Ed25519 private key (base64url PKCS#8 DER) the agent creates before its first registration; the
   * API holds the public key and accepts a renewal of an expired credential signed with it.
   */
  renewalPrivateKey: 'renewal-private-key',
  clusterId: 'cluster-id',
  credential: 'credential',
  credentialExpiresAt: 'credential-expires-at',
  /** When the API issued the credential, by the API's clock (from the HTTP Date header). */
  credentialIssuedAt: 'credential-issued-at',
  heartbeatIntervalSeconds: 'heartbeat-interval-seconds',
  reportIntervalSeconds: 'report-interval-seconds',
  /** Report seqs below this are reserved (possibly used): a queue that lost its file starts here. */
  seqReservedUntil: 'seq-reserved-until',
} as const;

/** Environment variables the Deployment sets and the agent reads (src/agent/config.ts). */
export const AgentEnv = {
  apiUrl: 'FARPOINT_API_URL',
  clusterId: 'FARPOINT_CLUSTER_ID',
  clusterName: 'FARPOINT_CLUSTER_NAME',
  namespace: 'FARPOINT_AGENT_NAMESPACE',
  secretName: 'FARPOINT_AGENT_SECRET_NAME',
  stateDir: 'FARPOINT_AGENT_STATE_DIR',
  agentVersion: 'FARPOINT_AGENT_VERSION',
  heartbeatIntervalSeconds: 'FARPOINT_HEARTBEAT_INTERVAL_SECONDS',
  reportIntervalSeconds: 'FARPOINT_REPORT_INTERVAL_SECONDS',
} as const;

export const AGENT_LABELS = {
  'app.kubernetes.io/name': 'farpoint-agent',
  'app.kubernetes.io/managed-by': 'farpoint',
  'app.kubernetes.io/part-of': 'farpoint-agent',
} as const;
