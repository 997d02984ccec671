import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'fpt_';

/**
 * API token secrets: 32 random bytes, shown once. Only a SHA-256 is stored; with 256 bits of entropy a
 * slow password hash adds nothing, and a fast hash lets each request authenticate with one indexed lookup.
 */
export function newApiTokenSecret(): { secret: string; hash: string; prefix: string } {
  const secret = PREFIX + randomBytes(32).toString('base64url');
  return { secret, hash: hashApiTokenSecret(secret), prefix: secret.slice(0, PREFIX.length + 6) };
}

export function hashApiTokenSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function looksLikeApiToken(value: string): boolean {
  return value.startsWith(PREFIX) && value.length === PREFIX.length + 43;
}

export function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
