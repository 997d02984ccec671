import { X509Certificate } from 'node:crypto';
import { createCa, issueServingCert } from './x509';

describe('x509', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  const ca = createCa('farpoint-agent-ca', now, 365);
  const serving = issueServingCert({ ...ca, commonName: 'farpoint-agent-ca' }, 'farpoint-agent', ['127.0.0.1', 'farpoint-agent.farpoint-system.svc'], now, 90);

  it('makes a CA that signs a serving certificate for its names', () => {
    const caCert = new X509Certificate(ca.certPem);
    const leaf = new X509Certificate(serving.certPem);
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toBe('CN=farpoint-agent-ca');
    expect(leaf.ca).toBe(false);
    expect(leaf.issuer).toBe('CN=farpoint-agent-ca');
    expect(leaf.subjectAltName).toBe('IP Address:127.0.0.1, DNS:farpoint-agent.farpoint-system.svc');
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new Date(leaf.validFrom).toISOString()).toBe('2026-12-01T11:59:00.000Z');
    expect(new Date(leaf.validTo).toISOString()).toBe('2027-03-01T12:00:00.000Z');
  });

  it('is not verified by another CA', () => {
    const other = new X509Certificate(createCa('someone-else', now, 1).certPem);
    expect(new X509Certificate(serving.certPem).verify(other.publicKey)).toBe(false);
  });

  it('refuses an IPv6 name it cannot encode', () => {
    expect(() => issueServingCert({ ...ca, commonName: 'farpoint-agent-ca' }, 'x', ['::1'], now, 1)).toThrow('IPv6 subject alternative names are not supported: ::1');
  });
});

describe('x509 serial numbers', () => {
  it('are positive 16-byte integers in minimal DER with no leading zero byte (each certificate verifies)', () => {
    const ca = createCa('serial-ca', new Date(), 1);
    const caCert = new X509Certificate(ca.certPem);
    for (let i = 0; i < 300; i++) {
      const cert = new X509Certificate(issueServingCert({ ...ca, commonName: 'serial-ca' }, 'agent', ['127.0.0.1'], new Date(), 1).certPem);
      expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
      expect(cert.verify(caCert.publicKey)).toBe(true);
    }
  });
});
