import { buildSchema, getOperationAST, parse } from 'graphql';
import { operationLabel } from './graphql-metrics.plugin';

const schema = buildSchema(`
  type Query { viewer: String, sites: [String] }
  type Mutation { createSite(name: String): String }
`);

function label(query: string, operationName?: string): string {
  const document = parse(query);
  return operationLabel(schema, document, getOperationAST(document, operationName) ?? undefined);
}

describe(operationLabel.name, () => {
  it('is the root field the schema has, never the operation name', () => {
    expect(label('query SecretTenantName { viewer }')).toBe('viewer');
    expect(label('mutation { createSite(name: "x") }')).toBe('createSite');
  });

  it('follows fragments and aliases to the root fields they select', () => {
    expect(label('query { ...F } fragment F on Query { v: viewer }')).toBe('viewer');
    expect(label('query { ... on Query { viewer } viewer }')).toBe('viewer');
  });

  it('is "multiple" for several root fields and "other" for anything the schema does not have', () => {
    expect(label('{ viewer sites }')).toBe('multiple');
    expect(label('{ nope }')).toBe('other');
    expect(label('{ viewer nope }')).toBe('other');
    expect(label('subscription { viewer }')).toBe('other');
  });

  it('counts introspection like a root field', () => {
    expect(label('{ __schema { queryType { name } } }')).toBe('__schema');
  });

  it('is "other" when the operation could not be resolved', () => {
    expect(operationLabel(schema, undefined, undefined)).toBe('other');
  });
});
