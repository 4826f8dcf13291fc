import type { Platform } from '../platform';

/** Merges top-level keys into an import's report (the parent and each child add their part). */
export async function recordImportReport(p: Platform, importId: string, part: Record<string, unknown>): Promise<void> {
  await p.db.query(
    `UPDATE core_pulpimport SET report = COALESCE(report, '{}'::jsonb) || $2::jsonb, pulp_last_updated = now() WHERE pulp_id = $1`,
    [importId, JSON.stringify(part)],
  );
}

/** Records one repository's outcome under `report.repositories.<downstream name>` (atomic per row). */
export async function recordRepositoryReport(p: Platform, importId: string, name: string, outcome: Record<string, unknown>): Promise<void> {
  await p.db.query(
    `UPDATE core_pulpimport
        SET report = jsonb_set(COALESCE(report, '{}'::jsonb) || jsonb_build_object('repositories', COALESCE(report->'repositories', '{}'::jsonb)),
                               ARRAY['repositories', $2::text], $3::jsonb),
            pulp_last_updated = now()
      WHERE pulp_id = $1`,
    [importId, name, JSON.stringify(outcome)],
  );
}
