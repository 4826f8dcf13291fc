import type { Row } from '@pith/plugin-api';
import type { DetailColumn } from '../resources/detail-tables';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT_TYPES = new Set(['smallint', 'integer', 'bigint']);

/**
 * Why a JSON value read from an archive cannot go into a column, or null when it can. Archives
 * are untrusted: checking types here turns what would be a PostgreSQL cast error mid-import into a
 * message naming the column.
 */
export function columnValueProblem(col: DetailColumn, v: unknown): string | null {
  if (v === null) return col.nullable ? null : `'${col.name}' may not be null`;
  const t = col.sqlType;
  if (t.endsWith('[]')) return Array.isArray(v) ? null : `'${col.name}' must be an array`;
  if (INT_TYPES.has(t)) {
    const ok = (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && /^-?\d{1,19}$/.test(v));
    return ok ? null : `'${col.name}' must be an integer`;
  }
  if (t === 'numeric' || t.startsWith('numeric(') || t === 'double precision' || t === 'real') {
    const ok = (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));
    return ok ? null : `'${col.name}' must be a number`;
  }
  if (t === 'boolean') return typeof v === 'boolean' ? null : `'${col.name}' must be a boolean`;
  if (t === 'json' || t === 'jsonb') return null;
  if (t === 'uuid') return typeof v === 'string' && UUID.test(v) ? null : `'${col.name}' must be a UUID`;
  if (t === 'bytea') return typeof v === 'string' && /^\\x([0-9a-f]{2})*$/i.test(v) ? null : `'${col.name}' must be \\x-prefixed hex`;
  if (t.startsWith('timestamp') || t === 'date') {
    return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? null : `'${col.name}' must be a date/time string`;
  }
  if (typeof v !== 'string') return `'${col.name}' must be a string`;
  if (v.includes('\0')) return `'${col.name}' contains a NUL character`;
  const max = /^character(?: varying)?\((\d+)\)$/.exec(t);
  if (max && v.length > Number(max[1])) return `'${col.name}' is longer than ${max[1]} characters`;
  return null;
}

/** True for a plain JSON object (not an array or null). */
export function isPlainObject(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `pulp_labels` as stored: an object of string values. */
export function labelsProblem(v: unknown): string | null {
  if (v === undefined) return null;
  if (!isPlainObject(v)) return `'pulp_labels' must be an object`;
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') return `label '${k}' must have a string value`;
  }
  return null;
}
