import { createHash, randomBytes } from 'node:crypto';

/**
 * Bearer secrets (API tokens fpt_, registration tokens fpr_, agent credentials fpc_): 32 random
 * bytes, shown once. Only a SHA-256 is stored; with 256 bits of entropy a slow password hash adds
 * nothing, and a fast hash lets each request authenticate with one indexed lookup.
 */
export type SecretKind = 'fpt_' | 'fpr_' | 'fpc_';

export function newSecret(kind: SecretKind): { secret: string; hash: string; prefix: string } {
  const secret = kind + randomBytes(32).toString('base64url');
  return { secret, hash: hashSecret(secret), prefix: secret.slice(0, kind.length + 6) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function looksLikeSecret(kind: SecretKind, value: string): boolean {
  return value.startsWith(kind) && value.length === kind.length + 43;
}
