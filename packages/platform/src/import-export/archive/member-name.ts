import { ArchiveError } from './archive-errors';

/** Shown quoted in messages; long or odd names are cut and escaped so a message stays readable. */
export function quoteMemberName(name: string): string {
  const shown = name.length > 200 ? `${name.slice(0, 200)}…` : name;
  return JSON.stringify(shown);
}

/**
 * Checks an archive member name and returns it normalised (no `.` or empty segments, no trailing
 * slash), or throws an ArchiveError naming the member. Rejected: empty names, NUL, backslashes
 * (a separator on Windows, never produced by our writer), absolute names (`/x`, and `C:` drive
 * prefixes), and any `..` segment, wherever it is: the containment check is on the whole name,
 * so `a/../../x` fails even though a prefix of it would stay inside. The caller decides what an
 * empty result (the name was only `.` segments, e.g. GNU tar's `./`) means.
 */
export function normalizeMemberName(raw: string): string {
  const q = quoteMemberName(raw);
  if (raw.length === 0) throw new ArchiveError('Archive member with an empty name.');
  if (raw.includes('\0')) throw new ArchiveError(`Archive member ${q} has a NUL character in its name.`);
  if (raw.includes('\\')) throw new ArchiveError(`Archive member ${q} has a backslash in its name.`);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) throw new ArchiveError(`Archive member ${q} has an absolute path.`);
  const parts: string[] = [];
  for (const seg of raw.split('/')) {
    if (seg === '..') throw new ArchiveError(`Archive member ${q} has a ".." path segment.`);
    if (seg !== '' && seg !== '.') parts.push(seg);
  }
  return parts.join('/');
}

/**
 * Checks a name about to be written: it must already be in normal form (what the reader would
 * return), so what is exported is exactly what an import will see.
 */
export function checkWritableMemberName(name: string): void {
  const normal = normalizeMemberName(name);
  if (normal !== name || normal === '') {
    throw new ArchiveError(`Archive member name ${quoteMemberName(name)} is not a normalised relative path.`);
  }
}
