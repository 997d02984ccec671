import { dump } from 'js-yaml';
import { PolicyEngineErrorCode } from './errors';
import { entrypointForPackage, parseConstraintTemplate, regoPackage } from './template';

const REGO = `package k8srequiredlabels

violation[{"msg": msg}] {
  not input.review.object.metadata.labels.owner
  msg := "owner missing"
}`;
const LIB = 'package lib.helpers\n\nis_pod { input.review.kind.kind == "Pod" }';

const v1beta1 = {
  apiVersion: 'templates.gatekeeper.sh/v1beta1',
  kind: 'ConstraintTemplate',
  metadata: { name: 'k8srequiredlabels', annotations: { 'metadata.gatekeeper.sh/title': 'Required Labels', description: 'Requires labels.' } },
  spec: {
    crd: {
      spec: {
        names: { kind: 'K8sRequiredLabels' },
        validation: { legacySchema: false, openAPIV3Schema: { type: 'object', properties: { labels: { type: 'array', items: { type: 'string' } } } } },
      },
    },
    targets: [{ target: 'admission.k8s.gatekeeper.sh', rego: REGO, libs: [LIB] }],
  },
};

const v1WithCode = {
  apiVersion: 'templates.gatekeeper.sh/v1',
  kind: 'ConstraintTemplate',
  metadata: { name: 'k8srequiredlabels' },
  spec: {
    crd: { spec: { names: { kind: 'K8sRequiredLabels' } } },
    targets: [
      {
        target: 'admission.k8s.gatekeeper.sh',
        code: [
          { engine: 'K8sNativeValidation', source: { validations: [{ expression: 'true' }] } },
          { engine: 'Rego', source: { rego: REGO, libs: [LIB], version: 'v1' } },
        ],
      },
    ],
  },
};

const withSpec = (patch: (t: typeof v1beta1) => void) => {
  const t = structuredClone(v1beta1);
  patch(t);
  return t as unknown as Record<string, unknown>;
};

describe(parseConstraintTemplate.name, () => {
  it('reads a v1beta1 template with rego, libs, schema, title and description (from YAML)', () => {
    const t = parseConstraintTemplate(dump(v1beta1));
    expect(t).toMatchObject({
      name: 'k8srequiredlabels',
      kind: 'K8sRequiredLabels',
      apiVersion: 'templates.gatekeeper.sh/v1beta1',
      parametersSchema: { type: 'object', properties: { labels: { type: 'array', items: { type: 'string' } } } },
      legacySchema: false,
      rego: REGO,
      libs: [LIB],
      package: 'k8srequiredlabels',
      entrypoint: 'k8srequiredlabels/violation',
      regoVersion: 'v0',
      hasCelEngine: false,
      targets: 'admission.k8s.gatekeeper.sh',
      title: 'Required Labels',
      description: 'Requires labels.',
    });
  });

  it('reads a v1 template with code[engine=Rego] beside a CEL engine, and its Rego version', () => {
    const t = parseConstraintTemplate(v1WithCode);
    expect(t).toMatchObject({ rego: REGO, libs: [LIB], regoVersion: 'v1', hasCelEngine: true, parametersSchema: null });
  });

  it.each([
    ['malformed YAML', 'apiVersion: [unclosed', PolicyEngineErrorCode.YAML_INVALID, undefined],
    ['two documents', `${dump(v1beta1)}---\n${dump(v1beta1)}`, PolicyEngineErrorCode.YAML_INVALID, undefined],
    ['a scalar document', 'just text', PolicyEngineErrorCode.YAML_INVALID, undefined],
  ])('refuses %s', (_what, input, code, field) => {
    expect(() => parseConstraintTemplate(input)).toThrow(expect.objectContaining({ code, details: field ? expect.objectContaining({ field }) : expect.anything() }));
  });

  it('gives line and column of a YAML error', () => {
    expect(() => parseConstraintTemplate('kind: ConstraintTemplate\nmetadata:\n  name: [x\n')).toThrow(
      expect.objectContaining({ code: PolicyEngineErrorCode.YAML_INVALID, details: expect.objectContaining({ line: expect.any(Number), column: expect.any(Number) }) }),
    );
  });

  it.each([
    ['metadata.name not lowercase(kind)', (t: typeof v1beta1) => (t.metadata.name = 'requiredlabels'), PolicyEngineErrorCode.TEMPLATE_NAME_MISMATCH, 'metadata.name'],
    ['metadata.name in the kind case', (t: typeof v1beta1) => (t.metadata.name = 'K8sRequiredLabels'), PolicyEngineErrorCode.TEMPLATE_NAME_MISMATCH, 'metadata.name'],
    ['no rego', (t: typeof v1beta1) => delete (t.spec.targets[0] as { rego?: string }).rego, PolicyEngineErrorCode.TEMPLATE_REGO_MISSING, 'spec.targets[0].rego'],
    ['blank rego', (t: typeof v1beta1) => (t.spec.targets[0].rego = '  \n'), PolicyEngineErrorCode.TEMPLATE_REGO_MISSING, 'spec.targets[0].rego'],
    ['an unknown apiVersion', (t: typeof v1beta1) => (t.apiVersion = 'templates.gatekeeper.sh/v2'), PolicyEngineErrorCode.TEMPLATE_INVALID, 'apiVersion'],
    ['another kind', (t: typeof v1beta1) => (t.kind = 'Constraint'), PolicyEngineErrorCode.TEMPLATE_INVALID, 'kind'],
    ['no names.kind', (t: typeof v1beta1) => delete (t.spec.crd.spec.names as { kind?: string }).kind, PolicyEngineErrorCode.TEMPLATE_INVALID, 'spec.crd.spec.names.kind'],
    ['two targets', (t: typeof v1beta1) => t.spec.targets.push(t.spec.targets[0]), PolicyEngineErrorCode.TEMPLATE_INVALID, 'spec.targets'],
    ['another target', (t: typeof v1beta1) => (t.spec.targets[0].target = 'authorization.k8s.io'), PolicyEngineErrorCode.TEMPLATE_INVALID, 'spec.targets[0].target'],
    ['libs that are not strings', (t: typeof v1beta1) => ((t.spec.targets[0] as { libs: unknown }).libs = [1]), PolicyEngineErrorCode.TEMPLATE_INVALID, 'spec.targets[0].libs[0]'],
    [
      'rego without a package',
      (t: typeof v1beta1) => (t.spec.targets[0].rego = 'violation[{"msg": "x"}] { true }'),
      PolicyEngineErrorCode.TEMPLATE_INVALID,
      'spec.targets[0].rego',
    ],
    [
      'a schema that is not an object',
      (t: typeof v1beta1) => ((t.spec.crd.spec.validation as { openAPIV3Schema: unknown }).openAPIV3Schema = 'x'),
      PolicyEngineErrorCode.TEMPLATE_INVALID,
      'spec.crd.spec.validation.openAPIV3Schema',
    ],
    [
      'legacySchema not a boolean',
      (t: typeof v1beta1) => ((t.spec.crd.spec.validation as { legacySchema: unknown }).legacySchema = 'yes'),
      PolicyEngineErrorCode.TEMPLATE_INVALID,
      'spec.crd.spec.validation.legacySchema',
    ],
  ])('refuses %s', (_what, patch, code, field) => {
    expect(() => parseConstraintTemplate(withSpec(patch))).toThrow(expect.objectContaining({ code, details: expect.objectContaining({ field }) }));
  });

  it('refuses a CEL-only template, saying why', () => {
    const t = structuredClone(v1WithCode);
    t.spec.targets[0].code = [t.spec.targets[0].code[0]];
    expect(() => parseConstraintTemplate(t)).toThrow(expect.objectContaining({ code: PolicyEngineErrorCode.TEMPLATE_REGO_MISSING, message: expect.stringContaining('CEL') }));
  });

  it('refuses rego given twice and differently', () => {
    const t = structuredClone(v1WithCode) as unknown as { spec: { targets: { rego?: string }[] } };
    t.spec.targets[0].rego = 'package other\nviolation[{"msg": "x"}] { true }';
    expect(() => parseConstraintTemplate(t as never)).toThrow(
      expect.objectContaining({ code: PolicyEngineErrorCode.TEMPLATE_INVALID, details: { field: 'spec.targets[0].code[1].source.rego' } }),
    );
  });
});

describe(regoPackage.name, () => {
  it('finds the package after comments, strips data.', () => {
    expect(regoPackage('# comment\n\npackage data.k8s.labels\n')).toBe('k8s.labels');
    expect(regoPackage('package a.b # trailing\n')).toBe('a.b');
    expect(regoPackage('import future.keywords\npackage x')).toBeUndefined();
    expect(entrypointForPackage('farpoint.recipes.nolatest')).toBe('farpoint/recipes/nolatest/violation');
  });
});
