import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for secrets that must pass through Redis (a kubeconfig in an attach job): what rests
 * in Redis is ciphertext; tampering fails authentication instead of decrypting to garbage.
 */
export class SealedBox {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    // Any configured string becomes a 256-bit key; a base64 32-byte key is used as is.
    const raw = Buffer.from(secretKey, 'base64');
    this.key = raw.length === 32 ? raw : createHash('sha256').update(secretKey).digest();
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('not a sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}
