import type { Db } from '../db/db';
import { fieldError } from '../http/errors';
import { pathAncestors } from '../publications/relative-path';

export const MAX_BASE_PATH = 1024;

/** Characters of one base-path segment: URL-safe without escaping, nothing that needs decoding. */
const SEGMENT = /^[A-Za-z0-9._~+@:,=-]+$/;

/** Why `basePath` is not acceptable, or null. */
export function basePathProblem(basePath: string): string | null {
  if (basePath.length > MAX_BASE_PATH) return `Ensure this field has no more than ${MAX_BASE_PATH} characters.`;
  if (basePath.startsWith('/') || basePath.endsWith('/')) return 'Relative path cannot begin or end with slashes.';
  for (const seg of basePath.split('/')) {
    if (seg === '') return 'Relative path cannot contain empty segments (//).';
    if (seg === '.' || seg === '..') return "Relative path cannot contain '.' or '..' segments.";
    if (!SEGMENT.test(seg)) return 'Relative path may only contain letters, digits and the characters . _ ~ + @ : , = - (segments separated by /).';
  }
  return null;
}

export function validateBasePath(basePath: string): void {
  const problem = basePathProblem(basePath);
  if (problem) throw fieldError('base_path', problem);
}

/**
 * Serializes every base-path change (Pulp's `pdrn:<domain>:distribution.base_path` lock) as a
 * transaction-level advisory lock, so two concurrent creates cannot both pass the nesting check.
 */
export async function lockBasePaths(tx: Db): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('pdrn:default:distribution.base_path', 0))`);
}

/**
 * Base paths never nest: rejects a path equal to, an ancestor of, or a descendant of another
 * distribution's. Run inside the writing transaction after `lockBasePaths`.
 */
export async function assertNoOverlap(tx: Db, basePath: string, excludeId: string | null): Promise<void> {
  const row = await tx.one<{ name: string }>(
    `SELECT name FROM core_distribution
      WHERE ($1::uuid IS NULL OR pulp_id <> $1::uuid)
        AND (base_path = ANY($2::text[]) OR left(base_path, $3) = $4)
      ORDER BY base_path LIMIT 1`,
    [excludeId, pathAncestors(basePath), basePath.length + 1, `${basePath}/`],
  );
  if (row) throw fieldError('base_path', `Overlaps with existing distribution '${row.name}'.`);
}
