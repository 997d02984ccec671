import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCa, issueServingCert } from './x509';

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
 * The webhook's CA and serving certificate. In the real design they live in the agent's Secret; in
 * this slice they are kept in `<stateDir>/admission-tls.json` (mode 0600). Reused while the serving
 * certificate covers the names and has more than 30 days left; otherwise a new serving certificate
 * from the same CA (so the caBundle stays valid), or a new CA when there is none.
 */
export async function loadOrCreateServingTls(stateDir: string, altNames: readonly string[], now = new Date()): Promise<ServingTls> {
  const path = join(stateDir, 'admission-tls.json');
  let stored: (ServingTls & { caKeyPem: string }) | undefined;
  try {
    stored = JSON.parse(await readFile(path, 'utf8')) as ServingTls & { caKeyPem: string };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) {
      throw error;
    }
  }
  if (stored && servingStillGood(stored, altNames, now)) {
    return { caPem: stored.caPem, certPem: stored.certPem, keyPem: stored.keyPem };
  }
  const ca = stored && caStillGood(stored.caPem, now) ? { certPem: stored.caPem, keyPem: stored.caKeyPem } : createCa(CA_NAME, now, CA_DAYS);
  const serving = issueServingCert({ ...ca, commonName: CA_NAME }, 'farpoint-agent', altNames, now, SERVING_DAYS);
  const next = { caPem: ca.certPem, caKeyPem: ca.keyPem, certPem: serving.certPem, keyPem: serving.keyPem };
  await mkdir(stateDir, { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(next), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
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
