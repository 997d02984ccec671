import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SecretConflictError, type SecretGateway } from '../identity/credential-store';
import { createCa, issueServingCert } from './x509';

/** Where the CA and serving certificate are kept between starts (their JSON, keys included). */
export interface TlsStore {
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

/** The key in the agent's Secret that holds them. */
export const ADMISSION_TLS_SECRET_KEY = 'admission-tls.json';

/** A file with mode 0600 (tests, and an agent run without its Secret). */
export function fileTlsStore(stateDir: string): TlsStore {
  const path = join(stateDir, 'admission-tls.json');
  return {
    read: async () => {
      try {
        return await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return undefined;
        }
        throw error;
      }
    },
    write: async (text) => {
      await mkdir(stateDir, { recursive: true });
      await writeFile(`${path}.tmp`, text, { mode: 0o600 });
      await rename(`${path}.tmp`, path);
    },
  };
}

/**
 * One key of the agent's own Secret (farpoint-agent, which it may get and patch), beside its
 * credential: the CA survives the pod, the node and a lost state volume, so the caBundle in the
 * webhook configuration stays valid. Writes are read-modify-write conditional on resourceVersion,
 * retried when another loop (rotation) wrote the Secret meanwhile.
 */
export function secretTlsStore(secret: SecretGateway): TlsStore {
  return {
    read: async () => (await secret.read())?.data[ADMISSION_TLS_SECRET_KEY],
    write: async (text) => {
      for (let attempt = 1; ; attempt++) {
        const content = await secret.read();
        if (!content) {
          throw new Error('the agent Secret is gone');
        }
        try {
          await secret.write({ ...content.data, [ADMISSION_TLS_SECRET_KEY]: text }, content.resourceVersion);
          return;
        } catch (error) {
          if (!(error instanceof SecretConflictError) || attempt >= 5) {
            throw error;
          }
        }
      }
    },
  };
}

export interface ServingTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const CA_NAME = 'farpoint-agent-admission-ca';
const CA_DAYS = 3650;
const SERVING_DAYS = 90;
/** A serving certificate with less than this left is replaced (rotated before expiry). */
const RENEW_BEFORE_MS = 30 * 86_400_000;

/**
 * The webhook's CA and serving certificate, kept in a TlsStore: the agent's Secret in a cluster
 * (secretTlsStore), `<stateDir>/admission-tls.json` when given a directory. Reused while the serving
 * certificate covers the names and has more than 30 days left; otherwise a new serving certificate
 * from the same CA (so the caBundle stays valid), or a new CA when there is none.
 */
export async function loadOrCreateServingTls(storeOrStateDir: TlsStore | string, altNames: readonly string[], now = new Date()): Promise<ServingTls> {
  const store = typeof storeOrStateDir === 'string' ? fileTlsStore(storeOrStateDir) : storeOrStateDir;
  let stored: (ServingTls & { caKeyPem: string }) | undefined;
  const text = await store.read();
  try {
    stored = text === undefined ? undefined : (JSON.parse(text) as ServingTls & { caKeyPem: string });
  } catch (error) {
    if (!(error instanceof SyntaxError)) {
      throw error;
    }
  }
  if (stored && servingStillGood(stored, altNames, now)) {
    return { caPem: stored.caPem, certPem: stored.certPem, keyPem: stored.keyPem };
  }
  const ca = stored && caStillGood(stored.caPem, now) ? { certPem: stored.caPem, keyPem: stored.caKeyPem } : createCa(CA_NAME, now, CA_DAYS);
  const serving = issueServingCert({ ...ca, commonName: CA_NAME }, 'farpoint-agent', altNames, now, SERVING_DAYS);
  const next = { caPem: ca.certPem, caKeyPem: ca.keyPem, certPem: serving.certPem, keyPem: serving.keyPem };
  await store.write(JSON.stringify(next));
  return { caPem: next.caPem, certPem: next.certPem, keyPem: next.keyPem };
}

function caStillGood(caPem: string, now: Date): boolean {
  try {
    return new Date(new X509Certificate(caPem).validTo).getTime() - now.getTime() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

function servingStillGood(stored: ServingTls, altNames: readonly string[], now: Date): boolean {
  try {
    const cert = new X509Certificate(stored.certPem);
    const names = (cert.subjectAltName ?? '').split(', ').map((n) => n.replace(/^(IP Address|DNS):/, ''));
    return (
      cert.verify(new X509Certificate(stored.caPem).publicKey) && altNames.every((n) => names.includes(n)) && new Date(cert.validTo).getTime() - now.getTime() > RENEW_BEFORE_MS
    );
  } catch {
    return false;
  }
}
