import { z } from 'zod';
import { AgentVersionSchema, ClusterIdSchema, CredentialSchema, documented, RegistrationTokenSchema, TimestampSchema } from './common';
import { AgentProtocolLimits as L } from './limits';
import { RenewalPublicKeySchema } from './renewal';

const intervalSeconds = (description: string) => documented(z.number().int().min(1).max(3_600), description);

/**
 * How long after the first registration with a token the same installation may register again (its
 * answer was lost). Short, because the token and the kube-system UID alone may have leaked.
 */
export const REGISTRATION_REPEAT_WINDOW_SECONDS = 600;

/** Random secret the agent creates and keeps in its Secret before it first registers. */
export const InstallationSecretSchema = z
  .string()
  .min(32)
  .max(L.maxSecretLength)
  .regex(/^[A-Za-z0-9_-]+$/, 'must contain only letters, digits, "_" and "-"');

export const RegisterRequestSchema = z.object({
  registrationToken: RegistrationTokenSchema,
  clusterUid: documented(z.guid(), 'metadata.uid of the kube-system namespace: the identity of the cluster.'),
  agentVersion: AgentVersionSchema,
  installationSecret: documented(
    InstallationSecretSchema.optional(),
    'Random value (at least 32 URL-safe characters) the agent created and stored in its Secret before its first ' +
      'register call, sent unchanged on every attempt. The API keeps its SHA-256 from the first registration; a ' +
      'repeated registration with the same token must present it. Agents must send it: without it a registration ' +
      'can never be repeated.',
  ),
  renewalPublicKey: documented(
    RenewalPublicKeySchema.optional(),
    'Ed25519 public key (base64url SPKI DER) whose private key the agent keeps in its Secret. With it an expired ' +
      'credential can be renewed (POST /credentials/renew) without attaching again; without it, it cannot.',
  ),
});
export type RegisterRequest = z.infer<typeof RegisterRequestSchema>;

export const RegisterResponseSchema = z.object({
  clusterId: ClusterIdSchema,
  credential: CredentialSchema,
  credentialExpiresAt: TimestampSchema,
  heartbeatIntervalSeconds: intervalSeconds('How often the agent queues a heartbeat item.'),
  reportIntervalSeconds: intervalSeconds('How long the agent coalesces inventory changes before it queues them as one inventory.delta.'),
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
