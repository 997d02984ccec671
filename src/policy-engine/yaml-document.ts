import { CORE_SCHEMA, loadAll, YAMLException } from 'js-yaml';
import { PolicyEngineError, PolicyEngineErrorCode } from './errors';

/**
 * One YAML document as a plain object. CORE_SCHEMA: no dates or other JS types, so what a policy
 * sees is what JSON would carry (as in Kubernetes). Errors carry line and column, never the text.
 */
export function parseYamlObject(text: string, what: string): Record<string, unknown> {
  let documents: unknown[];
  try {
    documents = loadAll(text, undefined, { schema: CORE_SCHEMA });
  } catch (error) {
    if (error instanceof YAMLException) {
      const line = error.mark ? error.mark.line + 1 : undefined;
      const column = error.mark ? error.mark.column + 1 : undefined;
      throw new PolicyEngineError(PolicyEngineErrorCode.YAML_INVALID, `${what} is not valid YAML: ${error.reason}${line ? ` (line ${line}, column ${column})` : ''}`, {
        line,
        column,
      });
    }
    throw error;
  }
  const present = documents.filter((d) => d !== null && d !== undefined);
  if (present.length !== 1) {
    throw new PolicyEngineError(PolicyEngineErrorCode.YAML_INVALID, `${what} must be exactly one YAML document, found ${present.length}`);
  }
  if (!isPlainObject(present[0])) {
    throw new PolicyEngineError(PolicyEngineErrorCode.YAML_INVALID, `${what} must be a YAML mapping`);
  }
  return present[0];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Typed reads of an untrusted document that throw `code` naming the field path. */
export class FieldReader {
  constructor(
    private readonly code: PolicyEngineErrorCode,
    private readonly what: string,
  ) {}

  fail(field: string, problem: string): never {
    throw new PolicyEngineError(this.code, `${this.what}: ${field} ${problem}`, { field });
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (!isPlainObject(value)) {
      this.fail(field, 'must be an object');
    }
    return value;
  }

  optionalObject(value: unknown, field: string): Record<string, unknown> | undefined {
    return value === undefined || value === null ? undefined : this.object(value, field);
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value === '') {
      this.fail(field, 'must be a non-empty string');
    }
    return value;
  }

  optionalString(value: unknown, field: string): string | undefined {
    if (value === undefined || value === null) {
      return undefined;
    }
    if (typeof value !== 'string') {
      this.fail(field, 'must be a string');
    }
    return value;
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) {
      this.fail(field, 'must be a list');
    }
    return value;
  }

  stringList(value: unknown, field: string): string[] {
    return this.array(value, field).map((item, i) => {
      if (typeof item !== 'string') {
        this.fail(`${field}[${i}]`, 'must be a string');
      }
      return item;
    });
  }

  optionalStringList(value: unknown, field: string): string[] | undefined {
    return value === undefined || value === null ? undefined : this.stringList(value, field);
  }

  onlyKeys(value: Record<string, unknown>, field: string, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.fail(field ? `${field}.${key}` : key, `is not a known field (expected one of: ${allowed.join(', ')})`);
      }
    }
  }
}
