import { Type } from '@nestjs/common';
import { ArgsType, Field, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { FarpointError } from '../errors/farpoint-error';

export enum SortDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(SortDirection, { name: 'SortDirection' });

const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

/** Relay forward pagination arguments shared by every list. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `Page size, 1-${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).` })
  first?: number;

  @Field({ nullable: true, description: 'Opaque cursor: return items after this one.' })
  after?: string;
}

@ObjectType()
export class PageInfo {
  @Field() hasNextPage: boolean;
  @Field() hasPreviousPage: boolean;
  @Field(() => String, { nullable: true }) startCursor: string | null;
  @Field(() => String, { nullable: true }) endCursor: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}
export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  totalCount: number;
}

/** Builds the `<Name>Connection` and `<Name>Edge` GraphQL types for a node type. */
export function ConnectionType<T>(node: Type<T>, name: string): Type<Connection<T>> {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field() cursor: string;
    @Field(() => node) node: T;
  }
  @ObjectType(`${name}Connection`)
  class ConnectionClass {
    @Field(() => [EdgeType]) edges: EdgeType[];
    @Field(() => PageInfo) pageInfo: PageInfo;
    @Field(() => Int, { description: 'Items matching the filter, across all pages.' }) totalCount: number;
  }
  return ConnectionClass;
}

/** A resolved page request: validated size and decoded keyset position. */
export interface PageRequest {
  size: number;
  after?: { sortValue: string | number; id: string };
}

export function toPageRequest(args: PageArgs, sortField: string): PageRequest {
  const size = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw FarpointError.badInput(`"first" must be between 1 and ${MAX_PAGE_SIZE}; got ${size}.`, 'first');
  }
  return { size, after: args.after ? decodeCursor(args.after, sortField) : undefined };
}

function encodeCursor(sortField: string, sortValue: unknown, id: string): string {
  const value = sortValue instanceof Date ? sortValue.toISOString() : sortValue;
  return Buffer.from(JSON.stringify([sortField, value, id])).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The refusal of a cursor that does not decode to a position in this list (forged, truncated, stale). */
export function invalidCursor(): FarpointError {
  return FarpointError.badInput('The "after" cursor is not valid for this list and ordering; start again from the first page.', 'after');
}

function decodeCursor(cursor: string, sortField: string): { sortValue: string | number; id: string } {
  try {
    const [field, sortValue, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string | number, string];
    if (field !== sortField) {
      throw new Error('sort changed');
    }
    if (typeof id !== 'string' || !UUID.test(id)) {
      throw new Error('bad id');
    }
    if (typeof sortValue !== 'string' && typeof sortValue !== 'number') {
      throw new Error('bad value');
    }
    return { sortValue, id };
  } catch {
    throw invalidCursor();
  }
}

export function toConnection<T extends { id: string }>(rows: T[], request: PageRequest, totalCount: number, sortField: string, sortValue: (row: T) => unknown): Connection<T> {
  const page = rows.slice(0, request.size);
  const edges = page.map((node) => ({ node, cursor: encodeCursor(sortField, sortValue(node), node.id) }));
  return {
    edges,
    totalCount,
    pageInfo: {
      hasNextPage: rows.length > request.size,
      hasPreviousPage: request.after !== undefined,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}

/** Ordering input factory: `{ field: <Enum>, direction: ASC|DESC }`. */
export function OrderByInput<E extends Record<string, string>>(name: string, fields: E, defaultField: E[keyof E]) {
  @InputType(name)
  class OrderBy {
    @Field(() => fields, { defaultValue: defaultField } as never) field: E[keyof E];
    @Field(() => SortDirection, { defaultValue: SortDirection.ASC }) direction: SortDirection;
  }
  return OrderBy;
}
