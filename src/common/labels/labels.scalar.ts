import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { labelKeyProblem, labelValueProblem } from './label-selector';

export type Labels = Record<string, string>;
const MAX_LABELS = 64;

function validateLabels(value: unknown): Labels {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GraphQLError('Labels must be an object of string keys to string values.');
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_LABELS) {
    throw new GraphQLError(`At most ${MAX_LABELS} labels are allowed.`);
  }
  for (const [key, v] of entries) {
    const problem = labelKeyProblem(key) ?? (typeof v === 'string' ? labelValueProblem(v) : `label "${key}" must have a string value`);
    if (problem) {
      throw new GraphQLError(`Invalid labels: ${problem}.`);
    }
  }
  return value as Labels;
}

function literal(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value)]));
    case Kind.STRING:
      return ast.value;
    default:
      throw new GraphQLError('Labels must be an object of string keys to string values.');
  }
}

/** Kubernetes-style labels: `{ "tier": "edge" }`, keys and values validated like Kubernetes does. */
export const LabelsScalar = new GraphQLScalarType({
  name: 'Labels',
  description: 'Kubernetes-style labels: an object of string keys to string values, e.g. {"tier":"edge"}.',
  serialize: (value) => value,
  parseValue: validateLabels,
  parseLiteral: (ast) => validateLabels(literal(ast)),
});
