import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { FarpointError } from '../../common/errors/farpoint-error';

// Gatekeeper's schemas are Kubernetes structural schemas (OpenAPI v3): `nullable` and the
// x-kubernetes-* extensions are theirs, so unknown keywords are allowed rather than refused.
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: Record<string, unknown>, field: string): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      throw FarpointError.badInput(`The parameters schema is not a valid JSON schema: ${(error as Error).message}`, field);
    }
    compiled.set(schema, validate);
  }
  return validate;
}

/** Refuses a schema Ajv cannot compile (BAD_USER_INPUT on `field`). */
export function assertParametersSchema(schema: Record<string, unknown> | null | undefined, field: string): void {
  if (schema) {
    validatorFor(schema, field);
  }
}

const describe = (e: ErrorObject) => `${e.instancePath ? `parameters${e.instancePath.replace(/\//g, '.')}` : 'parameters'} ${e.message ?? 'is invalid'}`;

/**
 * Checks constraint parameters against the template version's schema; BAD_USER_INPUT on `field`
 * listing every problem (with `extensions.problems` paths). Without a schema only {} is accepted.
 */
export function assertParameters(schema: Record<string, unknown> | null, parameters: Record<string, unknown>, field: string): void {
  if (!schema) {
    if (Object.keys(parameters).length > 0) {
      throw FarpointError.badInput('This template takes no parameters (its version has no parameters schema).', field);
    }
    return;
  }
  const validate = validatorFor(schema, `${field}Schema`);
  if (validate(parameters)) {
    return;
  }
  const problems = (validate.errors ?? []).map(describe);
  throw new FarpointError('BAD_USER_INPUT', `The parameters do not match the template's schema: ${problems.join('; ')}.`, { field, problems });
}
