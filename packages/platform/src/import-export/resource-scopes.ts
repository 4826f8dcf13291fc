import { TaskError, type ExportScope, type ExportSet, type ImportScope, type Row } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { streamQuery } from '../db/query-stream';
import { quoteIdent } from '../http/sql-filters';
import { toRecordsetValue, type DetailTable } from '../resources/detail-tables';
import { exportContentRows, importContentRows } from './content-rows';
import { columnValueProblem, isPlainObject } from './row-validation';
import { contentIdsQuery, type VersionSpan } from './version-sets';

async function repositoryTable(p: Platform, repositoryType: string): Promise<DetailTable | null> {
  const reg = p.registry.repositoryTypes.get(repositoryType);
  if (!reg) throw new TaskError(`Repository type '${repositoryType}' is not installed here.`);
  return reg.def.entity ? p.detailTables.get(reg.def.entity) : null;
}

/** The scope a ModelResource exports one repository version's `set` through. */
export function exportScope(p: Platform, span: VersionSpan, repositoryType: string, set: ExportSet): ExportScope {
  return {
    db: p.db,
    repositoryId: span.repositoryId,
    repositoryType,
    versionNumber: span.number,
    baseVersionNumber: span.baseNumber,
    set,
    stream: (sql, params = [], batchSize = 1000) => streamQuery(p.dataSource, sql, params, batchSize),
    contentIdsQuery: (first) => contentIdsQuery(span, set, first),
    contentRows: (pulpType, batchSize) => exportContentRows(p, pulpType, contentIdsQuery(span, set, 1), batchSize),
    repositoryRow: async () => {
      const table = await repositoryTable(p, repositoryType);
      if (!table || !table.columns.length) return {};
      const [r] = await p.db.query(
        `SELECT ${table.columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${table.sql} WHERE ${quoteIdent(table.ptr)} = $1`,
        [span.repositoryId],
      );
      const out: Row = {};
      for (const c of table.columns) out[c.name] = toRecordsetValue(r?.[c.name]);
      return out;
    },
  };
}

export interface ImportScopeOptions {
  repositoryId: string;
  repositoryType: string;
  set: ExportSet;
  dryRun: boolean;
  /** Member being imported, for messages. */
  where: string;
}

/** The scope a ModelResource imports rows into one downstream repository through. */
export function importScope(p: Platform, o: ImportScopeOptions): ImportScope {
  return {
    db: p.db,
    repositoryId: o.repositoryId,
    repositoryType: o.repositoryType,
    set: o.set,
    dryRun: o.dryRun,
    saveContentRows: (pulpType, rows) =>
      importContentRows(p, pulpType, rows, { lookupOnly: o.dryRun || o.set === 'removed', where: o.where }),
    applyRepositoryRow: async (row) => {
      if (!isPlainObject(row)) throw new TaskError(`${o.where}: the repository row must be a JSON object.`);
      const table = await repositoryTable(p, o.repositoryType);
      const entries = Object.entries(row);
      if (!entries.length) return;
      if (!table) throw new TaskError(`${o.where}: repository type ${o.repositoryType} has no settings to apply.`);
      for (const [k, v] of entries) {
        const col = table.byName.get(k);
        if (!col || col.name !== k) throw new TaskError(`${o.where}: '${k}' is not a setting of ${o.repositoryType} repositories.`);
        const problem = columnValueProblem(col, v);
        if (problem) throw new TaskError(`${o.where}: ${problem}.`);
      }
      if (o.dryRun) return;
      await p.db.query(
        `UPDATE ${table.sql} AS d SET ${entries.map(([k], i) => `${quoteIdent(k)} = x.${quoteIdent(k)}`).join(', ')}
           FROM jsonb_to_record($1::jsonb) AS x(${entries.map(([k]) => `${quoteIdent(k)} ${table.byName.get(k)!.sqlType}`).join(', ')})
          WHERE d.${quoteIdent(table.ptr)} = $2`,
        [JSON.stringify(row), o.repositoryId],
      );
    },
  };
}
