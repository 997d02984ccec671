import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function literal(node: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (node.kind) {
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literal(f.value, variables)]));
    case Kind.LIST:
      return node.values.map((v) => literal(v, variables));
    case Kind.STRING:
    case Kind.BOOLEAN:
    case Kind.ENUM:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.VARIABLE:
      return variables?.[node.name.value];
  }
}

/**
 * A JSON object (parameters, schemas, Kubernetes objects, match). Refused as input unless it is an
 * object, so services never see a string or an array where a document belongs.
 */
export const JSONObjectScalar = new GraphQLScalarType<Record<string, unknown>, Record<string, unknown>>({
  name: 'JSONObject',
  description: 'A JSON object.',
  serialize: (value) => value as Record<string, unknown>,
  parseValue: (value) => {
    if (!isPlainObject(value)) {
      throw new GraphQLError('Expected a JSON object.', { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return value;
  },
  parseLiteral: (node, variables) => {
    const value = literal(node, variables);
    if (!isPlainObject(value)) {
      throw new GraphQLError('Expected a JSON object.', { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return value;
  },
});
