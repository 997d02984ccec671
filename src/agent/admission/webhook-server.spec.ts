import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createJsonLogger } from '../logger';
import { WebhookServer, type WebhookPolicies } from './webhook-server';
import { createCa, issueServingCert } from './x509';

const ca = createCa('test-ca', new Date(), 1);
const serving = issueServingCert({ ...ca, commonName: 'test-ca' }, 'agent', ['127.0.0.1'], new Date(), 1);

const deny: WebhookPolicies = {
  constraints: [{ name: 'no-latest', kind: 'K', bundleSha256: 'a'.repeat(64), entrypoint: 'k/violation', parameters: {}, enforcementAction: 'deny' }],
  evaluate: (_, cs) => cs.map((c) => ({ constraint: c.name, kind: c.kind, enforcementAction: c.enforcementAction, matched: true, violations: [{ msg: 'latest tag' }] })),
};

function post(port: number, path: string, body: string, method = 'POST'): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca: ca.certPem, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const review = (namespace = 'shop') =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace, name: 'web', operation: 'CREATE', object: {} },
  });

describe('WebhookServer', () => {
  let policies: WebhookPolicies = deny;
  const server = new WebhookServer({ certPem: serving.certPem, keyPem: serving.keyPem, log: createJsonLogger('error', () => undefined), policies: () => policies });
  let port: number;
  beforeAll(async () => {
    port = await server.listen(0, '127.0.0.1');
  });
  afterAll(() => server.close());

  it('answers an AdmissionReview over TLS signed by its CA', async () => {
    policies = deny;
    expect(await post(port, '/validate', review())).toEqual({
      status: 200,
      json: {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: 'u1', allowed: false, status: { code: 403, reason: 'Forbidden', message: '[no-latest] latest tag' } },
      },
    });
    expect((await post(port, '/validate', review('kube-system'))).json).toMatchObject({ response: { uid: 'u1', allowed: true } });
  });

  it('serves a renewed certificate from the same CA to new connections, without a restart', async () => {
    const serialOf = () =>
      new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', ca: ca.certPem, agent: false }, (res) => {
          resolve((res.socket as TLSSocket).getPeerCertificate().serialNumber);
          res.resume();
        });
        req.on('error', reject);
        req.end(review());
      });
    const before = await serialOf();
    expect(before).toBe(new X509Certificate(serving.certPem).serialNumber);
    const renewed = issueServingCert({ ...ca, commonName: 'test-ca' }, 'agent', ['127.0.0.1'], new Date(), 1);
    server.updateCertificate(renewed.certPem, renewed.keyPem);
    expect(await serialOf()).toBe(new X509Certificate(renewed.certPem).serialNumber);
    // Still verified by the CA the apiserver holds.
    expect(await post(port, '/validate', review())).toMatchObject({ status: 200 });
  });

  it('refuses what is not an AdmissionReview with 400 ADMISSION_REVIEW_INVALID, and other paths with 404', async () => {
    expect(await post(port, '/validate', '{')).toMatchObject({ status: 400, json: { code: 'ADMISSION_REVIEW_INVALID' } });
    expect(await post(port, '/validate', '{"kind":"Pod"}')).toEqual({
      status: 400,
      json: { code: 'ADMISSION_REVIEW_INVALID', message: 'ADMISSION_REVIEW_INVALID: expected apiVersion admission.k8s.io/v1, kind AdmissionReview' },
    });
    expect(await post(port, '/other', review())).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
    expect(await post(port, '/validate', '', 'GET')).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
  });

  it('answers 500 POLICY_EVALUATION_FAILED when a policy cannot be evaluated, so failurePolicy decides', async () => {
    policies = {
      ...deny,
      evaluate: () => {
        throw new Error('constraint no-latest (K): trapped');
      },
    };
    expect(await post(port, '/validate', review())).toEqual({ status: 500, json: { code: 'POLICY_EVALUATION_FAILED', message: 'constraint no-latest (K): trapped' } });
  });
});
