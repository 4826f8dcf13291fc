import type { DetailResourceDefinition, Json, JsonObject, Row } from '@pith/plugin-api';
import type { Platform } from '../platform';
import type { Db } from '../db/db';
import type { RegisteredType } from '../plugins/plugin-registry';
import { fieldError, preconditionFailed } from '../http/errors';
import { paginated, readPage } from '../http/pagination';
import { applyFilters, orderBy, quoteIdent, SqlWhere, type SqlFilterSet } from '../http/sql-filters';
import { etagFor } from '../http/router';
import { applyFieldSelection } from '../http/field-selection';
import { ifMatchSatisfied } from './common-filters';
import type { DetailTable } from './detail-tables';
import { masterSelect, type KindSpec } from './resource-kinds';
import { dtoProperties } from './dto-combine';

type DetailReg = RegisteredType<DetailResourceDefinition>;

/** JSON-safe value of a database value (dates as ISO strings, bytea as hex). */
export function jsonValue(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(jsonValue);
  if (typeof v === 'object') {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = jsonValue(x);
    return out;
  }
  return v as Json;
}

/** The detail fields of a response: the type's serializer, or every detail column. */
export function serializeDetail(def: { serialize?(d: Row): JsonObject }, table: DetailTable | null, detail: Row | undefined): JsonObject {
  if (!detail) return {};
  if (def.serialize) return def.serialize(detail);
  const out: JsonObject = {};
  for (const c of table?.columns ?? []) out[c.name] = jsonValue(detail[c.name]);
  return out;
}

function isPg(e: unknown, code: string, constraint?: string): boolean {
  const pg = e as { code?: string; constraint?: string } | undefined;
  return pg?.code === code && (!constraint || pg.constraint === constraint);
}

/** A value as node-pg must receive it for a column of `sqlType` (json columns need a JSON string). */
function sqlValue(sqlType: string, v: unknown): unknown {
  if (v === undefined) return null;
  if (/^jsonb?$/.test(sqlType)) return v === null ? null : JSON.stringify(v);
  return v;
}

export interface ListOptions {
  spec: KindSpec;
  /** Restricts to these pulp_types (per-type endpoints); undefined = all types (generic lists). */
  pulpType?: string;
  filters: SqlFilterSet;
  query: Record<string, string | string[]>;
  absoluteUrl: string;
}

/**
 * Reads and writes master/detail resources (repositories, remotes, publications, distributions,
 * content guards) generically: one master row in `core_<kind>` plus, for types that declare an
 * entity, one detail row keyed by the pointer column. Pages are serialized with one detail query
 * per type present on the page, never per row.
 */
export class MasterDetailService {
  constructor(private readonly p: Platform) {}

  async detailTable(reg: DetailReg | undefined): Promise<DetailTable | null> {
    return reg?.def.entity ? this.p.detailTables.get(reg.def.entity) : null;
  }

  /** Serializes master rows (as selected by `masterSelect`) with their detail fields. */
  async serializeRows(spec: KindSpec, rows: Row[], db: Db = this.p.db): Promise<JsonObject[]> {
    const types = spec.types(this.p);
    const details = new Map<string, Row>();
    const tables = new Map<string, DetailTable | null>();
    const byType = new Map<string, string[]>();
    for (const r of rows) {
      const list = byType.get(r.pulp_type);
      if (list) list.push(r.pulp_id);
      else byType.set(r.pulp_type, [r.pulp_id]);
    }
    for (const [pulpType, ids] of byType) {
      const table = await this.detailTable(types.get(pulpType));
      tables.set(pulpType, table);
      if (!table) continue;
      const found = await db.query(`SELECT * FROM ${table.sql} WHERE ${quoteIdent(table.ptr)} = ANY($1::uuid[])`, [ids]);
      for (const d of found) details.set(d[table.ptr] as string, d);
    }
    return rows.map((r) => {
      const reg = types.get(r.pulp_type);
      const detail = reg ? serializeDetail(reg.def, tables.get(r.pulp_type) ?? null, details.get(r.pulp_id)) : {};
      return { ...spec.serialize(this.p, r), ...detail };
    });
  }

  private fromClause(spec: KindSpec, table: DetailTable | null): string {
    const detailJoin = table ? `LEFT JOIN ${table.sql} d ON d.${quoteIdent(table.ptr)} = m.pulp_id` : '';
    return `${spec.table} m ${spec.joins} ${detailJoin}`;
  }

  orderingColumns(spec: KindSpec, table: DetailTable | null): Record<string, string> {
    const allowed: Record<string, string> = {
      pk: 'm.pulp_id', pulp_id: 'm.pulp_id', pulp_created: 'm.pulp_created', pulp_last_updated: 'm.pulp_last_updated', pulp_type: 'm.pulp_type',
    };
    for (const c of spec.ordering) allowed[c] = `m.${quoteIdent(c)}`;
    for (const c of table?.columns ?? []) if (!(c.name in allowed)) allowed[c.name] = `d.${quoteIdent(c.name)}`;
    return allowed;
  }

  defaultOrder(spec: KindSpec): string {
    const desc = spec.defaultOrdering.startsWith('-');
    return `m.${quoteIdent(spec.defaultOrdering.replace(/^-/, ''))} ${desc ? 'DESC' : 'ASC'}`;
  }

  async list(o: ListOptions): Promise<JsonObject> {
    const page = readPage(o.query);
    const reg = o.pulpType ? o.spec.types(this.p).get(o.pulpType) : undefined;
    const table = await this.detailTable(reg);
    const w = new SqlWhere();
    if (o.spec.where) w.add(o.spec.where);
    if (o.pulpType) w.add(`m.pulp_type = ${w.p(o.pulpType)}`);
    await applyFilters(w, o.filters, o.query);
    const order = orderBy(o.query.ordering, this.orderingColumns(o.spec, table), this.defaultOrder(o.spec), 'm.pulp_id');
    const from = this.fromClause(o.spec, table);
    const [countRow] = await this.p.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${from} ${w.sql()}`, w.params);
    const rows = await this.p.db.query(
      `SELECT ${masterSelect(o.spec)} FROM ${from} ${w.sql()} ${order} LIMIT ${w.p(page.limit)} OFFSET ${w.p(page.offset)}`,
      w.params,
    );
    const results = await this.serializeRows(o.spec, rows);
    return applyFieldSelection(paginated(results, Number(countRow?.n ?? 0), page, o.absoluteUrl, o.query), o.query) as JsonObject;
  }

  async readRow(spec: KindSpec, id: string, pulpType?: string, db: Db = this.p.db): Promise<Row | undefined> {
    const w = new SqlWhere([id]);
    w.add('m.pulp_id = $1');
    if (spec.where) w.add(spec.where);
    if (pulpType) w.add(`m.pulp_type = ${w.p(pulpType)}`);
    return db.one(`SELECT ${masterSelect(spec)} FROM ${spec.table} m ${spec.joins} ${w.sql()}`, w.params);
  }

  async read(spec: KindSpec, id: string, pulpType?: string, db: Db = this.p.db): Promise<JsonObject | undefined> {
    const row = await this.readRow(spec, id, pulpType, db);
    if (!row) return undefined;
    return (await this.serializeRows(spec, [row], db))[0];
  }

  /** Detail column values present in a validated body (properties of the type's DTO). */
  async detailValues(reg: DetailReg, body: Record<string, unknown>): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    if (!reg.def.dto) return out;
    const table = await this.detailTable(reg);
    for (const prop of dtoProperties(reg.def.dto)) {
      if (body[prop] === undefined) continue;
      const col = table?.byName.get(prop);
      if (!col) throw new Error(`${reg.pulpType}: DTO field '${prop}' is not a column of its detail table`);
      out.set(col.name, sqlValue(col.sqlType, body[prop]));
    }
    return out;
  }

  /** Inserts master + detail rows in `tx`; a name clash is a 400 on `name`. */
  async insert(
    tx: Db, spec: KindSpec, reg: DetailReg, id: string, master: Record<string, unknown>, detail: Map<string, unknown>,
  ): Promise<void> {
    const cols = ['pulp_id', 'pulp_type', ...Object.keys(master)];
    const vals = [id, reg.pulpType, ...Object.values(master)];
    try {
      await tx.query(
        `INSERT INTO ${spec.table} (${cols.map(quoteIdent).join(', ')}) VALUES (${vals.map((_, i) => `$${i + 1}`).join(', ')})`,
        vals,
      );
    } catch (e) {
      if (isPg(e, '23505', `${spec.table}_name_uniq`)) throw fieldError('name', 'This field must be unique.');
      throw e;
    }
    const table = await this.detailTable(reg);
    if (table) {
      const dcols = [table.ptr, ...detail.keys()];
      const dvals = [id, ...detail.values()];
      await tx.query(
        `INSERT INTO ${table.sql} (${dcols.map(quoteIdent).join(', ')}) VALUES (${dvals.map((_, i) => `$${i + 1}`).join(', ')})`,
        dvals,
      );
    }
  }

  /**
   * Conditional update: the row changes only if it is still the version the client saw (If-Match
   * against the current ETag) and still the version we read (`pulp_last_updated` compare), so two
   * writers can never silently overwrite each other. Without If-Match a lost race is retried.
   */
  async update(
    spec: KindSpec, reg: DetailReg, id: string, ifMatch: string | undefined,
    build: (current: JsonObject) => Promise<{ master: Record<string, unknown>; detail: Map<string, unknown> }>,
  ): Promise<JsonObject | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.read(spec, id, reg.pulpType);
      if (!current) return undefined;
      if (!ifMatchSatisfied(ifMatch, etagFor(current))) throw preconditionFailed();
      const { master, detail } = await build(current);
      await this.detailTable(reg); // loaded outside the transaction (pool use inside it could starve the pool)
      const updated = await this.p.db.transaction(async (tx) => {
        const sets = Object.keys(master).map((c, i) => `${quoteIdent(c)} = $${i + 3}`);
        sets.push(`pulp_last_updated = GREATEST(clock_timestamp(), pulp_last_updated + interval '1 microsecond')`);
        let r: Row[];
        try {
          r = await tx.query(
            `UPDATE ${spec.table} SET ${sets.join(', ')} WHERE pulp_id = $1 AND pulp_last_updated = $2::timestamptz RETURNING pulp_id`,
            [id, current.pulp_last_updated, ...Object.values(master)],
          );
        } catch (e) {
          if (isPg(e, '23505', `${spec.table}_name_uniq`)) throw fieldError('name', 'This field must be unique.');
          throw e;
        }
        if (r.length === 0) return false;
        const table = await this.detailTable(reg);
        if (table && detail.size) {
          const dsets = [...detail.keys()].map((c, i) => `${quoteIdent(c)} = $${i + 2}`);
          await tx.query(`UPDATE ${table.sql} SET ${dsets.join(', ')} WHERE ${quoteIdent(table.ptr)} = $1`, [id, ...detail.values()]);
        }
        return true;
      });
      if (updated) return this.read(spec, id, reg.pulpType);
      if (ifMatch !== undefined) throw preconditionFailed();
    }
    throw preconditionFailed();
  }

  /** Deletes detail then master (idempotent: a missing row is not an error). */
  async delete(spec: KindSpec, reg: DetailReg | undefined, id: string): Promise<boolean> {
    return this.p.db.transaction(async (tx) => {
      const table = await this.detailTable(reg);
      if (table) await tx.query(`DELETE FROM ${table.sql} WHERE ${quoteIdent(table.ptr)} = $1`, [id]);
      const r = await tx.query(`DELETE FROM ${spec.table} WHERE pulp_id = $1 RETURNING pulp_id`, [id]);
      return r.length > 0;
    });
  }

  /** Current ETag of a row, for request-time If-Match checks (DELETE). */
  async etag(spec: KindSpec, reg: DetailReg, id: string): Promise<{ body: JsonObject; etag: string | undefined } | undefined> {
    const body = await this.read(spec, id, reg.pulpType);
    return body ? { body, etag: etagFor(body) } : undefined;
  }
}
