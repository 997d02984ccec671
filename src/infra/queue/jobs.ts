/**
 * Every background job Farpoint runs, which queue it lives on, and its payload type.
 * Adding a job here without exactly one @OnJob handler makes the worker refuse to start.
 */
export const QueueName = {
  MAINTENANCE: 'maintenance',
  ATTACH: 'attach',
  POLICY: 'policy',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const JobName = {
  PURGE_API_TOKENS: 'api-tokens.purge',
  PURGE_RESOLVED_VIOLATIONS: 'violations.purge',
  ATTACH_CLUSTER: 'clusters.attach',
  SWEEP_CLUSTER_HEALTH: 'clusters.health-sweep',
  COMPILE_POLICY_VERSION: 'policies.compile',
  RECONCILE_OPERATIONS: 'operations.reconcile',
  ADVANCE_STAGED_ROLLOUTS: 'staged-rollouts.advance',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

export const JOB_QUEUE: Record<JobName, QueueName> = {
  [JobName.PURGE_API_TOKENS]: QueueName.MAINTENANCE,
  [JobName.PURGE_RESOLVED_VIOLATIONS]: QueueName.MAINTENANCE,
  [JobName.ATTACH_CLUSTER]: QueueName.ATTACH,
  [JobName.SWEEP_CLUSTER_HEALTH]: QueueName.MAINTENANCE,
  [JobName.COMPILE_POLICY_VERSION]: QueueName.POLICY,
  [JobName.RECONCILE_OPERATIONS]: QueueName.MAINTENANCE,
  [JobName.ADVANCE_STAGED_ROLLOUTS]: QueueName.MAINTENANCE,
};

export interface JobPayloads {
  [JobName.PURGE_API_TOKENS]: Record<string, never>;
  [JobName.PURGE_RESOLVED_VIOLATIONS]: Record<string, never>;
  /** `sealed` is the kubeconfig and registration token, encrypted (SealedBox) for this operation id: Redis never holds them in clear. */
  [JobName.ATTACH_CLUSTER]: { operationId: string; sealed: string };
  [JobName.SWEEP_CLUSTER_HEALTH]: Record<string, never>;
  /** jobId is the version id: a version is queued once, however often it is asked for. */
  [JobName.COMPILE_POLICY_VERSION]: { versionId: string };
  [JobName.RECONCILE_OPERATIONS]: Record<string, never>;
  [JobName.ADVANCE_STAGED_ROLLOUTS]: Record<string, never>;
}
