import type { ApolloServerPlugin } from '@apollo/server';
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
} from 'graphql';
import { type ComplexityEstimatorArgs, fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { ErrorCode } from '../errors/farpoint-error';
import { DEFAULT_PAGE_SIZE } from './pagination';

const isIntrospection = (name: string) => name === '__schema' || name === '__type';

/** The deepest path below a selection set, following fragments. */
function deepest(set: SelectionSetNode | undefined, fragments: Record<string, FragmentDefinitionNode>, seen: Set<string> = new Set()): number {
  let max = 0;
  for (const selection of set?.selections ?? []) {
    if (selection.kind === Kind.FIELD) {
      max = Math.max(max, 1 + deepest(selection.selectionSet, fragments, seen));
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      max = Math.max(max, deepest(selection.selectionSet, fragments, seen));
    } else if (!seen.has(selection.name.value)) {
      max = Math.max(max, deepest(fragments[selection.name.value]?.selectionSet, fragments, new Set([...seen, selection.name.value])));
    }
  }
  return max;
}

/** The operation's root fields, fragments resolved: data fields and introspection fields apart. */
function rootFields(set: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, seen: Set<string> = new Set()): FieldNode[] {
  return set.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) {
      return [selection];
    }
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      return rootFields(selection.selectionSet, fragments, seen);
    }
    const fragment = fragments[selection.name.value];
    if (!fragment || seen.has(selection.name.value)) {
      return [];
    }
    return rootFields(fragment.selectionSet, fragments, new Set([...seen, selection.name.value]));
  });
}

/**
 * Depth of the deepest data path, following fragments. Introspection (`__schema`, `__type`) is not
 * counted: the standard introspection query of GraphiQL, Postman and graphql-codegen is 15 levels
 * deep, and its size is bounded by the schema, not by data. What could make it large, schema lists
 * nested in cycles (fields → type → fields → …), graphql-js refuses itself (MaxIntrospectionDepthRule).
 */
function operationDepth(operation: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>): number {
  return Math.max(
    0,
    ...rootFields(operation.selectionSet, fragments)
      .filter((f) => !isIntrospection(f.name.value))
      .map((f) => 1 + deepest(f.selectionSet, fragments)),
  );
}

/** Introspection costs nothing against GRAPHQL_MAX_COST (see operationDepth for why). */
function introspectionEstimator({ field }: ComplexityEstimatorArgs): number | void {
  return field.name.startsWith('__') ? 0 : undefined;
}

// Errors thrown here are answered with HTTP 500 unless they say otherwise; an over-limit query is the
// caller's mistake. (Apollo moves `http` out of the extensions before the response is sent.)
const BAD_REQUEST = { status: 400 };

/**
 * Paged lists cost their page size times what each item costs. A list asked for without `first` gets
 * the default page size, so leaving `first` out is not a way around the limit.
 */
function pagedEstimator({ field, args, childComplexity }: ComplexityEstimatorArgs): number | void {
  if (!field.args.some((arg) => arg.name === 'first')) {
    return undefined;
  }
  const first = typeof args.first === 'number' ? args.first : DEFAULT_PAGE_SIZE;
  return 1 + childComplexity * Math.max(1, first);
}

/**
 * The cost of an unpaged list (a cluster's nodes, namespaces, workloads), for `complexity` on its
 * field: what each item costs times the number of items a typical edge cluster reports. Limits are
 * static, so this is an estimate; it makes "every workload of 100 clusters" refuse while "the nodes of
 * one cluster" passes.
 */
export function unpagedListCost(typicalItems: number): (options: { childComplexity: number }) => number {
  return ({ childComplexity }) => 1 + childComplexity * typicalItems;
}

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
}

/**
 * The error for an operation deeper or costlier than allowed, or null. Shared by HTTP (the Apollo
 * plugin below) and subscriptions over WebSocket, which Apollo's plugins never see.
 */
function queryLimitError(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  limits: QueryLimits,
): GraphQLError | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) {
    return null;
  } // graphql-js reports the missing or ambiguous operation itself
  const fragments = Object.fromEntries(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const depth = operationDepth(operation, fragments);
  if (depth > limits.maxDepth) {
    return new GraphQLError(`This query is ${depth} levels deep; the limit is ${limits.maxDepth}. Ask for less nesting.`, {
      extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, depth, maxDepth: limits.maxDepth, http: BAD_REQUEST },
    });
  }
  // Variables that do not fit their types are the caller's mistake: graphql-js reports them as
  // BAD_USER_INPUT when it executes. getComplexity would throw the raw coercion error here,
  // which Apollo answers as an INTERNAL_SERVER_ERROR (500).
  if (getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}).errors) {
    return null;
  }
  const cost = getComplexity({
    schema,
    query: document,
    operationName: operationName ?? undefined,
    variables: variables ?? {},
    estimators: [introspectionEstimator, pagedEstimator, fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
  });
  if (cost > limits.maxCost) {
    return new GraphQLError(`This query would cost ${cost}; the limit is ${limits.maxCost}. Ask for smaller pages or fewer fields.`, {
      extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, cost, maxCost: limits.maxCost, http: BAD_REQUEST },
    });
  }
  return null;
}

/**
 * Refuses operations deeper or costlier than configured before any resolver runs, so one request
 * cannot make the API walk the whole fleet.
 */
export function queryLimitsPlugin(limits: QueryLimits, schema: () => GraphQLSchema): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const error = queryLimitError(schema(), document, request.operationName, request.variables, limits);
          if (error) {
            throw error;
          }
        },
      };
    },
  };
}

/**
 * The same limits for subscriptions over graphql-ws (its onSubscribe hook): the refusal is sent as
 * the subscription's error. A query that does not parse is left to graphql-ws to report.
 */
export function subscriptionLimitErrors(
  schema: GraphQLSchema,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  limits: QueryLimits,
): GraphQLError[] | undefined {
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch {
    return undefined;
  }
  const error = queryLimitError(schema, document, payload.operationName, payload.variables, limits);
  return error ? [error] : undefined;
}
