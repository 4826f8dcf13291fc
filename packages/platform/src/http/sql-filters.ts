import type { FieldFilter, FilterLookup, FilterSet } from '@pith/plugin-api';
import { badRequest } from './errors';
import { UUID_RE } from '../util/uuid7';

/** Accumulates WHERE clauses and positional parameters for one query. */
export class SqlWhere {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  constructor(params: unknown[] = []) {
    this.params.push(...params);
  }

  /** Adds a parameter and returns its placeholder. */
  p(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  add(clause: string): void {
    this.clauses.push(clause);
  }

  sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

export type FilterValueType = FieldFilter['type'] | 'href' | 'string[]';

/** A list filter the platform knows how to apply (generated from FieldFilter or written in code). */
export interface SqlFilter {
  type: FilterValueType;
  lookups?: FilterLookup[];
  description?: string;
  apply(w: SqlWhere, lookup: FilterLookup, value: string): void | Promise<void>;
}

export type SqlFilterSet = Record<string, SqlFilter>;

const ALWAYS_ALLOWED = new Set(['limit', 'offset', 'ordering', 'fields', 'exclude_fields', 'minimal', 'page_size', 'format']);

const MAX_FILTER_VALUE = 4096;

export function parseValue(type: FilterValueType, name: string, value: string): unknown {
  switch (type) {
    case 'integer':
      if (!/^-?\d{1,15}$/.test(value)) throw badRequest(`Invalid value for filter '${name}': '${value}' is not an integer.`);
      return Number(value);
    case 'boolean':
      if (!['true', 'false', 'True', 'False', '1', '0'].includes(value)) throw badRequest(`Invalid value for filter '${name}': expected true or false.`);
      return value === 'true' || value === 'True' || value === '1';
    case 'datetime': {
      const d = new Date(value);
      if (Number.isNaN(d.getTime())) throw badRequest(`Invalid value for filter '${name}': '${value}' is not a date-time.`);
      return d.toISOString();
    }
    case 'uuid':
      if (!UUID_RE.test(value)) throw badRequest(`Invalid value for filter '${name}': '${value}' is not a UUID.`);
      return value;
    default:
      if (value.length > MAX_FILTER_VALUE) throw badRequest(`Invalid value for filter '${name}': too long.`);
      return value;
  }
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** SQL for one column comparison with a Django-style lookup. */
export function columnFilter(column: string, type: FilterValueType): SqlFilter['apply'] {
  return (w, lookup, raw) => {
    const one = (v: string) => w.p(parseValue(type, column, v));
    // Pattern lookups skip parseValue; the same bound applies to them.
    if (lookup.endsWith('contains') || lookup.endsWith('startswith')) parseValue('string', column, raw);
    switch (lookup) {
      case 'exact': w.add(`${column} = ${one(raw)}`); break;
      case 'ne': w.add(`${column} IS DISTINCT FROM ${one(raw)}`); break;
      case 'iexact': w.add(`lower(${column}) = lower(${one(raw)})`); break;
      case 'in': w.add(`${column} = ANY(${w.p(raw.split(',').map((v) => parseValue(type, column, v)))})`); break;
      case 'contains': w.add(`${column} LIKE ${w.p(`%${escapeLike(raw)}%`)}`); break;
      case 'icontains': w.add(`${column} ILIKE ${w.p(`%${escapeLike(raw)}%`)}`); break;
      case 'startswith': w.add(`${column} LIKE ${w.p(`${escapeLike(raw)}%`)}`); break;
      case 'istartswith': w.add(`${column} ILIKE ${w.p(`${escapeLike(raw)}%`)}`); break;
      case 'lt': w.add(`${column} < ${one(raw)}`); break;
      case 'lte': w.add(`${column} <= ${one(raw)}`); break;
      case 'gt': w.add(`${column} > ${one(raw)}`); break;
      case 'gte': w.add(`${column} >= ${one(raw)}`); break;
      case 'range': {
        const parts = raw.split(',');
        if (parts.length !== 2) throw badRequest(`Invalid value for '${column}__range': expected two comma-separated values.`);
        w.add(`${column} BETWEEN ${one(parts[0]!)} AND ${one(parts[1]!)}`);
        break;
      }
      case 'isnull':
        w.add(parseValue('boolean', column, raw) ? `${column} IS NULL` : `${column} IS NOT NULL`);
        break;
    }
  };
}

/** Converts a plugin's declarative FilterSet (columns on alias `d`, or `m` for master columns). */
export function fromFieldFilters(set: FilterSet | undefined, detailAlias = 'd', masterAlias = 'm'): SqlFilterSet {
  const out: SqlFilterSet = {};
  for (const [name, f] of Object.entries(set ?? {})) {
    const col = `${f.master ? masterAlias : detailAlias}.${quoteIdent(f.column)}`;
    out[name] = { type: f.type, lookups: f.lookups, apply: columnFilter(col, f.type) };
  }
  return out;
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`unsafe identifier ${name}`);
  return `"${name}"`;
}

/**
 * Applies the query string to `w`. Unknown parameters are a 400 `Invalid Filter` (Pulp rejects
 * them so a typo never silently returns everything).
 */
export async function applyFilters(
  w: SqlWhere,
  filters: SqlFilterSet,
  query: Record<string, string | string[]>,
  extraAllowed: string[] = [],
): Promise<void> {
  for (const [key, rawValue] of Object.entries(query)) {
    // PostgreSQL text cannot hold NUL; a query parameter carrying one names nothing.
    if (key.includes('\u0000') || (Array.isArray(rawValue) ? rawValue : [rawValue]).some((v) => v.includes('\u0000'))) {
      throw badRequest(`Invalid value for filter '${key.replace(/\u0000/g, '\\0')}': null characters are not allowed.`);
    }
    if (ALWAYS_ALLOWED.has(key) || extraAllowed.includes(key)) continue;
    // One value is an href, a name, a date…; only `__in` lists may be longer.
    if (!key.endsWith('__in') && (Array.isArray(rawValue) ? rawValue : [rawValue]).some((v) => v.length > MAX_FILTER_VALUE)) {
      throw badRequest(`Invalid value for filter '${key}': too long.`);
    }
    let name = key;
    let lookup: FilterLookup = 'exact';
    let filter = filters[key];
    if (!filter) {
      const i = key.lastIndexOf('__');
      if (i > 0) {
        name = key.slice(0, i);
        lookup = key.slice(i + 2) as FilterLookup;
        filter = filters[name];
        if (filter && !(filter.lookups ?? []).includes(lookup)) filter = undefined;
      }
    }
    if (!filter) throw badRequest(`Invalid Filter: '${key}'`);
    const values = Array.isArray(rawValue) ? rawValue : [rawValue];
    // Repeated keys combine like a comma-separated __in list for `in`, otherwise all must match.
    for (const v of values) await filter.apply(w, lookup, v);
  }
}

/** Names of all query parameters a filter set accepts (for OpenAPI). */
export function filterParameterNames(filters: SqlFilterSet): Array<{ name: string; type: FilterValueType; lookup: FilterLookup }> {
  const out: Array<{ name: string; type: FilterValueType; lookup: FilterLookup }> = [];
  for (const [name, f] of Object.entries(filters)) {
    out.push({ name, type: f.type, lookup: 'exact' });
    for (const l of f.lookups ?? []) out.push({ name: `${name}__${l}`, type: f.type, lookup: l });
  }
  return out;
}

/** `ordering=-pulp_created,name` → ORDER BY, restricted to the allowed columns; a stable tiebreak is appended. */
export function orderBy(
  raw: string | string[] | undefined,
  allowed: Record<string, string>,
  dflt: string,
  tiebreak: string,
): string {
  const parts = raw === undefined ? [] : (Array.isArray(raw) ? raw.join(',') : raw).split(',').filter(Boolean);
  if (parts.length === 0) return `ORDER BY ${dflt}, ${tiebreak}`;
  const sql = parts.map((p) => {
    const desc = p.startsWith('-');
    const field = desc ? p.slice(1) : p;
    const col = allowed[field];
    if (!col) throw badRequest(`Invalid ordering: '${field}'. Allowed: ${Object.keys(allowed).join(', ')}.`);
    return `${col} ${desc ? 'DESC' : 'ASC'}`;
  });
  return `ORDER BY ${sql.join(', ')}, ${tiebreak}`;
}
