import type { AdmissionregistrationV1Api, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleSha256, PolicyEngine } from '../../policy-engine/engine';
import { createJsonLogger } from '../logger';
import { AdmissionLoop, withNamespacesWhenSelected } from './admission-loop';
import { writeDesiredState } from '../desired-state-store';

/** The agent's webhook configuration as the apiserver keeps it: replace bumps the resourceVersion. */
class FakeAdmissionApi {
  config: V1ValidatingWebhookConfiguration = { metadata: { name: 'farpoint-agent', resourceVersion: '1' } };
  writes = 0;
  readValidatingWebhookConfiguration(): Promise<V1ValidatingWebhookConfiguration> {
    return Promise.resolve(structuredClone(this.config));
  }
  replaceValidatingWebhookConfiguration({ body }: { body: V1ValidatingWebhookConfiguration }): Promise<V1ValidatingWebhookConfiguration> {
    this.writes++;
    this.config = { ...body, metadata: { ...body.metadata, resourceVersion: String(this.writes + 1) } };
    return Promise.resolve(this.config);
  }
}

describe('AdmissionLoop', () => {
  let dir: string;
  let api: FakeAdmissionApi;
  let logs: Array<Record<string, unknown>>;
  let loop: AdmissionLoop;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'farpoint-admission-loop-'));
    api = new FakeAdmissionApi();
    logs = [];
    loop = new AdmissionLoop({
      stateDir: dir,
      engine: new PolicyEngine(),
      admissionApi: api as unknown as AdmissionregistrationV1Api,
      configurationName: 'farpoint-agent',
      webhook: { endpoint: { url: 'https://127.0.0.1:9443/validate' }, caBundlePem: 'PEM' },
      log: createJsonLogger('debug', (line) => logs.push(JSON.parse(line) as Record<string, unknown>)),
      backoff: { initialMs: 1, maxMs: 1 },
      intervalMs: 1,
    });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('without a desired state holds no webhooks, written once', async () => {
    await loop.step();
    await loop.step();
    expect(api.config.webhooks).toEqual([]);
    expect(api.writes).toBe(1);
    expect(loop.generation).toBe(-1);
    expect(loop.policies().constraints).toEqual([]);
  });

  it('refuses a state whose bundle is not a policy, logs it once, and keeps the running one', async () => {
    const notWasm = new Uint8Array([1, 2, 3]);
    const sha = bundleSha256(notWasm);
    await writeDesiredState(
      dir,
      { generation: 1, bundles: [sha], constraints: [{ name: 'x', kind: 'K', bundleSha256: sha, entrypoint: 'k/violation', parameters: {}, enforcementAction: 'deny' }] },
      new Map([[sha, notWasm]]),
    );
    await loop.step();
    await loop.step();
    expect(loop.generation).toBe(-1);
    expect(api.config.webhooks).toEqual([]);
    const refusals = logs.filter((l) => l.msg === 'desired state refused; the running state keeps deciding');
    expect(refusals).toHaveLength(1);
    expect(JSON.stringify(refusals[0])).toContain('BUNDLE_INVALID');

    await writeFile(join(dir, 'desired-state', 'state.json'), '{');
    await loop.step();
    expect(logs.filter((l) => l.msg === 'desired state refused; the running state keeps deciding')).toHaveLength(2);
  });
});

describe('withNamespacesWhenSelected', () => {
  const base = { name: 'c', kind: 'K', bundleSha256: 'a'.repeat(64), entrypoint: 'k/violation', parameters: {}, enforcementAction: 'deny' as const };
  const ingress = { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' };

  it('adds the Namespace watch only when a constraint matches by namespaceSelector (its decision needs the Namespace)', () => {
    expect(withNamespacesWhenSelected([ingress], [base])).toEqual([ingress]);
    expect(withNamespacesWhenSelected([ingress], [{ ...base, match: { namespaceSelector: { matchLabels: { team: 'shop' } } } }])).toEqual([
      ingress,
      { group: '', version: 'v1', kind: 'Namespace' },
    ]);
  });

  it('does not watch Namespaces twice when a referential template already reads them', () => {
    const ns = { group: '', version: 'v1', kind: 'Namespace' };
    expect(withNamespacesWhenSelected([ns], [{ ...base, match: { namespaceSelector: {} } }])).toEqual([ns]);
  });
});
