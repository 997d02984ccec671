import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { type RenewCredentialRequest, renewalSignedMessage } from '../../protocol/renewal';

/** A new Ed25519 private key as stored in the agent Secret (base64url PKCS#8 DER). */
export function newRenewalPrivateKey(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url');
}

/** The public half as the protocol sends it (base64url SPKI DER). */
export function renewalPublicKeyOf(privateKey: string): string {
  const key = createPrivateKey({ key: Buffer.from(privateKey, 'base64url'), format: 'der', type: 'pkcs8' });
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('base64url');
}

/** A renewal request for the expired credential, signed with the private key. */
export function signedRenewal(privateKey: string, clusterId: string, expiredCredential: string, nonce: string, signedAt: string): RenewCredentialRequest {
  const key = createPrivateKey({ key: Buffer.from(privateKey, 'base64url'), format: 'der', type: 'pkcs8' });
  const credentialSha256 = createHash('sha256').update(expiredCredential).digest('hex');
  const unsigned = { clusterId, nonce, signedAt };
  return { ...unsigned, signature: sign(null, Buffer.from(renewalSignedMessage(unsigned, credentialSha256), 'utf8'), key).toString('base64url') };
}
