import { parseConstraintTemplate } from '../../policy-engine';
import type { PolicyTemplate, PolicyTemplateVersion } from '../../generated/prisma/client';
import { exportConstraintTemplate, sourceHash, versionSourceOf } from './constraint-template.yaml';

const template = { id: 't', organizationId: 'o', name: 'k8sdemo', kind: 'K8sDemo', createdBy: 'x', createdAt: new Date(), updatedAt: new Date() } as PolicyTemplate;
const version = (over: Partial<PolicyTemplateVersion>) =>
  ({
    kind: 'K8sDemo',
    title: 'Demo',
    description: 'Demonstrates.',
    category: 'labels',
    severity: 'HIGH',
    rego: 'package k8sdemo\n\nviolation[{"msg": "x"}] { false }\n',
    libs: ['package lib.demo\n\nx := 1\n'],
    parametersSchema: { type: 'object', properties: { labels: { type: 'array', items: { type: 'string' } } } },
    regoVersion: 'V0',
    syncKinds: [],
    ...over,
  }) as PolicyTemplateVersion;

describe('ConstraintTemplate export', () => {
  it.each(['V0', 'V1'] as const)('round-trips a Rego %s version: importing the export gives the same source (hash)', (regoVersion) => {
    const v = version({ regoVersion, rego: regoVersion === 'V1' ? 'package k8sdemo\n\nviolation contains {"msg": "x"} if false\n' : version({}).rego });
    const parsed = parseConstraintTemplate(exportConstraintTemplate(template, v));
    const { source, warnings } = versionSourceOf(parsed, []);
    expect(warnings).toEqual([]);
    expect(source).toEqual({
      kind: 'K8sDemo',
      title: 'Demo',
      description: 'Demonstrates.',
      category: 'labels',
      severity: 'HIGH',
      rego: v.rego,
      libs: v.libs,
      parametersSchema: v.parametersSchema,
      tests: [],
      regoVersion,
    });
  });

  it('round-trips the kinds a referential version reads as requires-sync-data, and hashes them', () => {
    const ingress = { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' };
    const exported = exportConstraintTemplate(template, version({ syncKinds: [ingress] }));
    expect(exported).toContain('metadata.gatekeeper.sh/requires-sync-data');
    const { source } = versionSourceOf(parseConstraintTemplate(exported), []);
    expect(source.syncKinds).toEqual([ingress]);
    const { source: without } = versionSourceOf(parseConstraintTemplate(exportConstraintTemplate(template, version({}))), []);
    expect(without).not.toHaveProperty('syncKinds');
    expect(sourceHash(source)).not.toBe(sourceHash(without));
  });

  it('hashes the source independently of key order, and differently when anything changes', () => {
    const { source } = versionSourceOf(parseConstraintTemplate(exportConstraintTemplate(template, version({}))), []);
    const reordered = { ...source, parametersSchema: { properties: { labels: { items: { type: 'string' }, type: 'array' } }, type: 'object' } };
    expect(sourceHash(reordered)).toBe(sourceHash(source));
    expect(sourceHash({ ...source, rego: `${source.rego}\n` })).not.toBe(sourceHash(source));
    expect(sourceHash({ ...source, tests: [{ name: 'a_test.rego', source: 'package x' }] })).not.toBe(sourceHash(source));
  });

  it('warns about an unknown severity and keeps MEDIUM', () => {
    const yaml = exportConstraintTemplate(template, version({})).replace('farpoint.io/severity: high', 'farpoint.io/severity: urgent');
    const { source, warnings } = versionSourceOf(parseConstraintTemplate(yaml), []);
    expect(source.severity).toBe('MEDIUM');
    expect(warnings).toEqual([expect.stringContaining('"urgent"')]);
  });
});
