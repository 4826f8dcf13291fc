import { badRequest } from '../http/errors';
import { parseHref } from '../http/hrefs';
import type { FieldFilter, FilterSet } from '@pith/plugin-api';
import { columnFilter, type SqlFilter, type SqlFilterSet, type SqlWhere } from '../http/sql-filters';
import { UUID_RE } from '../util/uuid7';

/** Pulp-style timestamps with microseconds (`2025-01-02T03:04:05.123456Z`): lossless, so usable in `WHERE … =`. */
export const tsSql = (expr: string) => `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Splits a comma-separated list value (`a,b`), dropping empties. */
export function commaList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Model suffix of master/detail kinds' PRNs (`prn:file.filerepository:<id>`). */
const PRN_MODEL_SUFFIX: Record<string, string> = {
  repositories: 'repository', remotes: 'remote', publications: 'publication', distributions: 'distribution', contentguards: 'contentguard',
};

/**
 * Resolves an href or a PRN (`prn:<app>.<model>:<uuid>`) to the row id it names. `kinds` limits
 * which href families are accepted; returns null when the value is not a reference at all.
 */
export function referenceId(value: string, kinds: string[]): string | null {
  const prnMatch = /^prn:([a-z0-9_]+)\.([a-z0-9_]+):([0-9a-f-]{36})$/i.exec(value);
  if (prnMatch && UUID_RE.test(prnMatch[3]!)) {
    // The PRN's model must be of one of these kinds (an artifact's PRN names no repository;
    // content models belong to plugins, never to core).
    const app = prnMatch[1]!.toLowerCase();
    const model = prnMatch[2]!.toLowerCase();
    const ok = kinds.some((k) => (k === 'content' ? app !== 'core' : PRN_MODEL_SUFFIX[k] === undefined || model.endsWith(PRN_MODEL_SUFFIX[k]!)));
    return ok ? prnMatch[3]!.toLowerCase() : null;
  }
  const h = parseHref(value);
  if (!h || !kinds.includes(h.kind) || h.version !== undefined) return null;
  return h.id;
}

const LABEL_TERM = /^(!)?([\w .\-/:]+?)(?:(!=|=|~)(.*))?$/;

/**
 * `pulp_label_select=k,!k,k=v,k!=v,k~sub` on a jsonb labels column (Pulp's LabelFilter):
 * presence, absence, equality, "present with another value", and case-insensitive substring.
 */
export function labelSelectFilter(column: string): SqlFilter {
  return {
    type: 'string',
    description: 'Filter labels by search string',
    apply(w: SqlWhere, _lookup, raw: string) {
      for (const term of commaList(raw)) {
        const m = LABEL_TERM.exec(term);
        if (!m) throw badRequest(`Invalid pulp_label_select term: '${term}'.`);
        const [, not, key, op, val] = m;
        const k = w.p(key!.trim());
        if (not) {
          if (op) throw badRequest(`Invalid pulp_label_select term: '${term}'.`);
          w.add(`NOT (${column} ? ${k})`);
        } else if (!op) w.add(`${column} ? ${k}`);
        else if (op === '=') w.add(`${column} ->> ${k} = ${w.p(val)}`);
        else if (op === '!=') w.add(`(${column} ? ${k} AND ${column} ->> ${k} <> ${w.p(val)})`);
        else w.add(`${column} ->> ${k} ILIKE ${w.p(`%${val!.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`);
      }
    },
  };
}

/**
 * `<name>` / `<name>__in` (comma-separated) of ids taken from hrefs, PRNs or uuids of the given
 * kinds; a value that is none of those is a 400.
 */
export function referenceInFilter(column: string, name: string, kinds: string[], accept: 'href' | 'prn' | 'uuid'): SqlFilter {
  return {
    type: accept === 'uuid' ? 'uuid' : 'string',
    lookups: ['in'],
    apply(w, _lookup, raw) {
      const ids = commaList(raw).map((v) => {
        const id = accept === 'uuid' ? (UUID_RE.test(v) ? v.toLowerCase() : null) : referenceId(v, kinds);
        if (!id || (accept === 'prn' && !v.startsWith('prn:')) || (accept === 'href' && v.startsWith('prn:'))) {
          throw badRequest(`Invalid value for filter '${name}': '${v.slice(0, 200)}'.`);
        }
        return id;
      });
      w.add(`${column} = ANY(${w.p(ids)}::uuid[])`);
    },
  };
}

/** The filters every Pulp list has: `pulp_id__in`, `pulp_href__in`, `prn__in`. */
export function identityFilters(column: string, kinds: string[]): SqlFilterSet {
  return {
    pulp_id: referenceInFilter(column, 'pulp_id__in', kinds, 'uuid'),
    pulp_href: referenceInFilter(column, 'pulp_href__in', kinds, 'href'),
    prn: referenceInFilter(column, 'prn__in', kinds, 'prn'),
  };
}

export const NAME_LOOKUPS = ['iexact', 'in', 'contains', 'icontains', 'startswith', 'istartswith'] as const;

export function nameFilter(column: string): SqlFilter {
  return { type: 'string', lookups: [...NAME_LOOKUPS], apply: columnFilter(column, 'string') };
}

export function timestampFilter(column: string): SqlFilter {
  return { type: 'datetime', lookups: ['lt', 'lte', 'gt', 'gte', 'range'], apply: columnFilter(column, 'datetime') };
}

/** `pulp_type` / `pulp_type__in` restricted to known choices (Pulp's ChoiceFilter gives 400 otherwise). */
export function pulpTypeFilter(column: string, choices: string[] | null): SqlFilter {
  return {
    type: 'string',
    lookups: ['in'],
    apply(w, lookup, raw) {
      const values = lookup === 'in' ? commaList(raw) : [raw];
      for (const v of values) {
        if (choices ? !choices.includes(v) : !/^[a-z0-9_]+\.[a-z0-9_-]+$/i.test(v)) throw badRequest(`Invalid value for filter 'pulp_type': Select a valid choice. ${v} is not one of the available choices.`);
      }
      w.add(`${column} = ANY(${w.p(values)}::text[])`);
    },
  };
}

/** Parses `If-Match` (a list of strong or weak tags, or `*`). */
export function ifMatchSatisfied(header: string | undefined, etag: string | undefined): boolean {
  if (header === undefined) return true;
  const tags = header.split(',').map((t) => t.trim().replace(/^W\//, '')).filter(Boolean);
  if (tags.includes('*')) return true;
  return etag !== undefined && tags.includes(etag);
}

/**
 * The declarative shape of SQL filters, for `Endpoint.filters` (OpenAPI parameters). The SQL is
 * applied by the handler with `applyFilters`.
 */
export function documented(set: SqlFilterSet): FilterSet {
  const out: FilterSet = {};
  for (const [name, f] of Object.entries(set)) {
    out[name] = { column: name, type: (f.type === 'href' ? 'string' : f.type) as FieldFilter['type'], lookups: f.lookups };
  }
  return out;
}
