import { ArchiveError } from './archive-errors';

/** Largest accepted chunk size: 1 TiB (same limit as Pulp, #8628). */
export const MAX_CHUNK_SIZE = 2 ** 40;

/** The one message for every rejected chunk size, so a DTO validator can reuse it verbatim. */
export const CHUNK_SIZE_MESSAGE =
  'chunk_size must be a positive size such as 10MB, 1.5GB or a number of bytes ' +
  '(units B, KB, MB, GB, TB, binary; at most 1TB)';

export class ChunkSizeError extends ArchiveError {
  constructor() {
    super(CHUNK_SIZE_MESSAGE);
    this.name = 'ChunkSizeError';
  }
}

// Binary multipliers; `K`, `KB` and `KiB` all mean 1024 (Pulp accepts KB…TB, 1 KB = 1024).
const UNITS: Record<string, number> = { '': 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
const SIZE_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:([KMGT])(?:I?B)?|(B))?$/i;

/**
 * Parses a chunk size into bytes. Accepts a positive integer number, a digit string of bytes
 * ("1048576") or a number with a unit, case-insensitive, optional space: "10MB", "10 mb", "10M",
 * "1.5GB" (floored to whole bytes). Pulp rejects bare integers and "10M" although its docs show
 * them; accepting both is a strict superset, so every Pulp client request still works.
 * @throws ChunkSizeError for anything else, ≤ 0 bytes or more than 1 TiB.
 */
export function parseChunkSize(v: unknown): number {
  let bytes: number;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new ChunkSizeError();
    bytes = v;
  } else if (typeof v === 'string') {
    const m = SIZE_RE.exec(v.trim());
    if (!m) throw new ChunkSizeError();
    const [, num = '', prefix, plainB] = m;
    const unit = prefix ? prefix.toUpperCase() : plainB ? 'B' : '';
    // A fraction of a byte means nothing: "1.5" alone is rejected, "1.5KB" is 1536.
    if (unit === '' || unit === 'B') {
      if (!/^\d+$/.test(num)) throw new ChunkSizeError();
    }
    bytes = Math.floor(Number(num) * (UNITS[unit] ?? NaN));
  } else {
    throw new ChunkSizeError();
  }
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > MAX_CHUNK_SIZE) throw new ChunkSizeError();
  return bytes;
}

/** `parseChunkSize` as a predicate (for class-validator `@ValidateBy`/custom constraints). */
export function isValidChunkSize(v: unknown): boolean {
  try {
    parseChunkSize(v);
    return true;
  } catch {
    return false;
  }
}
