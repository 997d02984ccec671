import { FarpointError } from '../../common/errors/farpoint-error';
import { assertParameters, assertParametersSchema } from './parameters-schema';

const schema = {
  type: 'object',
  required: ['labels'],
  properties: { labels: { type: 'array', items: { type: 'string' } }, max: { type: 'integer', nullable: true } },
  'x-kubernetes-preserve-unknown-fields': true,
};
const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    return error instanceof FarpointError ? { code: error.code, message: error.message, ...error.details } : error;
  }
  return 'accepted';
};

describe('constraint parameters against the version schema', () => {
  it('accepts what the schema allows (OpenAPI nullable, Kubernetes extensions)', () => {
    expect(refusal(() => assertParameters(schema, { labels: ['team'], max: null }, 'input.parameters'))).toBe('accepted');
  });

  it('refuses every problem at once, with paths', () => {
    expect(refusal(() => assertParameters(schema, { labels: ['team', 3], max: 1.5 }, 'input.parameters'))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.parameters',
      message: expect.stringContaining('do not match'),
      problems: ['parameters.labels.1 must be string', 'parameters.max must be integer'],
    });
    expect(refusal(() => assertParameters(schema, {}, 'p'))).toMatchObject({ problems: ["parameters must have required property 'labels'"] });
  });

  it('a version without a schema takes no parameters', () => {
    expect(refusal(() => assertParameters(null, {}, 'p'))).toBe('accepted');
    expect(refusal(() => assertParameters(null, { a: 1 }, 'p'))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'p' });
  });

  it('refuses a schema that is not a JSON schema', () => {
    expect(refusal(() => assertParametersSchema({ type: 'strin' }, 'input.parametersSchema'))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.parametersSchema' });
  });
});
