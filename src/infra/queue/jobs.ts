/**
 * Every background job Farpoint runs, which queue it lives on, and its payload type.
 * Adding a job here without exactly one @OnJob handler makes the worker refuse to start.
 */
export const QueueName = {
  MAINTENANCE: 'maintenance',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const JobName = {
  PURGE_API_TOKENS: 'api-tokens.purge',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

export const JOB_QUEUE: Record<JobName, QueueName> = {
  [JobName.PURGE_API_TOKENS]: QueueName.MAINTENANCE,
};

export interface JobPayloads {
  [JobName.PURGE_API_TOKENS]: Record<string, never>;
}
