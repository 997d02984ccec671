/**
 * Checks Constraint parameters against a template's openAPIV3Schema the way the Kubernetes API server
 * checks a CRD (Gatekeeper's Constraint CRD embeds that schema under spec.parameters): types, enum,
 * required, items, properties, additionalProperties, bounds and patterns. Unknown fields are not an
 * error (the API server prunes them; legacySchema preserves them). Returns problems with their paths.
 */
export function validateParameters(schema: Record<string, unknown> | null | undefined, parameters: unknown): string[] {
  const problems: string[] = [];
  if (schema) {
    check(schema, parameters, 'spec.parameters', problems);
  }
  return problems;
}

type Schema = Record<string, unknown>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function check(schema: Schema, value: unknown, path: string, problems: string[]): void {
  if (value === null && schema.nullable === true) {
    return;
  }
  if (value === undefined) {
    return;
  }
  const type = schema.type;
  if (typeof type === 'string') {
    const ok =
      type === 'integer'
        ? typeof value === 'number' && Number.isInteger(value)
        : type === 'number'
          ? typeof value === 'number'
          : type === 'object'
            ? isObject(value)
            : type === 'array'
              ? Array.isArray(value)
              : typeOf(value) === type;
    // int-or-string accepts either (x-kubernetes-int-or-string)
    const intOrString = schema['x-kubernetes-int-or-string'] === true && (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)));
    if (!ok && !intOrString) {
      problems.push(`${path} must be ${type === 'integer' || type === 'array' || type === 'object' ? `an ${type}` : `a ${type}`}, got ${typeOf(value)}`);
      return;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    problems.push(`${path} must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) {
      problems.push(`${path} must have at least ${schema.minLength} characters`);
    }
    if (typeof schema.maxLength === 'number' && [...value].length > schema.maxLength) {
      problems.push(`${path} must have at most ${schema.maxLength} characters`);
    }
    if (typeof schema.pattern === 'string') {
      let re: RegExp | undefined;
      try {
        re = new RegExp(schema.pattern, 'u');
      } catch {
        re = undefined;
      }
      if (re && !re.test(value)) {
        problems.push(`${path} must match ${schema.pattern}`);
      }
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && (schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum)) {
      problems.push(`${path} must be at least ${schema.minimum}`);
    }
    if (typeof schema.maximum === 'number' && (schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum)) {
      problems.push(`${path} must be at most ${schema.maximum}`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
      problems.push(`${path} must have at least ${schema.minItems} items`);
    }
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) {
      problems.push(`${path} must have at most ${schema.maxItems} items`);
    }
    if (isObject(schema.items)) {
      value.forEach((item, i) => check(schema.items as Schema, item, `${path}[${i}]`, problems));
    }
  }
  if (isObject(value)) {
    const properties = isObject(schema.properties) ? schema.properties : {};
    for (const key of Array.isArray(schema.required) ? schema.required : []) {
      if (typeof key === 'string' && !(key in value)) {
        problems.push(`${path}.${key} is required`);
      }
    }
    for (const [key, v] of Object.entries(value)) {
      const sub = properties[key];
      if (isObject(sub)) {
        check(sub, v, `${path}.${key}`, problems);
      } else if (isObject(schema.additionalProperties)) {
        check(schema.additionalProperties, v, `${path}.${key}`, problems);
      }
    }
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = schema[key];
    if (!Array.isArray(list)) {
      continue;
    }
    const results = list.filter(isObject).map((s) => {
      const sub: string[] = [];
      check(s, value, path, sub);
      return sub;
    });
    const passing = results.filter((r) => r.length === 0).length;
    if (key === 'allOf') {
      results.forEach((r) => problems.push(...r));
    } else if (key === 'anyOf' && passing === 0 && results.length > 0) {
      problems.push(`${path} matches none of the anyOf schemas`);
    } else if (key === 'oneOf' && passing !== 1 && results.length > 0) {
      problems.push(`${path} must match exactly one of the oneOf schemas (matches ${passing})`);
    }
  }
  if (isObject(schema.not)) {
    const sub: string[] = [];
    check(schema.not, value, path, sub);
    if (sub.length === 0) {
      problems.push(`${path} must not match the "not" schema`);
    }
  }
}
