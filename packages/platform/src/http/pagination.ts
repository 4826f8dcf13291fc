import { badRequest } from './errors';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 5000;

export interface Page {
  limit: number;
  offset: number;
}

function nonNegativeInt(name: string, v: string | string[] | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (Array.isArray(v) || !/^\d{1,9}$/.test(v)) throw badRequest(`'${name}' must be a non-negative integer.`);
  return Number(v);
}

export function readPage(query: Record<string, string | string[]>): Page {
  const limit = nonNegativeInt('limit', query.limit ?? query.page_size, DEFAULT_PAGE_SIZE);
  const offset = nonNegativeInt('offset', query.offset, 0);
  return { limit: Math.min(limit === 0 ? DEFAULT_PAGE_SIZE : limit, MAX_PAGE_SIZE), offset };
}

/** DRF LimitOffsetPagination body: absolute next/previous links, relative hrefs inside. */
export function paginated(
  results: unknown[],
  count: number,
  page: Page,
  absoluteUrl: string,
  query: Record<string, string | string[]>,
): { count: number; next: string | null; previous: string | null; results: unknown[] } {
  const link = (offset: number | null) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (k === 'offset' || k === 'limit') continue;
      for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
    }
    params.set('limit', String(page.limit));
    if (offset !== null && offset > 0) params.set('offset', String(offset));
    return `${absoluteUrl}?${params.toString()}`;
  };
  const next = page.offset + page.limit < count ? link(page.offset + page.limit) : null;
  const previous = page.offset > 0 ? link(Math.max(0, page.offset - page.limit)) : null;
  return { count, next, previous, results };
}
