import { validateParameters } from './parameters-schema';

const schema = {
  type: 'object',
  properties: {
    labels: { type: 'array', minItems: 1, items: { type: 'object', required: ['key'], properties: { key: { type: 'string', minLength: 1 }, allowedRegex: { type: 'string' } } } },
    mode: { type: 'string', enum: ['strict', 'lax'] },
    replicas: { type: 'integer', minimum: 1, maximum: 10 },
    ports: { type: 'array', items: { 'x-kubernetes-int-or-string': true } },
  },
};

describe(validateParameters.name, () => {
  it('accepts parameters that fit, and unknown fields (the API server prunes them)', () => {
    expect(validateParameters(schema, { labels: [{ key: 'owner' }], mode: 'lax', replicas: 3, ports: [80, 'http'], extra: true })).toEqual([]);
  });

  it('accepts anything without a schema', () => {
    expect(validateParameters(null, { whatever: 1 })).toEqual([]);
  });

  it('names every problem with its path', () => {
    expect(validateParameters(schema, { labels: [{ allowedRegex: 3 }], mode: 'hard', replicas: 1.5 })).toEqual([
      'spec.parameters.labels[0].key is required',
      'spec.parameters.labels[0].allowedRegex must be a string, got number',
      'spec.parameters.mode must be one of "strict", "lax"',
      'spec.parameters.replicas must be an integer, got number',
    ]);
    expect(validateParameters(schema, { labels: [], replicas: 11 })).toEqual(['spec.parameters.labels must have at least 1 items', 'spec.parameters.replicas must be at most 10']);
    expect(validateParameters(schema, ['not', 'an', 'object'])).toEqual(['spec.parameters must be an object, got array']);
  });
});
