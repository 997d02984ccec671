import { PolicyEngineErrorCode } from './errors';
import { MAX_SYNC_KINDS, parseSyncRequirements } from './sync-requirements';

const INGRESS = { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' };

describe('parseSyncRequirements (metadata.gatekeeper.sh/requires-sync-data)', () => {
  it("reads the Gatekeeper library's form: quoted, inner quotes unescaped, newlines around", () => {
    expect(parseSyncRequirements('"[[{"groups": ["networking.k8s.io"], "versions": ["v1"], "kinds": ["Ingress"]}]]"\n')).toEqual([INGRESS]);
  });

  it('reads plain JSON and a properly escaped JSON string alike', () => {
    const plain = JSON.stringify([[{ groups: ['networking.k8s.io'], versions: ['v1'], kinds: ['Ingress'] }]]);
    expect(parseSyncRequirements(plain)).toEqual([INGRESS]);
    expect(parseSyncRequirements(JSON.stringify(plain))).toEqual([INGRESS]);
  });

  it('syncs the union of every requirement and alternative, once each, sorted', () => {
    const kinds = parseSyncRequirements(
      JSON.stringify([
        [{ groups: [''], versions: ['v1'], kinds: ['Service', 'Namespace'] }],
        [
          { groups: ['networking.k8s.io'], versions: ['v1'], kinds: ['Ingress'] },
          { groups: [''], versions: ['v1'], kinds: ['Service'] },
        ],
      ]),
    );
    expect(kinds).toEqual([{ group: '', version: 'v1', kind: 'Namespace' }, { group: '', version: 'v1', kind: 'Service' }, INGRESS]);
  });

  it('is empty without the annotation', () => {
    expect(parseSyncRequirements(undefined)).toEqual([]);
  });

  it.each([
    ['not JSON', '[[{groups: x'],
    ['not a list', '{"groups": ["apps"]}'],
    ['a requirement that is not a list', '[{"groups": ["apps"], "versions": ["v1"], "kinds": ["Deployment"]}]'],
    ['an empty kinds list', '[[{"groups": ["apps"], "versions": ["v1"], "kinds": []}]]'],
    ['a kind that is not a Kubernetes kind', '[[{"groups": ["apps"], "versions": ["v1"], "kinds": ["deployments"]}]]'],
    ['a group with a path in it', '[[{"groups": ["../etc"], "versions": ["v1"], "kinds": ["Secret"]}]]'],
  ])('refuses %s with TEMPLATE_INVALID naming the annotation', (_what, annotation) => {
    expect(() => parseSyncRequirements(annotation)).toThrow(
      expect.objectContaining({ code: PolicyEngineErrorCode.TEMPLATE_INVALID, details: { field: 'metadata.annotations.metadata.gatekeeper.sh/requires-sync-data' } }),
    );
  });

  it(`refuses more than ${MAX_SYNC_KINDS} kinds (each is a watch the agent keeps)`, () => {
    const kinds = Array.from({ length: MAX_SYNC_KINDS + 1 }, (_, i) => `Kind${i}`);
    expect(() => parseSyncRequirements(JSON.stringify([[{ groups: ['example.com'], versions: ['v1'], kinds }]]))).toThrow(/more than the 16/);
  });
});
