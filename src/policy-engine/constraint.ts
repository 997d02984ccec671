import { PolicyEngineErrorCode } from './errors';
import { ENFORCEMENT_ACTIONS, type ConstraintMatch, type EnforcementAction, type LabelSelector, type LabelSelectorRequirement, type ParsedConstraint } from './types';
import { FieldReader, isPlainObject, parseYamlObject } from './yaml-document';

const CONSTRAINT_API_VERSIONS = ['constraints.gatekeeper.sh/v1beta1', 'constraints.gatekeeper.sh/v1', 'constraints.gatekeeper.sh/v1alpha1'];
const MATCH_FIELDS = ['kinds', 'namespaces', 'excludedNamespaces', 'labelSelector', 'namespaceSelector', 'scope', 'name', 'source'];
const SCOPES = ['*', 'Cluster', 'Namespaced'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/**
 * Parses a Gatekeeper Constraint (constraints.gatekeeper.sh): kind (= its template's kind, which the
 * caller resolves), spec.parameters ({} when absent), spec.match (checked field by field) and
 * spec.enforcementAction (deny when absent; warn, dryrun). Parameters are checked against the
 * template's schema by the caller, which knows the template.
 */
export function parseConstraint(yamlOrObject: string | Record<string, unknown>): ParsedConstraint {
  const doc = typeof yamlOrObject === 'string' ? parseYamlObject(yamlOrObject, 'Constraint') : yamlOrObject;
  const r = new FieldReader(PolicyEngineErrorCode.CONSTRAINT_INVALID, 'Constraint');
  if (!isPlainObject(doc)) {
    r.fail('document', 'must be an object');
  }
  const apiVersion = r.string(doc.apiVersion, 'apiVersion');
  if (!CONSTRAINT_API_VERSIONS.includes(apiVersion)) {
    r.fail('apiVersion', `must be one of ${CONSTRAINT_API_VERSIONS.join(', ')} (got "${apiVersion}")`);
  }
  const kind = r.string(doc.kind, 'kind');
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(kind)) {
    r.fail('kind', `must be a template's kind (letters and digits), got "${kind}"`);
  }
  const metadata = r.object(doc.metadata, 'metadata');
  const name = r.string(metadata.name, 'metadata.name');
  const spec = r.optionalObject(doc.spec, 'spec') ?? {};

  const parameters = r.optionalObject(spec.parameters, 'spec.parameters') ?? {};
  const matchDoc = r.optionalObject(spec.match, 'spec.match');
  const match = matchDoc ? parseMatch(matchDoc, r, 'spec.match') : undefined;

  let enforcementAction: EnforcementAction = 'deny';
  if (spec.enforcementAction !== undefined && spec.enforcementAction !== null) {
    const action = r.string(spec.enforcementAction, 'spec.enforcementAction');
    if (!(ENFORCEMENT_ACTIONS as readonly string[]).includes(action)) {
      r.fail(
        'spec.enforcementAction',
        `must be one of ${ENFORCEMENT_ACTIONS.join(', ')} (got "${action}"${action === 'scoped' ? '; scoped enforcement actions are not supported' : ''})`,
      );
    }
    enforcementAction = action as EnforcementAction;
  }
  return { apiVersion, kind, name, parameters, ...(match ? { match } : {}), enforcementAction, metadata };
}

/** Checks a spec.match document (also what evaluatePolicy accepts as `match`). Throws CONSTRAINT_INVALID naming the field. */
export function parseConstraintMatch(value: unknown, field = 'match'): ConstraintMatch {
  const r = new FieldReader(PolicyEngineErrorCode.CONSTRAINT_INVALID, 'Constraint');
  return parseMatch(r.object(value, field), r, field);
}

function parseMatch(m: Record<string, unknown>, r: FieldReader, field: string): ConstraintMatch {
  r.onlyKeys(m, field, MATCH_FIELDS);
  const match: ConstraintMatch = {};
  if (m.kinds !== undefined && m.kinds !== null) {
    match.kinds = r.array(m.kinds, `${field}.kinds`).map((entry, i) => {
      const f = `${field}.kinds[${i}]`;
      const k = r.object(entry, f);
      r.onlyKeys(k, f, ['apiGroups', 'kinds']);
      const apiGroups = r.optionalStringList(k.apiGroups, `${f}.apiGroups`);
      const kinds = r.optionalStringList(k.kinds, `${f}.kinds`);
      return { ...(apiGroups ? { apiGroups } : {}), ...(kinds ? { kinds } : {}) };
    });
  }
  for (const key of ['namespaces', 'excludedNamespaces'] as const) {
    const list = r.optionalStringList(m[key], `${field}.${key}`);
    if (list) {
      list.forEach((n, i) => checkGlob(n, r, `${field}.${key}[${i}]`));
      match[key] = list;
    }
  }
  for (const key of ['labelSelector', 'namespaceSelector'] as const) {
    const selector = r.optionalObject(m[key], `${field}.${key}`);
    if (selector) {
      match[key] = parseLabelSelector(selector, r, `${field}.${key}`);
    }
  }
  const scope = r.optionalString(m.scope, `${field}.scope`);
  if (scope !== undefined && scope !== '') {
    if (!SCOPES.includes(scope)) {
      r.fail(`${field}.scope`, `must be one of ${SCOPES.join(', ')} (got "${scope}")`);
    }
    match.scope = scope as ConstraintMatch['scope'];
  }
  const name = r.optionalString(m.name, `${field}.name`);
  if (name !== undefined && name !== '') {
    checkGlob(name, r, `${field}.name`);
    match.name = name;
  }
  // `source` (Generated/Original/All) concerns Gatekeeper's expansion of generator resources: accepted, not used.
  return match;
}

function checkGlob(pattern: string, r: FieldReader, field: string): void {
  const inner = pattern.replace(/^\*/, '').replace(/\*$/, '');
  if (pattern === '' || inner.includes('*')) {
    r.fail(field, `must be a name or a glob with * only at its start or end (got "${pattern}")`);
  }
}

function parseLabelSelector(s: Record<string, unknown>, r: FieldReader, field: string): LabelSelector {
  r.onlyKeys(s, field, ['matchLabels', 'matchExpressions']);
  const selector: LabelSelector = {};
  const labels = r.optionalObject(s.matchLabels, `${field}.matchLabels`);
  if (labels) {
    selector.matchLabels = {};
    for (const [key, value] of Object.entries(labels)) {
      if (typeof value !== 'string') {
        r.fail(`${field}.matchLabels.${key}`, 'must be a string');
      }
      selector.matchLabels[key] = value;
    }
  }
  if (s.matchExpressions !== undefined && s.matchExpressions !== null) {
    selector.matchExpressions = r.array(s.matchExpressions, `${field}.matchExpressions`).map((entry, i): LabelSelectorRequirement => {
      const f = `${field}.matchExpressions[${i}]`;
      const e = r.object(entry, f);
      r.onlyKeys(e, f, ['key', 'operator', 'values']);
      const key = r.string(e.key, `${f}.key`);
      const operator = r.string(e.operator, `${f}.operator`);
      if (!OPERATORS.includes(operator)) {
        r.fail(`${f}.operator`, `must be one of ${OPERATORS.join(', ')} (got "${operator}")`);
      }
      const values = r.optionalStringList(e.values, `${f}.values`);
      if ((operator === 'In' || operator === 'NotIn') && (!values || values.length === 0)) {
        r.fail(`${f}.values`, `must be non-empty for ${operator}`);
      }
      if ((operator === 'Exists' || operator === 'DoesNotExist') && values && values.length > 0) {
        r.fail(`${f}.values`, `must be empty for ${operator}`);
      }
      return { key, operator: operator as LabelSelectorRequirement['operator'], ...(values ? { values } : {}) };
    });
  }
  return selector;
}
