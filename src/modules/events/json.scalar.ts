import { GraphQLScalarType } from 'graphql';

/** Opaque JSON for event details (output only). */
const GraphQLJSON = new GraphQLScalarType({ name: 'JSON', description: 'Arbitrary JSON (output only).', serialize: (v) => v, parseValue: (v) => v });
export default GraphQLJSON;
