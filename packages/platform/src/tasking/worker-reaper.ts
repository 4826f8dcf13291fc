import type { Platform } from '../platform';

/** Arbitrary constant key for the reaper's advisory lock: one reaper at a time across workers. */
const REAPER_LOCK = 7_345_001;

/**
 * Declares workers whose heartbeat is older than their ttl missing: deletes their status rows and
 * fails the tasks they were running ("Worker has gone missing."), cleaning up what those tasks
 * left (incomplete versions, publications). Failing the task is what releases its locks. Also
 * catches running tasks whose worker row vanished for any other reason.
 */
export async function reapMissingWorkers(p: Platform): Promise<string[]> {
  return p.db.transaction(async (tx) => {
    const got = await tx.one<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [REAPER_LOCK]);
    if (!got?.ok) return [];
    await tx.query(
      `DELETE FROM core_appstatus WHERE last_heartbeat < now() - make_interval(secs => ttl)`,
    );
    const orphaned = await tx.query<{ pulp_id: string }>(
      `SELECT pulp_id FROM core_task t
        WHERE t.state IN ('running', 'canceling')
          AND NOT EXISTS (SELECT 1 FROM core_appstatus a WHERE a.name = t.worker_name)
        FOR UPDATE SKIP LOCKED`,
    );
    const ids = orphaned.map((r) => r.pulp_id);
    for (const id of ids) {
      await p.runTaskCleanup(id, tx);
      await tx.query(
        `UPDATE core_progressreport SET state = 'failed' WHERE task_id = $1 AND state = 'running'`,
        [id],
      );
      await tx.query(
        `UPDATE core_task SET state = 'failed', finished_at = clock_timestamp(), pulp_last_updated = clock_timestamp(),
                error = '{"reason": "Worker has gone missing."}'::jsonb
          WHERE pulp_id = $1`,
        [id],
      );
      p.logger.warn('task failed: its worker has gone missing', { task: id });
    }
    return ids;
  });
}
