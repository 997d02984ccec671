import { z } from 'zod';
import { documented, TimestampSchema } from './common';

/**
 * Renewal of an expired credential (an agent offline longer than the credential lifetime). At
 * registration the agent creates an Ed25519 key pair, keeps the private key in its Secret and sends
 * the public key (renewalPublicKey); the API stores it with the cluster. To renew, the agent presents
 * its expired credential as the bearer and signs RENEWAL_SIGNED_PREFIX + the cluster id, the SHA-256 of
 * that credential, a fresh nonce and signedAt. The API answers one successor per nonce, only for an
 * expired, unrevoked credential of a cluster that is not detached; the successor's first use revokes
 * the expired one, so neither a replay nor the old credential renews again.
 */
export const RENEWAL_SIGNED_PREFIX = 'farpoint-credential-renewal-v1';

/** How far signedAt may be from the API's clock (the agent signs with its estimate of server time). */
export const RENEWAL_MAX_SKEW_SECONDS = 600;

const base64url = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url without padding');

/** An Ed25519 public key as base64url of its SPKI DER encoding (44 bytes, 59 characters). */
export const RenewalPublicKeySchema = base64url(59, 59);

export const RenewCredentialRequestSchema = z.object({
  clusterId: documented(z.uuid(), 'Must be the cluster of the bearer (expired) credential, else CREDENTIAL_WRONG_CLUSTER.'),
  nonce: documented(base64url(22, 86), 'Random, at least 16 bytes; the API answers each nonce once (RENEWAL_REPLAYED).'),
  signedAt: documented(TimestampSchema, `The agent's estimate of server time when it signed; at most ${RENEWAL_MAX_SKEW_SECONDS} s off.`),
  signature: documented(base64url(86, 86), 'Ed25519 signature (base64url) of renewalSignedMessage(...) with the renewal private key.'),
});
export type RenewCredentialRequest = z.infer<typeof RenewCredentialRequestSchema>;

/** The bytes (UTF-8) the agent signs and the API verifies; credentialSha256 is the hex SHA-256 of the bearer credential. */
export function renewalSignedMessage(request: Pick<RenewCredentialRequest, 'clusterId' | 'nonce' | 'signedAt'>, credentialSha256: string): string {
  return [RENEWAL_SIGNED_PREFIX, request.clusterId, credentialSha256, request.nonce, request.signedAt].join('\n');
}
