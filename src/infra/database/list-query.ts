import { Prisma } from '../../generated/prisma/client';
import { type LabelRequirement } from '../../common/labels/label-selector';
import { invalidCursor, type PageRequest, SortDirection } from '../../common/graphql/pagination';

/** A sortable column: its SQL and the Postgres type the cursor value is cast to. */
export interface SortColumn {
  sql: Prisma.Sql;
  cast: 'text' | 'timestamptz' | 'int';
}

/** Translates label requirements into SQL over a jsonb `labels` column (GIN-indexed for @> and ?). */
export function labelSelectorSql(requirements: LabelRequirement[], column = Prisma.raw('"labels"')): Prisma.Sql[] {
  return requirements.map((r) => {
    switch (r.op) {
      case 'eq':
        return Prisma.sql`${column} @> ${JSON.stringify({ [r.key]: r.value })}::jsonb`;
      case 'neq':
        return Prisma.sql`NOT (${column} @> ${JSON.stringify({ [r.key]: r.value })}::jsonb)`;
      case 'in':
        return Prisma.sql`(${column} ->> ${r.key}) = ANY(${r.values}::text[])`;
      case 'notin':
        return Prisma.sql`NOT coalesce((${column} ->> ${r.key}) = ANY(${r.values}::text[]), false)`;
      case 'exists':
        return Prisma.sql`${column} ? ${r.key}`;
      case 'notexists':
        return Prisma.sql`NOT (${column} ? ${r.key})`;
    }
  });
}

function whereSql(conditions: Prisma.Sql[]): Prisma.Sql {
  return conditions.length ? Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
}

const INT32 = 2_147_483_647;

/**
 * Whether a cursor's sort value can be cast to its column's type. Cursors come from clients, so a
 * forged one must be refused as bad input here, not fail the cast in Postgres as an internal error.
 */
function fitsColumn(cast: SortColumn['cast'], value: string | number): boolean {
  switch (cast) {
    case 'text':
      return typeof value === 'string' && !value.includes('\u0000'); // Postgres text cannot hold NUL
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= INT32;
    case 'timestamptz':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(value) && !Number.isNaN(Date.parse(value));
  }
}

/** Keyset pagination: rows strictly after the cursor in (sort column, id) order, one extra to see if more exist. */
function keysetSql(sort: SortColumn, direction: SortDirection, page: PageRequest): { after: Prisma.Sql[]; orderLimit: Prisma.Sql } {
  if (page.after && !fitsColumn(sort.cast, page.after.sortValue)) {
    throw invalidCursor();
  }
  const dir = Prisma.raw(direction === SortDirection.DESC ? 'DESC' : 'ASC');
  const cmp = Prisma.raw(direction === SortDirection.DESC ? '<' : '>');
  const cast = Prisma.raw(sort.cast);
  const after = page.after ? [Prisma.sql`(${sort.sql}, "id") ${cmp} (${page.after.sortValue}::${cast}, ${page.after.id}::uuid)`] : [];
  return { after, orderLimit: Prisma.sql`ORDER BY ${sort.sql} ${dir}, "id" ${dir} LIMIT ${page.size + 1}` };
}

type RawClient = { $queryRaw<T = unknown>(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]): Promise<T> };

/** One page of rows plus the total matching the filter: two statements whatever the page size. */
export async function pagedRows<T>(
  db: RawClient,
  table: string,
  conditions: Prisma.Sql[],
  sort: SortColumn,
  direction: SortDirection,
  page: PageRequest,
): Promise<{ rows: T[]; total: number }> {
  const from = Prisma.raw(`"${table}"`);
  const { after, orderLimit } = keysetSql(sort, direction, page);
  const [rows, counted] = await Promise.all([
    db.$queryRaw<T[]>(Prisma.sql`SELECT * FROM ${from} ${whereSql([...conditions, ...after])} ${orderLimit}`),
    db.$queryRaw<{ count: number }[]>(Prisma.sql`SELECT count(*)::int AS count FROM ${from} ${whereSql(conditions)}`),
  ]);
  return { rows, total: counted[0].count };
}
