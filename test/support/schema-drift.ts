// Compares what prisma/schema.prisma describes with what a PostgreSQL database actually has.
//
//   expectedSchema(loadDmmf())      what Prisma's migration engine would create for the schema
//   readDatabaseSchema(client)      the same facts read from pg_catalog
//   compareSchemas(expected, actual) -> list of human-readable differences ([] = no drift)
//
// The DMMF comes from @prisma/prisma-schema-wasm (pinned; byte-identical to the wasm that the installed
// prisma CLI bundles, which schema-drift.test.ts checks), so no native engine is needed.
//
// Covered: tables (@@map), columns (@map) with Postgres type, NOT NULL and default; enums and their
// values in order; primary keys; unique and plain indexes with columns, order (ASC/DESC), access method
// (btree, GIN, ...) and operator class; foreign keys with columns, target and ON DELETE / ON UPDATE.
// Reverse: any table, column, enum, index or foreign key in the database that the schema lacks (except
// Prisma's _prisma_migrations). Names are compared too, so a rename without a migration is drift.
// Not covered (extend when the schema starts using them): views, multiSchema, @db types not listed in
// columnType(), check constraints (Prisma leaves them alone), sequences beyond autoincrement().
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';

// ---- DMMF (only the parts we read) ---------------------------------------------------------------------

export interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  type: string;
  isList: boolean;
  isRequired: boolean;
  isUpdatedAt?: boolean;
  hasDefaultValue: boolean;
  default?: unknown;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
export interface DmmfModel {
  name: string;
  dbName: string | null;
  schema?: string | null;
  fields: DmmfField[];
}
export interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  algorithm?: string;
  fields: { name: string; sortOrder?: 'asc' | 'desc'; operatorClass?: string; length?: number }[];
}
export interface DmmfEnum {
  name: string;
  dbName?: string | null;
  values: { name: string; dbName: string | null }[];
}
export interface Dmmf {
  datamodel: { models: DmmfModel[]; enums: DmmfEnum[]; indexes: DmmfIndex[] };
}

const root = join(__dirname, '..', '..');
export const SCHEMA_PATH = join(root, 'prisma', 'schema.prisma');

/** Parses schema.prisma with Prisma's own schema parser (wasm) and returns its DMMF. */
export function loadDmmf(schemaPath: string = SCHEMA_PATH): Dmmf {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const wasm = require('@prisma/prisma-schema-wasm') as { get_dmmf(params: string): string };
  const prismaSchema = [[schemaPath, readFileSync(schemaPath, 'utf8')]];
  return JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema }))) as Dmmf;
}

// ---- Normalised schema ---------------------------------------------------------------------------------

export interface ColumnInfo {
  /** format_type() spelling, or `enum:<type name>` (with `[]` for lists). */
  type: string;
  notNull: boolean;
  /** Normalised default (see normaliseDefault), or null for none. */
  default: string | null;
}
export interface IndexInfo {
  columns: string[];
  unique: boolean;
  method: string;
  /** Per column: 'ASC' | 'DESC'. */
  order: string[];
  /** Per column: the operator class name, or 'default' when it is the type's default for the method. */
  opclasses: string[];
}
export interface ForeignKeyInfo {
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
}
export interface TableInfo {
  columns: Record<string, ColumnInfo>;
  primaryKey: { name: string; columns: string[] } | null;
  /** By index name; excludes the primary key's index. */
  indexes: Record<string, IndexInfo>;
  /** By constraint name. */
  foreignKeys: Record<string, ForeignKeyInfo>;
}
export interface SchemaInfo {
  enums: Record<string, string[]>;
  tables: Record<string, TableInfo>;
}

/** Tables the schema does not own. */
export const IGNORED_TABLES = new Set(['_prisma_migrations']);

// ---- Expected, from the DMMF ---------------------------------------------------------------------------

const POSTGRES_IDENTIFIER_MAX = 63;

/** Prisma's default constraint/index names: <table>_<columns>_<suffix>, truncated to fit 63 bytes. */
export function prismaConstraintName(table: string, columns: string[], suffix: 'pkey' | 'key' | 'idx' | 'fkey'): string {
  const base = suffix === 'pkey' ? table : [table, ...columns].join('_');
  return `${base.slice(0, POSTGRES_IDENTIFIER_MAX - suffix.length - 1)}_${suffix}`;
}

const REFERENTIAL_ACTIONS: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};

const ALGORITHMS: Record<string, string> = {
  BTree: 'btree',
  Hash: 'hash',
  Gin: 'gin',
  Gist: 'gist',
  SpGist: 'spgist',
  Brin: 'brin',
};

/** Prisma's operator-class names (JsonbPathOps) to Postgres's (jsonb_path_ops). */
function opclassName(prismaName: string): string {
  return prismaName.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The Postgres type Prisma's migration engine gives a scalar field. */
function columnType(field: DmmfField, enums: Map<string, string>): string {
  const list = field.isList ? '[]' : '';
  if (field.kind === 'enum') {
    return `enum:${enums.get(field.type) ?? field.type}${list}`;
  }
  const [native, args = []] = field.nativeType ?? [];
  const n = args.join(',');
  const byNative: Record<string, string> = {
    Uuid: 'uuid',
    Text: 'text',
    VarChar: n ? `character varying(${n})` : 'character varying',
    Char: n ? `character(${n})` : 'character(1)',
    Citext: 'citext',
    Inet: 'inet',
    Xml: 'xml',
    SmallInt: 'smallint',
    Integer: 'integer',
    Oid: 'oid',
    BigInt: 'bigint',
    Real: 'real',
    DoublePrecision: 'double precision',
    Decimal: n ? `numeric(${n})` : 'numeric',
    Money: 'money',
    Boolean: 'boolean',
    Timestamptz: `timestamp(${n || '3'}) with time zone`,
    Timestamp: `timestamp(${n || '3'}) without time zone`,
    Date: 'date',
    Time: `time(${n || '3'}) without time zone`,
    Timetz: `time(${n || '3'}) with time zone`,
    Json: 'json',
    JsonB: 'jsonb',
    ByteA: 'bytea',
    Bit: `bit(${n || '1'})`,
    VarBit: n ? `bit varying(${n})` : 'bit varying',
  };
  const byScalar: Record<string, string> = {
    String: 'text',
    Int: 'integer',
    BigInt: 'bigint',
    Float: 'double precision',
    Decimal: 'numeric(65,30)',
    Boolean: 'boolean',
    DateTime: 'timestamp(3) without time zone',
    Json: 'jsonb',
    Bytes: 'bytea',
  };
  const type = native ? byNative[native] : byScalar[field.type];
  if (!type) {
    throw new Error(`schema-drift: no Postgres type known for ${field.name} ${field.type} @db.${native}; extend columnType()`);
  }
  return type + list;
}

/** The column default Prisma's engine writes, normalised like normaliseDefault() does for the database. */
function expectedDefault(field: DmmfField): string | null {
  if (!field.hasDefaultValue) {
    return null;
  }
  const d = field.default;
  if (d && typeof d === 'object' && !Array.isArray(d) && 'name' in d) {
    const fn = d as { name: string; args: unknown[] };
    switch (fn.name) {
      case 'now':
        return 'CURRENT_TIMESTAMP';
      case 'autoincrement':
        return 'nextval()';
      case 'dbgenerated':
        return fn.args.length ? String(fn.args[0]) : null;
      default:
        return null; // uuid(), cuid(), nanoid(), ulid(): generated by the client, no column default.
    }
  }
  if (Array.isArray(d)) {
    return `array:${JSON.stringify(d)}`;
  }
  if (field.type === 'Json') {
    return `json:${JSON.stringify(JSON.parse(String(d)))}`;
  }
  if (typeof d === 'number') {
    return `number:${d}`;
  }
  if (typeof d === 'boolean') {
    return String(d);
  }
  return `literal:${String(d)}`;
}

export function expectedSchema(dmmf: Dmmf): SchemaInfo {
  const { models, enums, indexes } = dmmf.datamodel;
  const enumDbNames = new Map(enums.map((e) => [e.name, e.dbName ?? e.name]));
  const modelsByName = new Map(models.map((m) => [m.name, m]));
  const tableName = (m: DmmfModel) => m.dbName ?? m.name;
  const columnName = (m: DmmfModel, fieldName: string) => {
    const f = m.fields.find((x) => x.name === fieldName);
    if (!f) {
      throw new Error(`schema-drift: ${m.name}.${fieldName} not found`);
    }
    return f.dbName ?? f.name;
  };

  const out: SchemaInfo = { enums: {}, tables: {} };
  for (const e of enums) {
    out.enums[e.dbName ?? e.name] = e.values.map((v) => v.dbName ?? v.name);
  }

  for (const m of models) {
    const table: TableInfo = { columns: {}, primaryKey: null, indexes: {}, foreignKeys: {} };
    for (const f of m.fields) {
      if (f.kind === 'object') {
        continue;
      }
      table.columns[f.dbName ?? f.name] = {
        type: columnType(f, enumDbNames),
        // Prisma maps a scalar list to a nullable Postgres array (its engine builds `TEXT[]`, no NOT NULL).
        notNull: f.isRequired && !f.isList,
        default: expectedDefault(f),
      };
    }
    for (const f of m.fields) {
      if (f.kind !== 'object' || !f.relationFromFields?.length) {
        continue;
      }
      const target = modelsByName.get(f.type);
      if (!target) {
        throw new Error(`schema-drift: relation ${m.name}.${f.name} targets unknown model ${f.type}`);
      }
      const columns = f.relationFromFields.map((x) => columnName(m, x));
      const required = f.relationFromFields.every((x) => m.fields.find((y) => y.name === x)?.isRequired);
      table.foreignKeys[prismaConstraintName(tableName(m), columns, 'fkey')] = {
        columns,
        refTable: tableName(target),
        refColumns: (f.relationToFields ?? []).map((x) => columnName(target, x)),
        // Prisma's defaults: Restrict for required relations, SetNull for optional ones; onUpdate Cascade.
        onDelete: REFERENTIAL_ACTIONS[f.relationOnDelete ?? (required ? 'Restrict' : 'SetNull')],
        onUpdate: REFERENTIAL_ACTIONS[f.relationOnUpdate ?? 'Cascade'],
      };
    }
    out.tables[tableName(m)] = table;
  }

  for (const idx of indexes) {
    const m = modelsByName.get(idx.model);
    if (!m) {
      throw new Error(`schema-drift: index on unknown model ${idx.model}`);
    }
    const table = out.tables[tableName(m)];
    const columns = idx.fields.map((f) => columnName(m, f.name));
    if (idx.type === 'id') {
      table.primaryKey = { name: idx.dbName ?? prismaConstraintName(tableName(m), columns, 'pkey'), columns };
      continue;
    }
    if (idx.type === 'fulltext') {
      throw new Error('schema-drift: @@fulltext is MySQL/MongoDB only');
    }
    const unique = idx.type === 'unique';
    table.indexes[idx.dbName ?? prismaConstraintName(tableName(m), columns, unique ? 'key' : 'idx')] = {
      columns,
      unique,
      method: ALGORITHMS[idx.algorithm ?? 'BTree'] ?? idx.algorithm!.toLowerCase(),
      order: idx.fields.map((f) => (f.sortOrder === 'desc' ? 'DESC' : 'ASC')),
      opclasses: idx.fields.map((f) => (f.operatorClass ? opclassName(f.operatorClass) : 'default')),
    };
  }
  return out;
}

// ---- Actual, from pg_catalog ---------------------------------------------------------------------------

/** Makes database defaults comparable with expectedDefault(). */
export function normaliseDefault(expr: string | null, type: string): string | null {
  if (expr === null) {
    return null;
  }
  let e = expr.trim();
  if (/^nextval\(/.test(e)) {
    return 'nextval()';
  }
  if (/^(CURRENT_TIMESTAMP|now\(\))$/i.test(e)) {
    return 'CURRENT_TIMESTAMP';
  }
  if (/^(true|false)$/.test(e)) {
    return e;
  }
  while (/^\(.*\)$/.test(e)) {
    e = e.slice(1, -1);
  } // (-1) -> -1
  // ARRAY['a'::text, 'b'::text] (how Postgres shows a text-array default) -> array:["a","b"]
  const array = /^ARRAY\[(.*)\](::[\w\s."[\]()]+)?$/s.exec(e);
  if (array) {
    const items = [...array[1].matchAll(/'((?:[^']|'')*)'(::[\w\s."]+)?/g)].map((m) => m[1].replace(/''/g, "'"));
    return `array:${JSON.stringify(items)}`;
  }
  const literal = /^'((?:[^']|'')*)'::[\w\s."[\]()]+$/s.exec(e);
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(e) || (literal && /^(integer|bigint|smallint|double precision|real|numeric)/.test(type))) {
    return `number:${Number(literal ? literal[1] : e)}`;
  }
  if (literal) {
    const value = literal[1].replace(/''/g, "'");
    if (type === 'jsonb' || type === 'json') {
      return `json:${JSON.stringify(JSON.parse(value))}`;
    }
    if (type.endsWith('[]')) {
      return `array:${value}`;
    }
    return `literal:${value}`;
  }
  return e;
}

export async function readDatabaseSchema(client: Client, schema = 'public'): Promise<SchemaInfo> {
  const out: SchemaInfo = { enums: {}, tables: {} };

  const enums = await client.query<{ name: string; label: string }>(
    `SELECT t.typname AS name, e.enumlabel AS label
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1 ORDER BY t.typname, e.enumsortorder`,
    [schema],
  );
  for (const r of enums.rows) {
    (out.enums[r.name] ??= []).push(r.label);
  }

  const tables = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
    [schema],
  );
  for (const t of tables.rows) {
    if (!IGNORED_TABLES.has(t.name)) {
      out.tables[t.name] = { columns: {}, primaryKey: null, indexes: {}, foreignKeys: {} };
    }
  }

  const columns = await client.query<{
    table: string;
    column: string;
    type: string;
    typtype: string;
    typname: string;
    elemtyptype: string | null;
    elemtypname: string | null;
    notnull: boolean;
    default: string | null;
  }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            t.typtype, t.typname, et.typtype AS elemtyptype, et.typname AS elemtypname,
            a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [schema],
  );
  for (const r of columns.rows) {
    const table = out.tables[r.table];
    if (!table) {
      continue;
    }
    const type = r.typtype === 'e' ? `enum:${r.typname}` : r.elemtyptype === 'e' ? `enum:${r.elemtypname}[]` : r.type;
    table.columns[r.column] = { type, notNull: r.notnull, default: normaliseDefault(r.default, type) };
  }

  const indexes = await client.query<{
    table: string;
    name: string;
    unique: boolean;
    primary: boolean;
    method: string;
    columns: (string | null)[];
    options: number[];
    opclasses: string[];
    opdefaults: boolean[];
    partial: boolean;
  }>(
    `SELECT tc.relname AS table, ic.relname AS name, i.indisunique AS unique, i.indisprimary AS primary,
            am.amname AS method, i.indpred IS NOT NULL AS partial,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            i.indoption::int2[] AS options,
            ARRAY(SELECT o.opcname::text FROM unnest(i.indclass::oid[]) WITH ORDINALITY k(oid, ord)
                    JOIN pg_opclass o ON o.oid = k.oid ORDER BY k.ord) AS opclasses,
            ARRAY(SELECT o.opcdefault FROM unnest(i.indclass::oid[]) WITH ORDINALITY k(oid, ord)
                    JOIN pg_opclass o ON o.oid = k.oid ORDER BY k.ord) AS opdefaults
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = tc.relnamespace JOIN pg_am am ON am.oid = ic.relam
      WHERE n.nspname = $1`,
    [schema],
  );
  for (const r of indexes.rows) {
    const table = out.tables[r.table];
    if (!table) {
      continue;
    }
    const columns = r.columns.map((c) => c ?? '<expression>');
    if (r.primary) {
      table.primaryKey = { name: r.name, columns };
      continue;
    }
    table.indexes[r.name] = {
      columns: r.partial ? [...columns, '<partial>'] : columns,
      unique: r.unique,
      method: r.method,
      order: r.options.map((o) => ((o & 1) === 1 ? 'DESC' : 'ASC')),
      opclasses: r.opclasses.map((o, i) => (r.opdefaults[i] ? 'default' : o)),
    };
  }

  const fks = await client.query<{
    table: string;
    name: string;
    columns: string[];
    ref_table: string;
    ref_columns: string[];
    del: string;
    upd: string;
  }>(
    `SELECT c.relname AS table, con.conname AS name, rc.relname AS ref_table,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns,
            con.confdeltype AS del, con.confupdtype AS upd
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class rc ON rc.oid = con.confrelid
      WHERE n.nspname = $1 AND con.contype = 'f'`,
    [schema],
  );
  const action: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };
  for (const r of fks.rows) {
    const table = out.tables[r.table];
    if (!table) {
      continue;
    }
    table.foreignKeys[r.name] = {
      columns: r.columns,
      refTable: r.ref_table,
      refColumns: r.ref_columns,
      onDelete: action[r.del],
      onUpdate: action[r.upd],
    };
  }
  return out;
}

// ---- Comparison ----------------------------------------------------------------------------------------

const show = (v: unknown) => JSON.stringify(v);

/** Every difference between what the schema expects and what the database has; [] when they agree. */
export function compareSchemas(expected: SchemaInfo, actual: SchemaInfo): string[] {
  const diffs: string[] = [];
  const both = <T>(exp: Record<string, T>, act: Record<string, T>, label: (name: string) => string, each: (e: T, a: T, name: string) => void) => {
    for (const name of Object.keys(exp).sort()) {
      if (!(name in act)) {
        diffs.push(`${label(name)}: in schema.prisma, missing in the database`);
      } else {
        each(exp[name], act[name], name);
      }
    }
    for (const name of Object.keys(act).sort()) {
      if (!(name in exp)) {
        diffs.push(`${label(name)}: in the database, not in schema.prisma`);
      }
    }
  };
  const field = (where: string, key: string, e: unknown, a: unknown) => {
    if (show(e) !== show(a)) {
      diffs.push(`${where}: ${key} is ${show(a)} in the database, schema.prisma says ${show(e)}`);
    }
  };

  both(
    expected.enums,
    actual.enums,
    (n) => `enum ${n}`,
    (e, a, name) => field(`enum ${name}`, 'values', e, a),
  );
  both(
    expected.tables,
    actual.tables,
    (n) => `table ${n}`,
    (et, at, t) => {
      both(
        et.columns,
        at.columns,
        (c) => `column ${t}.${c}`,
        (e, a, c) => {
          for (const key of ['type', 'notNull', 'default'] as const) {
            field(`column ${t}.${c}`, key, e[key], a[key]);
          }
        },
      );
      field(`table ${t}`, 'primary key', et.primaryKey, at.primaryKey);
      both(
        et.indexes,
        at.indexes,
        (i) => `index ${i} on ${t}`,
        (e, a, i) => {
          for (const key of ['columns', 'unique', 'method', 'order', 'opclasses'] as const) {
            field(`index ${i}`, key, e[key], a[key]);
          }
        },
      );
      both(
        et.foreignKeys,
        at.foreignKeys,
        (k) => `foreign key ${k} on ${t}`,
        (e, a, k) => {
          for (const key of ['columns', 'refTable', 'refColumns', 'onDelete', 'onUpdate'] as const) {
            field(`foreign key ${k}`, key, e[key], a[key]);
          }
        },
      );
    },
  );
  return diffs;
}
