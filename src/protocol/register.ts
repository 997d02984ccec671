import { z } from 'zod';
import {
  AgentVersionSchema,
  ClusterIdSchema,
  CredentialSchema,
  documented,
  RegistrationTokenSchema,
  TimestampSchema,
} from './common';

const intervalSeconds = (description: string) => documented(z.number().int().min(1).max(3_600), description);

export const RegisterRequestSchema = z.object({
  registrationToken: RegistrationTokenSchema,
  clusterUid: documented(z.guid(), 'metadata.uid of the kube-system namespace: the identity of the cluster.'),
  agentVersion: AgentVersionSchema,
});
export type RegisterRequest = z.infer<typeof RegisterRequestSchema>;

export const RegisterResponseSchema = z.object({
  clusterId: ClusterIdSchema,
  credential: CredentialSchema,
  credentialExpiresAt: TimestampSchema,
  heartbeatIntervalSeconds: intervalSeconds('How often the agent queues a heartbeat item.'),
  reportIntervalSeconds: intervalSeconds(
    'How long the agent coalesces inventory changes before it queues them as one inventory.delta.',
  ),
});
export type RegisterResponse = z.infer<typeof RegisterResponseSchema>;

export const RotateCredentialRequestSchema = z.object({
  clusterId: documented(z.uuid(), 'Must be the cluster of the bearer credential, else CREDENTIAL_WRONG_CLUSTER.'),
});
export type RotateCredentialRequest = z.infer<typeof RotateCredentialRequestSchema>;

export const RotateCredentialResponseSchema = z.object({
  credential: CredentialSchema,
  credentialExpiresAt: TimestampSchema,
});
export type RotateCredentialResponse = z.infer<typeof RotateCredentialResponseSchema>;
