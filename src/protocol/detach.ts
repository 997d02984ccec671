import { z } from 'zod';
import { ClusterIdSchema, documented, TimestampSchema } from './common';

/**
 * The agent's acknowledgement of DETACH. Until it arrives the API keeps answering DETACH to the
 * cluster's reports and its credential stays valid (for nothing but reports and this call), so an
 * answer carrying DETACH that never reached the agent is simply heard again on the next report.
 */
export const DetachAckRequestSchema = z.object({
  clusterId: documented(z.uuid(), 'Must be the cluster of the bearer credential, else CREDENTIAL_WRONG_CLUSTER.'),
});
export type DetachAckRequest = z.infer<typeof DetachAckRequestSchema>;

export const DetachAckResponseSchema = z.object({
  clusterId: ClusterIdSchema,
  detachedAt: documented(TimestampSchema, 'When the cluster became DETACHED; from then on every credential of the cluster is refused.'),
});
export type DetachAckResponse = z.infer<typeof DetachAckResponseSchema>;
