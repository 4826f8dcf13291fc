import { lstatSync, realpathSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The real location `p` names: the realpath of `p`, or — when `p` does not exist yet — the
 * realpath of its deepest existing ancestor joined with the missing components. Null when that
 * cannot be decided safely: relative paths, NUL bytes, `..` or `.` among the missing components
 * (their meaning would depend on directories created later), a dangling symlink (creating through
 * it would write wherever it points), loops and permission errors.
 */
export function realLocation(p: string): string | null {
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0') || !path.isAbsolute(p)) return null;
  const missing: string[] = [];
  let head = p;
  for (;;) {
    try {
      const real = realpathSync.native(head);
      return missing.length ? path.join(real, ...missing) : real;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return null;
    }
    try {
      lstatSync(head);
      return null; // exists as a link whose target does not: a dangling symlink
    } catch {
      // really missing: continue with the parent
    }
    const base = path.basename(head);
    const parent = path.dirname(head);
    if (parent === head || base === '..' || base === '.') return null;
    missing.unshift(base);
    head = parent;
  }
}

/** Whether `child` is `root` or below it (by path components: `/exports` does not contain `/exports-evil`). */
export function isInside(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * `p` resolved (symlinks followed, see `realLocation`) when it lies inside one of the `allowed`
 * roots (themselves resolved the same way); null otherwise. Comparison is by path components
 * after resolution, so neither `..`, a symlink pointing out, nor a sibling sharing a name prefix
 * gets through (Pulp's `startswith` check admits `/exports-evil` for `/exports`).
 */
export function resolveAllowed(p: string, allowed: string[]): string | null {
  const target = realLocation(p);
  if (target === null) return null;
  for (const a of allowed) {
    const root = realLocation(a);
    if (root !== null && isInside(root, target)) return target;
  }
  return null;
}
