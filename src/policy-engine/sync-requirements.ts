import { PolicyEngineError, PolicyEngineErrorCode } from './errors';
import { isPlainObject } from './yaml-document';

/** The annotation with which Gatekeeper templates declare the cluster objects they read from data.inventory. */
export const REQUIRES_SYNC_DATA_ANNOTATION = 'metadata.gatekeeper.sh/requires-sync-data';
/** More kinds than any referential template reads: each one is a watch the agent keeps open. */
export const MAX_SYNC_KINDS = 16;

/** One kind a referential template reads from data.inventory ("" is the core group). */
export interface SyncKind {
  group: string;
  version: string;
  kind: string;
}

const invalid = (message: string) =>
  new PolicyEngineError(PolicyEngineErrorCode.TEMPLATE_INVALID, `ConstraintTemplate: metadata.annotations["${REQUIRES_SYNC_DATA_ANNOTATION}"] ${message}`, {
    field: `metadata.annotations.${REQUIRES_SYNC_DATA_ANNOTATION}`,
  });

function names(value: unknown, what: string, pattern: RegExp): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && pattern.test(v))) {
    throw invalid(`: ${what} must be a non-empty list of names`);
  }
  return value as string[];
}

/**
 * The annotation's JSON: plain, a properly escaped JSON string of it, or as Gatekeeper's library writes
 * it, `"[[{"groups": …}]]"` with the inner quotes unescaped (Gatekeeper trims newlines and quotes first).
 */
function readJson(annotation: string): unknown {
  const attempts = [annotation.trim(), annotation.replace(/^[\n"]+|[\n"]+$/g, '').trim()];
  for (const text of attempts) {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'string' ? JSON.parse(value) : value;
    } catch {
      // the next form
    }
  }
  throw invalid('is not JSON (a list of lists of {groups, versions, kinds})');
}

/**
 * Reads Gatekeeper's requires-sync-data annotation: a JSON list of requirements, each a list of
 * alternatives `{groups, versions, kinds}`, usually written as a JSON string inside the YAML string
 * (`"[[{...}]]"`, quotes included). The agent syncs every kind named, the union of all alternatives:
 * what a template may read is what it is given, and a kind with no objects costs one idle watch.
 */
export function parseSyncRequirements(annotation: unknown): SyncKind[] {
  if (annotation === undefined) {
    return [];
  }
  if (typeof annotation !== 'string') {
    throw invalid('must be a string');
  }
  const value = readJson(annotation);
  if (!Array.isArray(value)) {
    throw invalid('must be a list of requirements');
  }
  const kinds = new Map<string, SyncKind>();
  for (const requirement of value) {
    if (!Array.isArray(requirement)) {
      throw invalid(': each requirement must be a list of {groups, versions, kinds}');
    }
    for (const alternative of requirement) {
      if (!isPlainObject(alternative)) {
        throw invalid(': each alternative must be an object {groups, versions, kinds}');
      }
      const groups = names(alternative.groups, 'groups', /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)?$/);
      const versions = names(alternative.versions, 'versions', /^v[0-9a-z]{1,30}$/);
      const kindNames = names(alternative.kinds, 'kinds', /^[A-Z][A-Za-z0-9]{0,62}$/);
      for (const group of groups) {
        for (const version of versions) {
          for (const kind of kindNames) {
            kinds.set(`${group}/${version}/${kind}`, { group, version, kind });
          }
        }
      }
    }
  }
  if (kinds.size > MAX_SYNC_KINDS) {
    throw invalid(`names ${kinds.size} kinds, more than the ${MAX_SYNC_KINDS} the agent watches for one template`);
  }
  return [...kinds.values()].sort((a, b) => `${a.group}/${a.version}/${a.kind}`.localeCompare(`${b.group}/${b.version}/${b.kind}`));
}
