import type { ContentStore, ContentTypeDefinition, Row, UnsavedContent } from '@pith/plugin-api';
import type { Db } from '../db/db';
import type { PluginRegistry } from '../plugins/plugin-registry';
import { planForProbes, relaxCommit } from '../db/bulk-sql';
import { quoteIdent } from '../http/sql-filters';
import { uuid7 } from '../util/uuid7';
import {
  mapDetailValues, recordsetColumns, toRecordsetValue, type DetailColumn, type DetailTable, type DetailTables,
} from '../resources/detail-tables';

/**
 * Units per SQL round trip: multi-row statements reach ~140k rows/s here (DESIGN §5). Rows travel
 * as one JSON text read by `json_to_recordset` (not `jsonb`: the text is read once, so building a
 * jsonb value first only costs; ~30 % less server time per 1000-row statement).
 */
const BATCH = 1000;

/** SQL pieces to find units by natural key inside a caller's statement (ContentStoreService.naturalKeyLookup). */
export interface NaturalKeyLookup {
  /** Column definitions of the key in a recordset (`k0 type, k1 type, …`). */
  columns: string;
  /** A unit's key values named k0, k1, … for a recordset row; null when its detail does not fit the type. */
  values(detail: Row): Record<string, unknown> | null;
  /** A query of the unit's content id (column `id`, at most one row) for recordset row alias `x`. */
  idSql(x: string): string;
}

interface Pending {
  /** Input positions of units with this natural key (duplicates inside one batch share one id). */
  positions: number[];
  unit: UnsavedContent;
  values: Map<string, unknown>;
  id?: string;
  isNew?: boolean;
}

/**
 * Saves content units in batches with natural-key dedupe: existing units are found by their
 * natural key and reused (and touched), new ones are inserted as master + detail +
 * content-artifact rows in one transaction, so no half-written unit is ever visible. Concurrent
 * savers of the same unit converge through `ON CONFLICT DO NOTHING` on the natural-key index.
 */
export class ContentStoreService implements ContentStore {
  constructor(private readonly db: Db, private readonly registry: PluginRegistry, private readonly tables: DetailTables) {}

  /**
   * `relaxedCommit`: the batch is an intermediate write of a task whose own completion commits
   * synchronously later (a sync), so its commit need not wait for the WAL flush (db/bulk-sql.ts).
   */
  async saveBatch(units: UnsavedContent[], opts: { relaxedCommit?: boolean } = {}): Promise<string[]> {
    const ids: string[] = new Array(units.length);
    for (let start = 0; start < units.length; start += BATCH) {
      const slice = units.slice(start, start + BATCH);
      const byType = new Map<string, number[]>();
      slice.forEach((u, i) => {
        const list = byType.get(u.pulpType) ?? [];
        list.push(start + i);
        byType.set(u.pulpType, list);
      });
      // Layouts are loaded before the transaction: a pooled query inside it could starve the pool.
      for (const t of byType.keys()) {
        const reg = this.registry.contentTypes.get(t);
        if (reg) await this.tables.get(reg.def.entity);
      }
      await this.db.transaction(async (tx) => {
        // Every lookup and join here is driven by the batch: per-key index probes (db/bulk-sql.ts).
        await planForProbes(tx);
        if (opts.relaxedCommit) await relaxCommit(tx);
        for (const [pulpType, positions] of byType) {
          const got = await this.saveType(tx, pulpType, positions.map((p) => units[p]!));
          positions.forEach((p, i) => (ids[p] = got[i]!));
        }
      });
    }
    return ids;
  }

  /**
   * How to find a unit of `pulpType` by natural key inside another statement (a sync recognises
   * unchanged units in one query per batch: key lookup and the rest together), or null for an
   * unknown type. Nothing is touched or locked.
   */
  async naturalKeyLookup(pulpType: string): Promise<NaturalKeyLookup | null> {
    const reg = this.registry.contentTypes.get(pulpType);
    if (!reg) return null;
    const table = await this.tables.get(reg.def.entity);
    const keyCols = this.columns(table, reg.def.naturalKey, pulpType, 'natural key');
    return {
      columns: keyCols.map((c, k) => `k${k} ${c.sqlType}`).join(', '),
      values: (detail) => {
        let values: Map<string, unknown>;
        try {
          values = mapDetailValues(table, detail, pulpType);
        } catch {
          return null; // saveBatch reports it
        }
        const out: Record<string, unknown> = {};
        for (let k = 0; k < keyCols.length; k++) {
          const name = keyCols[k]!.name;
          if (!values.has(name)) return null;
          out[`k${k}`] = toRecordsetValue(values.get(name));
        }
        return out;
      },
      idSql: (x) =>
        `SELECT d.${quoteIdent(table.ptr)} AS id FROM ${table.sql} d
          WHERE ${keyCols.map((c, k) => `d.${quoteIdent(c.name)} = ${x}.k${k}`).join(' AND ')} LIMIT 1`,
    };
  }

  private async saveType(tx: Db, pulpType: string, units: UnsavedContent[]): Promise<string[]> {
    const reg = this.registry.contentTypes.get(pulpType);
    if (!reg) throw new Error(`unknown content type '${pulpType}'`);
    const def = reg.def;
    const table = await this.tables.get(def.entity);
    const keyCols = this.columns(table, def.naturalKey, pulpType, 'natural key');

    // Dedupe inside the batch by natural key.
    const byKey = new Map<string, Pending>();
    units.forEach((unit, i) => {
      const values = mapDetailValues(table, unit.detail, pulpType);
      for (const c of keyCols) {
        if (!values.has(c.name)) throw new Error(`${pulpType}: natural key column '${c.name}' is missing from a unit`);
      }
      const key = JSON.stringify(keyCols.map((c) => toRecordsetValue(values.get(c.name))));
      const hit = byKey.get(key);
      if (hit) hit.positions.push(i);
      else byKey.set(key, { positions: [i], unit, values });
    });
    const pending = [...byKey.values()];

    await this.findExisting(tx, table, keyCols, pending);
    let missing = pending.filter((p) => !p.id);
    if (missing.length) {
      const lost = await this.insertNew(tx, pulpType, def, table, missing);
      if (lost.length) {
        // Someone else committed the same natural key meanwhile: use theirs.
        await this.findExisting(tx, table, keyCols, lost);
        missing = lost.filter((p) => !p.id);
        if (missing.length) throw new Error(`${pulpType}: could neither insert nor find ${missing.length} unit(s)`);
      }
    }
    const existing = pending.filter((p) => !p.isNew);
    if (existing.length) await this.refreshExisting(tx, existing);

    const out: string[] = new Array(units.length);
    for (const p of pending) for (const i of p.positions) out[i] = p.id!;
    return out;
  }

  private columns(table: DetailTable, names: string[], pulpType: string, what: string): DetailColumn[] {
    return names.map((k) => {
      const c = table.byName.get(k);
      if (!c) throw new Error(`${pulpType}: ${what} column '${k}' is not a column of ${table.table}`);
      return c;
    });
  }

  /** Fills `id` for units whose natural key already exists. */
  private async findExisting(tx: Db, table: DetailTable, keyCols: DetailColumn[], pending: Pending[]): Promise<void> {
    const records = pending.map((p, i) => {
      const r: Record<string, unknown> = { __i: i };
      for (const c of keyCols) r[c.name] = toRecordsetValue(p.values.get(c.name));
      return r;
    });
    const sql = `SELECT x.__i AS i, d.${quoteIdent(table.ptr)} AS id
         FROM json_to_recordset($1::json) AS x(__i int, ${recordsetColumns(keyCols)})
         JOIN ${table.sql} d ON ${keyCols.map((c) => `d.${quoteIdent(c.name)} = x.${quoteIdent(c.name)}`).join(' AND ')}`;
    const rows = await tx.query<{ i: number; id: string }>(sql, [JSON.stringify(records)]);
    for (const r of rows) {
      const p = pending[r.i]!;
      p.id = r.id;
      p.isNew = false;
    }
  }

  /** Inserts master, detail and content-artifact rows; returns the units that lost a natural-key race. */
  private async insertNew(tx: Db, pulpType: string, def: ContentTypeDefinition, table: DetailTable, missing: Pending[]): Promise<Pending[]> {
    for (const p of missing) p.id = uuid7();
    await tx.query(
      `INSERT INTO core_content (pulp_id, pulp_type, pulp_labels)
       SELECT x.id, $2, coalesce(x.labels, '{}'::jsonb) FROM json_to_recordset($1::json) AS x(id uuid, labels jsonb)`,
      [JSON.stringify(missing.map((p) => ({ id: p.id, labels: p.unit.pulpLabels ?? {} }))), pulpType],
    );
    // Only columns some unit provides are written, so database defaults apply to the others.
    const provided = table.columns.filter((c) => missing.some((p) => p.values.has(c.name)));
    const records = missing.map((p) => {
      const r: Record<string, unknown> = { __id: p.id };
      for (const c of provided) r[c.name] = toRecordsetValue(p.values.get(c.name));
      return r;
    });
    const ptr = quoteIdent(table.ptr);
    const colList = provided.map((c) => quoteIdent(c.name));
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO ${table.sql} (${[ptr, ...colList].join(', ')})
       SELECT ${['x.__id', ...colList.map((c) => `x.${c}`)].join(', ')}
         FROM json_to_recordset($1::json) AS x(__id uuid${provided.length ? ', ' + recordsetColumns(provided) : ''})
       ON CONFLICT DO NOTHING
       RETURNING ${ptr} AS id`,
      [JSON.stringify(records)],
    );
    const won = new Set(inserted.map((r) => r.id));
    const lost = missing.filter((p) => !won.has(p.id!));
    if (lost.length) {
      await tx.query('DELETE FROM core_content WHERE pulp_id = ANY($1::uuid[])', [lost.map((p) => p.id)]);
      for (const p of lost) p.id = undefined;
    }
    const fresh = missing.filter((p) => won.has(p.id!));
    for (const p of fresh) p.isNew = true;
    const cas = fresh.flatMap((p) =>
      p.unit.artifacts.map((a) => ({ id: uuid7(), c: p.id, a: a.artifactId, p: a.relativePath })),
    );
    if (def.artifacts === 'one') {
      const bad = fresh.find((p) => p.unit.artifacts.length !== 1);
      if (bad) throw new Error(`${pulpType}: a one-artifact content type got ${bad.unit.artifacts.length} artifacts`);
    }
    if (cas.length) {
      await tx.query(
        `INSERT INTO core_contentartifact (pulp_id, content_id, artifact_id, relative_path)
         SELECT x.id, x.c, x.a, x.p FROM json_to_recordset($1::json) AS x(id uuid, c uuid, a uuid, p text)
         ON CONFLICT (content_id, relative_path) DO NOTHING`,
        [JSON.stringify(cas)],
      );
    }
    return lost;
  }

  /**
   * Existing units: fill in artifacts that were missing (an on-demand unit now downloaded) and
   * touch them so orphan cleanup leaves them alone while the caller links them to a version.
   */
  private async refreshExisting(tx: Db, existing: Pending[]): Promise<void> {
    const fills = existing.flatMap((p) =>
      p.unit.artifacts.filter((a) => a.artifactId).map((a) => ({ c: p.id, a: a.artifactId, p: a.relativePath })),
    );
    if (fills.length) {
      await tx.query(
        `UPDATE core_contentartifact ca SET artifact_id = x.a, pulp_last_updated = now()
           FROM json_to_recordset($1::json) AS x(c uuid, a uuid, p text)
          WHERE ca.content_id = x.c AND ca.relative_path = x.p AND ca.artifact_id IS NULL`,
        [JSON.stringify(fills)],
      );
    }
    await tx.query(
      `UPDATE core_content SET timestamp_of_interest = now()
        WHERE pulp_id IN (SELECT pulp_id FROM core_content
                           WHERE pulp_id = ANY($1::uuid[]) AND timestamp_of_interest < now() - interval '1 minute'
                           ORDER BY pulp_id FOR NO KEY UPDATE SKIP LOCKED)`,
      [existing.map((p) => p.id)],
    );
  }
}
