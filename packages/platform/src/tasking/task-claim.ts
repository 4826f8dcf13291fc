import type { Db } from '../db/db';

export interface ClaimedTask {
  pulp_id: string;
  name: string;
  args: Record<string, unknown>;
  logging_cid: string | null;
  exclusive_resources: string[];
  shared_resources: string[];
  state: string;
}

/**
 * Claims the oldest waiting task whose resources are free, in strict FIFO order per resource: a
 * task is runnable only if no *earlier* incomplete task (waiting or running) holds one of its
 * exclusive resources in any mode, or one of its shared resources exclusively. Earlier tasks count
 * whether they have started or not, so nobody overtakes. SKIP LOCKED lets workers claim in
 * parallel without a global lock.
 */
export async function claimNextTask(db: Db, workerName: string): Promise<ClaimedTask | undefined> {
  return db.one<ClaimedTask>(
    `UPDATE core_task t
        SET state = 'running', started_at = clock_timestamp(), unblocked_at = COALESCE(t.unblocked_at, clock_timestamp()),
            worker_name = $1, pulp_last_updated = clock_timestamp()
      WHERE t.pulp_id = (
        SELECT c.pulp_id FROM core_task c
         WHERE c.state = 'waiting'
           AND NOT EXISTS (
             SELECT 1 FROM core_task o
              WHERE o.state IN ('waiting', 'running', 'canceling') AND o.seq < c.seq
                AND (o.exclusive_resources && (c.exclusive_resources || c.shared_resources)
                     OR o.shared_resources && c.exclusive_resources))
         ORDER BY c.seq
         LIMIT 1
         FOR UPDATE SKIP LOCKED)
        AND t.state = 'waiting'
      RETURNING t.pulp_id, t.name, t.args, t.logging_cid, t.exclusive_resources, t.shared_resources, t.state`,
    [workerName],
  );
}
