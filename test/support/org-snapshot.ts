// Every row an organization owns, read straight from Postgres, for "nothing of org A changed" checks:
//
//   const before = await orgRows(api.prisma, orgA);
//   ... org B does things ...
//   expect(await orgRows(api.prisma, orgA)).toEqual(before);
//   expect(await rowsOutsideOrgMentioning(api.prisma, orgA, idsOfA)).toEqual([]);
//
// Tables are found in the database itself (information_schema), not listed here, so a new table is
// covered the day its migration lands. A table is scoped by its "organizationId" column, by "id" for
// Organization, or else through a single-column foreign key to a table that has "organizationId"
// (e.g. ClusterInventory.clusterId -> Cluster). A table with none of these fails loudly.
import type { PrismaService } from '../../src/infra/database/prisma.service';

type Raw = Pick<PrismaService, '$queryRawUnsafe'>;

interface TableScope {
  table: string;
  /** SQL producing (row jsonb, org uuid) for every row of the table. */
  select: string;
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Tables of no organization, and why that is safe. PolicyBundle: compiled WebAssembly stored once by
 * its SHA-256 for every version, of any organization, that compiles to the same bytes. It is reached
 * only through a version (which is scoped) and refers to no row of an organization.
 */
const SHARED_TABLES = new Set(['PolicyBundle']);

async function scopes(prisma: Raw): Promise<TableScope[]> {
  const columns = await prisma.$queryRawUnsafe<{ table: string; column: string }[]>(
    `SELECT c.table_name AS table, c.column_name AS column
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name <> '_prisma_migrations'`,
  );
  const tables = new Map<string, Set<string>>();
  for (const { table, column } of columns) {
    tables.set(table, (tables.get(table) ?? new Set()).add(column));
  }
  const fks = await prisma.$queryRawUnsafe<{ table: string; column: string; refTable: string; refColumn: string }[]>(
    `SELECT src.relname AS table, a.attname AS column, dst.relname AS "refTable", af.attname AS "refColumn"
       FROM pg_constraint con
       JOIN pg_class src ON src.oid = con.conrelid
       JOIN pg_class dst ON dst.oid = con.confrelid
       JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
       JOIN pg_attribute af ON af.attrelid = con.confrelid AND af.attnum = con.confkey[1]
      WHERE con.contype = 'f' AND cardinality(con.conkey) = 1 AND con.connamespace = 'public'::regnamespace
      ORDER BY src.relname, a.attname`,
  );
  return [...tables.keys()]
    .filter((table) => !SHARED_TABLES.has(table))
    .sort()
    .map((table): TableScope => {
      const cols = tables.get(table)!;
      if (cols.has('organizationId')) {
        return { table, select: `SELECT to_jsonb(t) AS row, t."organizationId" AS org FROM ${q(table)} t` };
      }
      if (table === 'Organization') {
        return { table, select: `SELECT to_jsonb(t) AS row, t."id" AS org FROM ${q(table)} t` };
      }
      const fk = fks.find((f) => f.table === table && tables.get(f.refTable)?.has('organizationId'));
      if (fk) {
        return { table, select: `SELECT to_jsonb(t) AS row, p."organizationId" AS org FROM ${q(table)} t JOIN ${q(fk.refTable)} p ON p.${q(fk.refColumn)} = t.${q(fk.column)}` };
      }
      throw new Error(
        `Table ${table} has no "organizationId", and no foreign key to a table that has one, so tests cannot tell ` +
          `which organization its rows belong to. Give it an organizationId (tenancy!) or teach test/support/org-snapshot.ts.`,
      );
    });
}

const canonical = (rows: { row: unknown }[]) => rows.map((r) => JSON.stringify(r.row)).sort();

/** table -> the organization's rows (as JSON text, sorted), for every table in the database. */
export async function orgRows(prisma: Raw, organizationId: string, opts: { ignoreColumns?: string[] } = {}): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const scope of await scopes(prisma)) {
    const rows = await prisma.$queryRawUnsafe<{ row: Record<string, unknown> }[]>(`SELECT row FROM (${scope.select}) s WHERE s.org = $1::uuid`, organizationId);
    const ignored = (opts.ignoreColumns ?? []).filter((c) => c.startsWith(`${scope.table}.`)).map((c) => c.slice(scope.table.length + 1));
    for (const r of rows) {
      for (const column of ignored) {
        delete r.row[column];
      }
    }
    out[scope.table] = canonical(rows);
  }
  return out;
}

/** Rows of other organizations whose JSON mentions any of `needles` (e.g. org A's ids), as "table: row". */
export async function rowsOutsideOrgMentioning(prisma: Raw, organizationId: string, needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const scope of await scopes(prisma)) {
    const rows = await prisma.$queryRawUnsafe<{ row: unknown }[]>(`SELECT row FROM (${scope.select}) s WHERE s.org <> $1::uuid`, organizationId);
    for (const text of canonical(rows)) {
      if (needles.some((n) => text.includes(n))) {
        found.push(`${scope.table}: ${text}`);
      }
    }
  }
  return found;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Every UUID appearing in the given snapshot (ids of the organization's rows and what they reference). */
export function uuidsIn(snapshot: Record<string, string[]>): string[] {
  return [
    ...new Set(
      Object.values(snapshot)
        .flat()
        .flatMap((text) => text.match(UUID) ?? []),
    ),
  ];
}
