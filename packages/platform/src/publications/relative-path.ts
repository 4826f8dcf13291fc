/** Longest relative path accepted in a publication or served by the content app. */
export const MAX_RELATIVE_PATH = 4096;

/**
 * A relative path as publications store and the content app serves it: non-empty `/`-separated
 * segments, none of them `.` or `..`, no leading or trailing slash, no NUL. Anything else could
 * make listings ambiguous or escape a directory once paths are mapped onto a filesystem.
 */
export function isSafeRelativePath(p: string): boolean {
  if (typeof p !== 'string' || p.length === 0 || p.length > MAX_RELATIVE_PATH) return false;
  if (p.includes('\0')) return false;
  for (const seg of p.split('/')) if (seg === '' || seg === '.' || seg === '..') return false;
  return true;
}

/** `a/b/c` → `['a', 'a/b', 'a/b/c']`. */
export function pathAncestors(p: string): string[] {
  const parts = p.split('/');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** LIKE-safe form of a literal (for `LIKE $x ESCAPE '\'`). */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
