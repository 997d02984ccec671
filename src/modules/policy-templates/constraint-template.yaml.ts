import { dump } from 'js-yaml';
import type { PolicyTemplate, PolicyTemplateVersion } from '../../generated/prisma/client';
import { PolicySeverity } from '../../generated/prisma/enums';
import { REQUIRES_SYNC_DATA_ANNOTATION, type ParsedConstraintTemplate, type SyncKind } from '../../policy-engine';
import { sha256Hex } from './policy-compiler';

/** Annotations Farpoint reads and writes beside Gatekeeper's own (metadata.gatekeeper.sh/title, description). */
export const ANNOTATION = {
  title: 'farpoint.io/title',
  description: 'farpoint.io/description',
  category: 'farpoint.io/category',
  severity: 'farpoint.io/severity',
  gatekeeperTitle: 'metadata.gatekeeper.sh/title',
  gatekeeperDescription: 'description',
} as const;

const ADMISSION_TARGET = 'admission.k8s.gatekeeper.sh';

export const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The fields of a version that make up its source: equal hashes, equal versions. */
export interface VersionSource {
  kind: string;
  title: string;
  description: string | null;
  category: string | null;
  severity: PolicySeverity;
  rego: string;
  libs: string[];
  parametersSchema: Record<string, unknown> | null;
  tests: { name: string; source: string }[];
  regoVersion: 'V0' | 'V1';
  /** What a referential template reads from data.inventory; absent when nothing (so older hashes stay equal). */
  syncKinds?: SyncKind[];
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(canonical);
  }
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical(value[k])]),
    );
  }
  return value;
}

export const sourceHash = (source: VersionSource) => sha256Hex(JSON.stringify(canonical(source)));

/** A version's source as read from an imported Gatekeeper ConstraintTemplate, and what was read differently. */
export function versionSourceOf(parsed: ParsedConstraintTemplate, tests: { name: string; source: string }[]): { source: VersionSource; warnings: string[] } {
  const warnings: string[] = [];
  const annotations = isPlainObject(parsed.metadata.annotations) ? parsed.metadata.annotations : {};
  const text = (key: string) => (typeof annotations[key] === 'string' && annotations[key].trim() ? annotations[key].trim() : undefined);
  let severity: PolicySeverity = 'MEDIUM';
  const severityText = text(ANNOTATION.severity);
  if (severityText) {
    const upper = severityText.toUpperCase();
    if ((Object.values(PolicySeverity) as string[]).includes(upper)) {
      severity = upper as PolicySeverity;
    } else {
      warnings.push(`Annotation ${ANNOTATION.severity} "${severityText}" is not one of low, medium, high, critical; the version is MEDIUM.`);
    }
  }
  if (parsed.hasCelEngine) {
    warnings.push('The template also has a K8sNativeValidation (CEL) engine; Farpoint evaluates its Rego and ignores the CEL.');
  }
  return {
    source: {
      kind: parsed.kind,
      title: (text(ANNOTATION.title) ?? parsed.title ?? parsed.kind).slice(0, 256),
      description: text(ANNOTATION.description) ?? parsed.description ?? null,
      category: text(ANNOTATION.category) ?? null,
      severity,
      rego: parsed.rego,
      libs: parsed.libs,
      parametersSchema: parsed.parametersSchema,
      tests,
      regoVersion: parsed.regoVersion === 'v1' ? 'V1' : 'V0',
      ...(parsed.syncKinds.length ? { syncKinds: parsed.syncKinds } : {}),
    },
    warnings,
  };
}

/**
 * A version as a Gatekeeper ConstraintTemplate (templates.gatekeeper.sh/v1): Rego v0 in
 * targets[0].rego/libs, Rego v1 in code[engine=Rego] with source.version v1. Importing it again gives
 * the same source (the author's tests are not part of a ConstraintTemplate).
 */
export function exportConstraintTemplate(template: PolicyTemplate, version: PolicyTemplateVersion): string {
  const annotations: Record<string, string> = { [ANNOTATION.gatekeeperTitle]: version.title };
  if (version.description) {
    annotations[ANNOTATION.gatekeeperDescription] = version.description;
  }
  if (version.category) {
    annotations[ANNOTATION.category] = version.category;
  }
  annotations[ANNOTATION.severity] = version.severity.toLowerCase();
  const syncKinds = version.syncKinds as unknown as SyncKind[];
  if (syncKinds.length) {
    // Gatekeeper's own form: one requirement per kind, as a JSON string.
    annotations[REQUIRES_SYNC_DATA_ANNOTATION] = JSON.stringify(syncKinds.map((k) => [{ groups: [k.group], versions: [k.version], kinds: [k.kind] }]));
  }
  const schema = version.parametersSchema as Record<string, unknown> | null;
  const libs = version.libs as string[];
  const target =
    version.regoVersion === 'V1'
      ? { target: ADMISSION_TARGET, code: [{ engine: 'Rego', source: { version: 'v1', rego: version.rego, ...(libs.length ? { libs } : {}) } }] }
      : { target: ADMISSION_TARGET, rego: version.rego, ...(libs.length ? { libs } : {}) };
  const document = {
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: { name: template.name, annotations },
    spec: { crd: { spec: { names: { kind: version.kind }, ...(schema ? { validation: { openAPIV3Schema: schema } } : {}) } }, targets: [target] },
  };
  return dump(document, { lineWidth: -1, noRefs: true });
}
