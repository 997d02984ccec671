import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * X.509 certificates from node:crypto alone: Node can make keys and signatures but not certificates,
 * and the agent's distroless image has no openssl. This is the little DER it takes for a CA and a
 * serving certificate: EC P-256 keys, ecdsa-with-SHA256, v3 extensions (basic constraints, key usage,
 * extended key usage, subject alternative names) as Go's TLS (the kube-apiserver) verifies them.
 */

export interface IssuedPem {
  certPem: string;
  keyPem: string;
}

function length(n: number): Buffer {
  if (n < 0x80) {
    return Buffer.from([n]);
  }
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) {
    bytes.unshift(v & 0xff);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, c: Buffer) => tlv(0xa0 + n, c);

function integer(b: Buffer): Buffer {
  // DER integers are signed: a leading 1 bit needs a zero byte before it.
  return tlv(0x02, b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a * 40 + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) {
      chunk.unshift((v & 0x7f) | 0x80);
    }
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  // RFC 5280: UTCTime (YYMMDD…) until 2049, GeneralizedTime from 2050.
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function altName(entry: string): Buffer {
  const ip = isIP(entry);
  if (ip === 4) {
    return tlv(0x87, Buffer.from(entry.split('.').map(Number)));
  }
  if (ip === 6) {
    throw new Error(`IPv6 subject alternative names are not supported: ${entry}`);
  }
  return tlv(0x82, Buffer.from(entry, 'ascii'));
}

interface CertificateSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  altNames?: readonly string[];
}

function certificate(spec: CertificateSpec): string {
  const serial = randomBytes(16);
  // Positive and minimal DER (a first byte 0x00 followed by one below 0x80 is a non-minimal encoding that
  // verifiers refuse: about 1 certificate in 256 before), at most 20 bytes (RFC 5280).
  serial[0] = (serial[0] & 0x3f) | 0x40;
  const extensions = spec.ca
    ? [extension('2.5.29.19', true, seq(bool(true))), extension('2.5.29.15', true, bits(Buffer.from([0x86]), 1))]
    : [
        extension('2.5.29.19', true, seq()),
        extension('2.5.29.15', true, bits(Buffer.from([0x80]), 7)),
        extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
        extension('2.5.29.17', false, seq(...(spec.altNames ?? []).map(altName))),
      ];
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_SHA256,
    name(spec.issuer),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, { key: spec.signingKey, dsaEncoding: 'der' });
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`;
}

function newKey(): { publicKey: KeyObject; privateKey: KeyObject; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { publicKey, privateKey, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** A self-signed CA valid from a minute ago (clock skew) for `days`. */
export function createCa(commonName: string, now: Date, days: number): IssuedPem {
  const key = newKey();
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const certPem = certificate({ subject: commonName, issuer: commonName, publicKey: key.publicKey, signingKey: key.privateKey, notBefore, notAfter, ca: true });
  return { certPem, keyPem: key.keyPem };
}

/** A TLS serving certificate for `altNames` (IPv4 addresses or DNS names), signed by the CA. */
export function issueServingCert(ca: IssuedPem & { commonName: string }, commonName: string, altNames: readonly string[], now: Date, days: number): IssuedPem {
  const key = newKey();
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const certPem = certificate({
    subject: commonName,
    issuer: ca.commonName,
    publicKey: key.publicKey,
    signingKey: createPrivateKey(ca.keyPem),
    notBefore,
    notAfter,
    ca: false,
    altNames,
  });
  return { certPem, keyPem: key.keyPem };
}
