import { committedSchema, printApiSchema } from './schema-printer';

describe('schema.gql', () => {
  it('matches the schema the code serves (run `npm run schema:print` after changing resolvers)', async () => {
    expect(committedSchema()).toBe(await printApiSchema());
  }, 60_000);
});
