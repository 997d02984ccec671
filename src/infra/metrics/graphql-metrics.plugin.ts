import type { ApolloServerPlugin } from '@apollo/server';
import { type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, Kind, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { type MetricsService } from './metrics.service';

const INTROSPECTION_FIELDS = new Set(['__schema', '__type', '__typename']);

/**
 * The `name` label of an operation: its root field when it selects exactly one that the schema has
 * (`clusters`, `createSite`), `multiple` when it selects several, `other` otherwise. Never the
 * client's operation name, which is free text: random names would grow the series without bound and
 * show one tenant's naming to whoever scrapes.
 */
export function operationLabel(schema: GraphQLSchema, document: DocumentNode | undefined, operation: OperationDefinitionNode | undefined): string {
  if (!document || !operation) {
    return 'other';
  }
  const root = schema.getRootType(operation.operation);
  if (!root) {
    return 'other';
  }
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const fields = new Set<string>();
  const collect = (set: SelectionSetNode, seen: Set<string>): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        fields.add(selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collect(selection.selectionSet, seen);
      } else if (!seen.has(selection.name.value)) {
        const fragment = fragments.get(selection.name.value);
        if (fragment) {
          collect(fragment.selectionSet, new Set([...seen, selection.name.value]));
        }
      }
    }
  };
  collect(operation.selectionSet, new Set());
  const known = root.getFields();
  if (fields.size === 0 || [...fields].some((name) => !(name in known) && !INTROSPECTION_FIELDS.has(name))) {
    return 'other';
  }
  return fields.size === 1 ? [...fields][0] : 'multiple';
}

/** Counts GraphQL operations by type, root field (see operationLabel) and whether they returned errors. */
export function graphqlMetricsPlugin(metrics: MetricsService, schema: () => GraphQLSchema): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ document, operation, errors }) {
          metrics.graphqlOperations.inc({ type: operation?.operation ?? 'unknown', name: operationLabel(schema(), document, operation), outcome: errors?.length ? 'error' : 'ok' });
        },
      };
    },
  };
}
