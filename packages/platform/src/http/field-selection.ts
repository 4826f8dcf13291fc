import { badRequest } from './errors';

/** `?fields=a,b` / `?exclude_fields=c` as parsed sets (either may be absent). */
export interface FieldSelection {
  fields?: Set<string>;
  exclude?: Set<string>;
}

function readList(name: string, raw: string | string[] | undefined): Set<string> | undefined {
  if (raw === undefined) return undefined;
  const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  if (parts.length > 200 || parts.some((s) => s.length > 200)) throw badRequest(`Invalid value for '${name}'.`);
  return parts.length ? new Set(parts) : undefined;
}

/** Reads Pulp's `fields` / `exclude_fields` query parameters (comma-separated, may repeat). */
export function readFieldSelection(query: Record<string, string | string[]>): FieldSelection {
  return { fields: readList('fields', query.fields), exclude: readList('exclude_fields', query.exclude_fields) };
}

/**
 * Keeps only the selected top-level keys of one serialized object (unknown names are ignored,
 * as in Pulp), then drops the excluded ones. Returns the object unchanged when nothing is selected.
 */
export function selectFields<T extends Record<string, unknown>>(obj: T, sel: FieldSelection): Partial<T> {
  if (!sel.fields && !sel.exclude) return obj;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (sel.fields && !sel.fields.has(k)) continue;
    if (sel.exclude?.has(k)) continue;
    out[k] = v;
  }
  return out as Partial<T>;
}

/**
 * Applies the request's field selection to a response body: a paginated page (each entry of
 * `results`) or a single object. Use it on every GET that returns serialized resources.
 */
export function applyFieldSelection<B>(body: B, query: Record<string, string | string[]>): B {
  const sel = readFieldSelection(query);
  if (!sel.fields && !sel.exclude) return body;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    if (Array.isArray(b.results) && 'count' in b) {
      return { ...b, results: b.results.map((r) => (r && typeof r === 'object' ? selectFields(r as Record<string, unknown>, sel) : r)) } as B;
    }
    return selectFields(b, sel) as B;
  }
  if (Array.isArray(body)) return body.map((r) => (r && typeof r === 'object' ? selectFields(r as Record<string, unknown>, sel) : r)) as B;
  return body;
}
