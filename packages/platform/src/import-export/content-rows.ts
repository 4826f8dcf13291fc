import { TaskError, type Row, type UnsavedContent } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { streamQuery } from '../db/query-stream';
import { quoteIdent } from '../http/sql-filters';
import { isSafeRelativePath } from '../publications/relative-path';
import { recordsetColumns, toRecordsetValue, type DetailTable } from '../resources/detail-tables';
import { columnValueProblem, isPlainObject, labelsProblem } from './row-validation';

/** Keys of a standard content row besides the detail columns. */
const ARTIFACTS_KEY = '_artifacts';
const LABELS_KEY = 'pulp_labels';
const SHA256 = /^[0-9a-f]{64}$/;

async function layout(p: Platform, pulpType: string): Promise<{ table: DetailTable; naturalKey: string[] }> {
  const reg = p.registry.contentTypes.get(pulpType);
  if (!reg) throw new TaskError(`Content type '${pulpType}' is not installed here.`);
  const table = await p.detailTables.get(reg.def.entity);
  return { table, naturalKey: reg.def.naturalKey.map((k) => table.byName.get(k)?.name ?? k) };
}

/**
 * Streams the standard export rows of one content type for the content ids selected by
 * `ids` (SQL with its params): every detail column, `pulp_labels`, and `_artifacts` as
 * `[{relative_path, sha256}]` (digests, never database ids). Ordered by natural key.
 */
export async function* exportContentRows(
  p: Platform,
  pulpType: string,
  ids: { sql: string; params: unknown[] },
  batchSize = 1000,
): AsyncGenerator<Row[]> {
  const { table, naturalKey } = await layout(p, pulpType);
  const typeParam = `$${ids.params.length + 1}`;
  const cols = table.columns.map((c) => `d.${quoteIdent(c.name)}`).join(', ');
  const sql = `
    SELECT ${cols}${cols ? ',' : ''} c.pulp_labels AS "${LABELS_KEY}",
           COALESCE((SELECT json_agg(json_build_object('relative_path', ca.relative_path, 'sha256', a.sha256) ORDER BY ca.relative_path)
                       FROM core_contentartifact ca LEFT JOIN core_artifact a ON a.pulp_id = ca.artifact_id
                      WHERE ca.content_id = c.pulp_id), '[]'::json) AS "${ARTIFACTS_KEY}"
      FROM core_content c JOIN ${table.sql} d ON d.${quoteIdent(table.ptr)} = c.pulp_id
     WHERE c.pulp_type = ${typeParam} AND c.pulp_id IN (${ids.sql})
     ORDER BY ${[...naturalKey.map((k) => `d.${quoteIdent(k)}`), 'c.pulp_id'].join(', ')}`;
  for await (const rows of streamQuery(p.dataSource, sql, [...ids.params, pulpType], batchSize)) {
    yield rows.map((r) => {
      const out: Row = {};
      for (const c of table.columns) out[c.name] = toRecordsetValue(r[c.name]);
      out[LABELS_KEY] = r[LABELS_KEY] ?? {};
      out[ARTIFACTS_KEY] = r[ARTIFACTS_KEY];
      return out;
    });
  }
}

interface CheckedRow {
  detail: Row;
  labels: Record<string, string>;
  artifacts: Array<{ relative_path: string; sha256: string | null }>;
}

/** Validates untrusted rows against the type's columns; the error names the row. */
function checkRows(table: DetailTable, naturalKey: string[], pulpType: string, rows: Row[], where: string): CheckedRow[] {
  return rows.map((row, i) => {
    const at = `${where}, row ${i + 1}`;
    if (!isPlainObject(row)) throw new TaskError(`${at}: a ${pulpType} row must be a JSON object.`);
    const detail: Row = {};
    for (const [k, v] of Object.entries(row)) {
      if (k === ARTIFACTS_KEY || k === LABELS_KEY) continue;
      const col = table.byName.get(k);
      if (!col || col.name !== k) throw new TaskError(`${at}: '${k}' is not a field of ${pulpType}.`);
      const problem = columnValueProblem(col, v);
      if (problem) throw new TaskError(`${at}: ${problem}.`);
      detail[k] = v;
    }
    for (const k of naturalKey) {
      if (!(k in detail)) throw new TaskError(`${at}: natural key field '${k}' of ${pulpType} is missing.`);
    }
    const lp = labelsProblem(row[LABELS_KEY]);
    if (lp) throw new TaskError(`${at}: ${lp}.`);
    const arts = row[ARTIFACTS_KEY] ?? [];
    if (!Array.isArray(arts)) throw new TaskError(`${at}: '${ARTIFACTS_KEY}' must be an array.`);
    const artifacts = arts.map((a: unknown) => {
      if (!isPlainObject(a) || typeof a.relative_path !== 'string' || !isSafeRelativePath(a.relative_path) ||
          !(a.sha256 === null || (typeof a.sha256 === 'string' && SHA256.test(a.sha256))) || Object.keys(a).length !== 2) {
        throw new TaskError(`${at}: every '${ARTIFACTS_KEY}' entry must be {relative_path (a safe relative path), sha256 (64 hex or null)}.`);
      }
      return { relative_path: a.relative_path, sha256: a.sha256 as string | null };
    });
    return { detail, labels: (row[LABELS_KEY] as Record<string, string>) ?? {}, artifacts };
  });
}

/** Content ids of units by natural key (null where none exists). */
async function findByNaturalKey(p: Platform, table: DetailTable, naturalKey: string[], rows: CheckedRow[]): Promise<Array<string | null>> {
  const keyCols = naturalKey.map((k) => table.byName.get(k)!);
  const records = rows.map((r, i) => {
    const rec: Row = { __i: i };
    for (const c of keyCols) rec[c.name] = toRecordsetValue(r.detail[c.name]);
    return rec;
  });
  const found = await p.db.query<{ i: number; id: string }>(
    `SELECT x.__i AS i, d.${quoteIdent(table.ptr)} AS id
       FROM jsonb_to_recordset($1::jsonb) AS x(__i int, ${recordsetColumns(keyCols)})
       JOIN ${table.sql} d ON ${keyCols.map((c) => `d.${quoteIdent(c.name)} = x.${quoteIdent(c.name)}`).join(' AND ')}`,
    [JSON.stringify(records)],
  );
  const out: Array<string | null> = rows.map(() => null);
  for (const f of found) out[f.i] = f.id;
  return out;
}

export interface SaveContentRowsOptions {
  /** `removed` rows and dry runs only look units up; nothing is written. */
  lookupOnly: boolean;
  /** Where the rows come from, for messages (`repository-0/file.FileContent.present.jsonl`). */
  where: string;
}

/**
 * Imports standard content rows: validated, artifacts resolved by sha256 (they must be stored
 * already: the archive's artifacts are imported first), units saved by natural key through the
 * content store (existing ones reused). With `lookupOnly`, returns the ids of existing units and
 * null for units that would be created.
 */
export async function importContentRows(p: Platform, pulpType: string, rows: Row[], opts: SaveContentRowsOptions): Promise<Array<string | null>> {
  const { table, naturalKey } = await layout(p, pulpType);
  const checked = checkRows(table, naturalKey, pulpType, rows, opts.where);
  if (opts.lookupOnly) return findByNaturalKey(p, table, naturalKey, checked);
  const digests = [...new Set(checked.flatMap((r) => r.artifacts.map((a) => a.sha256)).filter((s): s is string => !!s))];
  const stored = new Map<string, string>();
  if (digests.length) {
    const found = await p.db.query<{ pulp_id: string; sha256: string }>(
      'SELECT pulp_id, sha256 FROM core_artifact WHERE sha256 = ANY($1::text[])',
      [digests],
    );
    for (const f of found) stored.set(f.sha256, f.pulp_id);
  }
  const units: UnsavedContent[] = checked.map((r) => ({
    pulpType,
    detail: r.detail,
    pulpLabels: r.labels,
    artifacts: r.artifacts.map((a) => {
      const id = a.sha256 ? stored.get(a.sha256) : null;
      if (a.sha256 && !id) {
        throw new TaskError(`${opts.where}: artifact ${a.sha256} of '${a.relative_path}' is neither in the archive nor stored here.`);
      }
      return { relativePath: a.relative_path, artifactId: id ?? null };
    }),
  }));
  // The rows only count once the import's version completes, which commits synchronously after
  // them (db/bulk-sql.ts relaxCommit): these commits need not wait for their own WAL flush.
  return p.content.saveBatch(units, { relaxedCommit: true });
}

/** Natural-key columns of a content type (for fingerprints). */
export async function naturalKeyColumns(p: Platform, pulpType: string): Promise<{ table: DetailTable; naturalKey: string[] }> {
  return layout(p, pulpType);
}
