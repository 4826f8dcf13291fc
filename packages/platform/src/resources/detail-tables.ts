import type { ClassType, Row } from '@pith/plugin-api';
import type { DataSource } from 'typeorm';
import type { Db } from '../db/db';
import { quoteIdent } from '../http/sql-filters';

export interface DetailColumn {
  /** Database column name. */
  name: string;
  /** Entity property name (usually the same: column names are the API field names). */
  property: string;
  /** PostgreSQL type as `format_type` prints it (`character varying(255)`, `text[]`). */
  sqlType: string;
  nullable: boolean;
}

/** A plugin detail table (class-table inheritance): its name, its pointer column and its other columns. */
export interface DetailTable {
  /** Quoted table name, ready for SQL. */
  sql: string;
  table: string;
  /** Primary key column that references the master row (`content_ptr_id`, `repository_ptr_id`). */
  ptr: string;
  /** Every column except the pointer. */
  columns: DetailColumn[];
  byName: Map<string, DetailColumn>;
  /** Column lists of the table's indexes, in index order (to pick index-driven query shapes). */
  indexes: string[][];
}

/** True when some index starts with exactly the columns `cols` (in any order). */
export function hasLeadingIndex(table: DetailTable, cols: string[]): boolean {
  const want = new Set(cols);
  return table.indexes.some((ix) => ix.length >= cols.length && ix.slice(0, cols.length).every((c) => want.has(c)));
}

/**
 * Reads detail-table layouts from TypeORM metadata (table and pointer column) and the catalog
 * (exact column types, used to type `jsonb_to_recordset` batches). Cached per entity: the schema
 * does not change while a process runs.
 */
export class DetailTables {
  private readonly cache = new Map<ClassType, Promise<DetailTable>>();

  constructor(private readonly db: Db, private readonly dataSource: DataSource) {}

  get(entity: ClassType): Promise<DetailTable> {
    let t = this.cache.get(entity);
    if (!t) {
      t = this.load(entity);
      this.cache.set(entity, t);
      t.catch(() => this.cache.delete(entity));
    }
    return t;
  }

  private async load(entity: ClassType): Promise<DetailTable> {
    const meta = this.dataSource.getMetadata(entity);
    const primary = meta.primaryColumns;
    if (primary.length !== 1) throw new Error(`detail entity ${meta.name} must have exactly one primary column (the master pointer)`);
    const ptr = primary[0]!.databaseName;
    const table = meta.tableName;
    const rows = await this.db.query<{ name: string; type: string; notnull: boolean }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull
         FROM pg_attribute a
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum`,
      [quoteIdent(table)],
    );
    const types = new Map(rows.map((r) => [r.name, r]));
    const columns: DetailColumn[] = [];
    for (const c of meta.columns) {
      if (c.databaseName === ptr) continue;
      const t = types.get(c.databaseName);
      if (!t) throw new Error(`column ${table}.${c.databaseName} is declared by ${meta.name} but missing in the database`);
      columns.push({ name: c.databaseName, property: c.propertyName, sqlType: t.type, nullable: !t.notnull });
    }
    const ixRows = await this.db.query<{ cols: string[] }>(
      `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
         FROM pg_index i
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1::regclass
        GROUP BY i.indexrelid`,
      [quoteIdent(table)],
    );
    const byName = new Map<string, DetailColumn>();
    for (const c of columns) {
      byName.set(c.name, c);
      byName.set(c.property, c);
    }
    return { sql: quoteIdent(table), table, ptr, columns, byName, indexes: ixRows.map((r) => r.cols) };
  }
}

/** A value as `jsonb_to_recordset` will parse it back into the column's type. */
export function toRecordsetValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

/** `x(col1 type1, col2 type2)`: the column definition list of a `jsonb_to_recordset` call. */
export function recordsetColumns(cols: Array<{ name: string; sqlType: string }>): string {
  return cols.map((c) => `${quoteIdent(c.name)} ${c.sqlType}`).join(', ');
}

/** Copies a row's values to the detail columns they name (by column or property name); unknown keys throw. */
export function mapDetailValues(table: DetailTable, detail: Row, what: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(detail)) {
    if (k === table.ptr) continue;
    const col = table.byName.get(k);
    if (!col) throw new Error(`${what}: '${k}' is not a column of ${table.table}`);
    out.set(col.name, v);
  }
  return out;
}
