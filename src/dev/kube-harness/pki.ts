import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Certificates for test clusters and test webhook servers, made with the openssl CLI: node:crypto
 * can create keys but not X.509 certificates. Keys are EC P-256 (fast to generate, accepted by Go's TLS
 * and by Node); the service-account key is RSA because every token verifier supports RS256.
 */
export interface CertificateAuthority {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
}

export interface IssuedCert {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertRequest {
  /** File name stem inside the CA's directory, e.g. "apiserver" → apiserver.crt / apiserver.key. */
  readonly file: string;
  readonly commonName: string;
  /** Organisations (Kubernetes reads them as groups for client certificates). */
  readonly organizations?: readonly string[];
  /** Subject alternative names, e.g. ['IP:127.0.0.1', 'DNS:localhost']; needed for serving certs. */
  readonly altNames?: readonly string[];
  readonly usage: 'server' | 'client';
}

const DAYS = '3650';

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

// Subject fields are given to openssl as /CN=…/O=…; a slash in a value would start a new field.
function subject(cn: string, orgs: readonly string[] = []): string {
  const clean = (v: string) => v.replace(/[/\\]/g, '-');
  return `/CN=${clean(cn)}${orgs.map((o) => `/O=${clean(o)}`).join('')}`;
}

export async function createCertificateAuthority(dir: string, commonName: string): Promise<CertificateAuthority> {
  await mkdir(dir, { recursive: true });
  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      DAYS,
      '-subj',
      subject(commonName),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    dir,
  );
  return { certPath, keyPath, certPem: await readFile(certPath, 'utf8') };
}

export async function issueCertificate(ca: CertificateAuthority, dir: string, req: CertRequest): Promise<IssuedCert> {
  const keyPath = join(dir, `${req.file}.key`);
  const csrPath = join(dir, `${req.file}.csr`);
  const certPath = join(dir, `${req.file}.crt`);
  const extPath = join(dir, `${req.file}.ext`);
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${req.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
    ...(req.altNames?.length ? [`subjectAltName=${req.altNames.join(',')}`] : []),
  ];
  await writeFile(extPath, ext.join('\n') + '\n');
  await openssl(
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      csrPath,
      '-subj',
      subject(req.commonName, req.organizations),
    ],
    dir,
  );
  // A random serial (as real CAs use) rather than -CAcreateserial: that one reads and rewrites ca.srl,
  // and certificates issued in parallel by one CA read half-written serial files.
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      csrPath,
      '-CA',
      ca.certPath,
      '-CAkey',
      ca.keyPath,
      '-set_serial',
      `0x${serial.toString('hex')}`,
      '-out',
      certPath,
      '-days',
      DAYS,
      '-sha256',
      '-extfile',
      extPath,
    ],
    dir,
  );
  const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  return { certPath, keyPath, certPem, keyPem };
}

/** RSA key pair for signing and verifying service-account tokens. */
export async function createServiceAccountKey(dir: string): Promise<{ keyPath: string; pubPath: string }> {
  const keyPath = join(dir, 'sa.key');
  const pubPath = join(dir, 'sa.pub');
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath], dir);
  await openssl(['pkey', '-in', keyPath, '-pubout', '-out', pubPath], dir);
  return { keyPath, pubPath };
}
