import { PolicyEngineError, PolicyEngineErrorCode } from './errors';
import { parseSyncRequirements, REQUIRES_SYNC_DATA_ANNOTATION } from './sync-requirements';
import type { ParsedConstraintTemplate, RegoVersion } from './types';
import { FieldReader, isPlainObject, parseYamlObject } from './yaml-document';

const TEMPLATE_API_VERSIONS = ['templates.gatekeeper.sh/v1', 'templates.gatekeeper.sh/v1beta1'];
const ADMISSION_TARGET = 'admission.k8s.gatekeeper.sh';
const TITLE_ANNOTATION = 'metadata.gatekeeper.sh/title';
const DESCRIPTION_ANNOTATION = 'description';

/**
 * Parses a Gatekeeper ConstraintTemplate (templates.gatekeeper.sh v1 or v1beta1) as Gatekeeper accepts
 * it: kind from spec.crd.spec.names.kind (metadata.name must be its lowercase), parameters schema from
 * spec.crd.spec.validation.openAPIV3Schema, Rego and libs from spec.targets[0].rego/libs or from
 * code[engine=Rego].source. A template that also carries a CEL engine keeps its Rego (hasCelEngine).
 */
export function parseConstraintTemplate(yamlOrObject: string | Record<string, unknown>): ParsedConstraintTemplate {
  const doc = typeof yamlOrObject === 'string' ? parseYamlObject(yamlOrObject, 'ConstraintTemplate') : yamlOrObject;
  const r = new FieldReader(PolicyEngineErrorCode.TEMPLATE_INVALID, 'ConstraintTemplate');
  if (!isPlainObject(doc)) {
    r.fail('document', 'must be an object');
  }

  const apiVersion = r.string(doc.apiVersion, 'apiVersion');
  if (!TEMPLATE_API_VERSIONS.includes(apiVersion)) {
    r.fail('apiVersion', `must be one of ${TEMPLATE_API_VERSIONS.join(', ')} (got "${apiVersion}")`);
  }
  if (doc.kind !== 'ConstraintTemplate') {
    r.fail('kind', `must be ConstraintTemplate (got ${JSON.stringify(doc.kind)})`);
  }
  const metadata = r.object(doc.metadata, 'metadata');
  const name = r.string(metadata.name, 'metadata.name');

  const spec = r.object(doc.spec, 'spec');
  const crd = r.object(spec.crd, 'spec.crd');
  const crdSpec = r.object(crd.spec, 'spec.crd.spec');
  const names = r.object(crdSpec.names, 'spec.crd.spec.names');
  const kind = r.string(names.kind, 'spec.crd.spec.names.kind');
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(kind)) {
    r.fail('spec.crd.spec.names.kind', `must be a Kubernetes kind (letters and digits), got "${kind}"`);
  }
  if (name !== kind.toLowerCase()) {
    throw new PolicyEngineError(
      PolicyEngineErrorCode.TEMPLATE_NAME_MISMATCH,
      `ConstraintTemplate: metadata.name "${name}" must be the lowercase of spec.crd.spec.names.kind "${kind}" ("${kind.toLowerCase()}"), as Gatekeeper requires`,
      { field: 'metadata.name' },
    );
  }

  let parametersSchema: Record<string, unknown> | null = null;
  let legacySchema: boolean | undefined;
  const validation = r.optionalObject(crdSpec.validation, 'spec.crd.spec.validation');
  if (validation) {
    parametersSchema = r.optionalObject(validation.openAPIV3Schema, 'spec.crd.spec.validation.openAPIV3Schema') ?? null;
    if (validation.legacySchema !== undefined && validation.legacySchema !== null) {
      if (typeof validation.legacySchema !== 'boolean') {
        r.fail('spec.crd.spec.validation.legacySchema', 'must be true or false');
      }
      legacySchema = validation.legacySchema as boolean;
    }
  }

  const targets = r.array(spec.targets, 'spec.targets');
  if (targets.length !== 1) {
    r.fail('spec.targets', `must hold exactly one target, as Gatekeeper requires (found ${targets.length})`);
  }
  const target = r.object(targets[0], 'spec.targets[0]');
  const targetName = r.string(target.target, 'spec.targets[0].target');
  if (targetName !== ADMISSION_TARGET) {
    r.fail('spec.targets[0].target', `must be ${ADMISSION_TARGET} (got "${targetName}")`);
  }

  let rego = r.optionalString(target.rego, 'spec.targets[0].rego');
  let libs = r.optionalStringList(target.libs, 'spec.targets[0].libs') ?? [];
  let regoVersion: RegoVersion = 'v0';
  let hasCelEngine = false;
  let regoField = 'spec.targets[0].rego';
  if (target.code !== undefined && target.code !== null) {
    const code = r.array(target.code, 'spec.targets[0].code');
    let seenRego = false;
    code.forEach((entry, i) => {
      const field = `spec.targets[0].code[${i}]`;
      const c = r.object(entry, field);
      const engine = r.string(c.engine, `${field}.engine`);
      if (engine === 'K8sNativeValidation') {
        hasCelEngine = true;
        return;
      }
      if (engine !== 'Rego') {
        return;
      } // other engines are Gatekeeper's to know; only Rego runs here
      if (seenRego) {
        r.fail(`${field}.engine`, 'Rego is given twice');
      }
      seenRego = true;
      const source = r.object(c.source, `${field}.source`);
      const codeRego = r.string(source.rego, `${field}.source.rego`);
      if (rego && rego.trim() !== codeRego.trim()) {
        r.fail(`${field}.source.rego`, 'differs from spec.targets[0].rego: give the Rego once');
      }
      rego = codeRego;
      regoField = `${field}.source.rego`;
      const codeLibs = r.optionalStringList(source.libs, `${field}.source.libs`);
      if (codeLibs) {
        libs = codeLibs;
      }
      const version = r.optionalString(source.version, `${field}.source.version`);
      if (version !== undefined && version !== 'v0' && version !== 'v1') {
        r.fail(`${field}.source.version`, `must be v0 or v1 (got "${version}")`);
      }
      if (version === 'v1') {
        regoVersion = 'v1';
      }
    });
  }
  if (!rego || rego.trim() === '') {
    throw new PolicyEngineError(
      PolicyEngineErrorCode.TEMPLATE_REGO_MISSING,
      hasCelEngine
        ? 'ConstraintTemplate: only a CEL (K8sNativeValidation) engine is given; Farpoint evaluates Rego: add spec.targets[0].rego or code[engine=Rego]'
        : 'ConstraintTemplate: spec.targets[0] has no Rego (rego, or code with engine Rego)',
      { field: 'spec.targets[0].rego' },
    );
  }
  const pkg = regoPackage(rego) ?? r.fail(regoField, 'must start with a package declaration such as "package k8srequiredlabels"');
  libs.forEach((lib, i) => {
    if (!regoPackage(lib)) {
      r.fail(`${regoField.replace(/rego$/, 'libs')}[${i}]`, 'must start with a package declaration');
    }
  });

  const annotations = isPlainObject(metadata.annotations) ? metadata.annotations : {};
  const title = typeof annotations[TITLE_ANNOTATION] === 'string' ? annotations[TITLE_ANNOTATION] : undefined;
  const description = typeof annotations[DESCRIPTION_ANNOTATION] === 'string' ? annotations[DESCRIPTION_ANNOTATION] : undefined;
  const syncKinds = parseSyncRequirements(annotations[REQUIRES_SYNC_DATA_ANNOTATION]);

  return {
    name,
    kind,
    apiVersion,
    parametersSchema,
    ...(legacySchema !== undefined ? { legacySchema } : {}),
    rego,
    libs,
    package: pkg,
    entrypoint: entrypointForPackage(pkg),
    regoVersion,
    hasCelEngine,
    targets: targetName,
    syncKinds,
    ...(title !== undefined ? { title } : {}),
    ...(description !== undefined ? { description } : {}),
    metadata,
  };
}

/** The package a Rego module declares ("a.b.c"), or undefined; comments and blank lines before it are skipped. */
export function regoPackage(rego: string): string | undefined {
  for (const raw of rego.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') {
      continue;
    }
    const m = /^package\s+([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$/.exec(line);
    return m ? m[1].replace(/^data\./, '') : undefined;
  }
  return undefined;
}

/** "k8s.required" → "k8s/required/violation": what `opa build -e` takes and the engine evaluates. */
export function entrypointForPackage(pkg: string): string {
  return `${pkg.split('.').join('/')}/violation`;
}
