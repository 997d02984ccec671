import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A sealed value that does not open: tampered, sealed with another key or for another context, or not one. */
export class SealedBoxError extends Error {
  constructor(message = 'The sealed value does not open: it was altered, or sealed with another key or for another purpose.') {
    super(message);
    this.name = 'SealedBoxError';
  }
}

const VERSION = 'v2';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for secrets that must pass through Redis (a kubeconfig in an attach job): what rests
 * in Redis is ciphertext; tampering fails authentication instead of decrypting to garbage.
 *
 * Format v2: `v2.<iv>.<tag>.<ciphertext>` (base64url). The `context` (e.g. the attach operation id)
 * is authenticated but not stored, so a sealed value copied into another job does not open there.
 */
export class SealedBox {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    // Any configured string becomes a 256-bit key; a base64 32-byte key is used as is.
    const raw = Buffer.from(secretKey, 'base64');
    this.key = raw.length === 32 ? raw : createHash('sha256').update(secretKey).digest();
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  /** The plaintext, or SealedBoxError. */
  open(sealed: string, context: string): string {
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    if (parts.length !== 4 || parts[0] !== VERSION) {
      throw new SealedBoxError(`Not a ${VERSION} sealed value.`);
    }
    const [iv, tag, body] = parts.slice(1).map((p) => Buffer.from(p, 'base64url'));
    // setAuthTag accepts 4..16-byte tags; a short one would make forgery far cheaper, so only 16.
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new SealedBoxError();
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(context));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedBoxError();
    }
  }
}

function aad(context: string): Buffer {
  if (!context) {
    throw new Error('SealedBox needs a context to bind the value to');
  }
  return Buffer.from(`farpoint-sealed-box:${context}`, 'utf8');
}
