/** An inclusive byte range of a representation. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header for a representation of `size` bytes (RFC 9110 §14). Only one range is
 * served: a header with several ranges, another unit or bad syntax is ignored (the full body is
 * sent, which the RFC allows). Returns 'unsatisfiable' when the single range lies outside the body.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a!.length > 15 || b!.length > 15) return null;
  if (a === '') {
    // Suffix range: the last N bytes.
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return null; // invalid: ignore
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Strips quotes and a weak prefix: `W/"x"` → `x`. */
function opaque(tag: string): string {
  return tag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** `If-None-Match` (weak comparison, RFC 9110 §13.1.2) against our ETag value (unquoted). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => opaque(t) === etag);
}

/** `If-Range`: a strong ETag or an HTTP date; the range applies only when it still matches. */
export function ifRangeMatches(header: string | undefined, etag: string, lastModified: Date): boolean {
  if (header === undefined) return true;
  const h = header.trim();
  if (h.startsWith('"')) return opaque(h) === etag;
  if (h.startsWith('W/')) return false;
  const d = Date.parse(h);
  return !Number.isNaN(d) && Math.floor(lastModified.getTime() / 1000) <= Math.floor(d / 1000);
}

/** `If-Modified-Since` (only consulted without `If-None-Match`). */
export function notModifiedSince(header: string | undefined, lastModified: Date): boolean {
  if (header === undefined) return false;
  const d = Date.parse(header);
  return !Number.isNaN(d) && Math.floor(lastModified.getTime() / 1000) <= Math.floor(d / 1000);
}
