/** A parsed `Content-Range: bytes <start>-<end>/<total|*>` request header (end inclusive). */
export interface ContentRange {
  start: number;
  end: number;
  /** null for `*` (total unknown to the client). */
  total: number | null;
}

const RE = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/;

/**
 * Parses the header a chunk PUT carries. Returns a message instead of a range when it is malformed
 * or internally inconsistent; checks against the upload itself are done by the caller.
 */
export function parseContentRange(header: string | undefined): ContentRange | { error: string } {
  if (!header) return { error: 'Invalid or missing content range header.' };
  const m = RE.exec(header.trim());
  if (!m) return { error: 'Invalid or missing content range header.' };
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (total !== null && !Number.isSafeInteger(total))) {
    return { error: 'Content range values are too large.' };
  }
  if (end < start) return { error: 'Content range end byte is before its start byte.' };
  if (total !== null && end >= total) return { error: 'Content range end byte is beyond the total size.' };
  return { start, end, total };
}

/**
 * Describes what is missing or doubled in a set of chunks meant to cover [0, size) exactly
 * (null when they do). Chunks must be sorted by offset.
 */
export function coverageProblem(chunks: Array<{ offset: number; size: number }>, size: number): string | null {
  let pos = 0;
  const gaps: string[] = [];
  for (const c of chunks) {
    if (c.offset < pos) return `Chunks overlap at byte ${c.offset}.`;
    if (c.offset > pos) gaps.push(`${pos}-${c.offset - 1}`);
    pos = c.offset + c.size;
  }
  if (pos > size) return `Chunks extend beyond the upload size (${pos} > ${size}).`;
  if (pos < size) gaps.push(`${pos}-${size - 1}`);
  if (!gaps.length) return null;
  const shown = gaps.slice(0, 5).join(', ') + (gaps.length > 5 ? `, … (${gaps.length} gaps)` : '');
  return `The upload is incomplete: no chunk covers bytes ${shown} of ${size}.`;
}
