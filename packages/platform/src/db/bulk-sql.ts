import type { Row } from '@pith/plugin-api';
import type { Db } from './db';

/**
 * Planner settings for batch lookups: a batch of keys (a recordset parameter) probing large tables
 * by unique or primary keys. Per-key index probes cost O(batch) whatever the table size; what the
 * planner picks instead depends on statistics, which are missing or stale right after a large
 * sync (never analyzed yet): it was seen scanning all of a remote's remote artifacts once per key
 * (a 2,000-unit re-sync took 1.2 s instead of 0.1 s), and with fresh statistics it prefers hash
 * joins that read the whole table for every batch. Join methods other than nested loops and
 * non-index scans are switched off (penalised, not forbidden: a lookup without a usable index
 * still runs).
 */
const PROBE_SETTINGS =
  'SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off';

function requireTransaction(tx: Db, what: string): void {
  if (!tx.inTransaction) throw new Error(`${what} needs a transaction`);
}

/** Applies PROBE_SETTINGS to the rest of transaction `tx` (a transaction of bulk, batch-driven statements). */
export async function planForProbes(tx: Db): Promise<void> {
  requireTransaction(tx, 'planForProbes');
  await tx.query(PROBE_SETTINGS);
}

/** Runs one batch-lookup statement with PROBE_SETTINGS, in a short transaction of its own. */
export async function probeQuery<T extends Row = Row>(db: Db, sql: string, params: unknown[]): Promise<T[]> {
  return db.transaction(async (tx) => {
    await planForProbes(tx);
    return tx.query<T>(sql, params);
  });
}

/**
 * Lets transaction `tx` commit without waiting for its WAL flush (`synchronous_commit = off`: 1–8
 * ms per commit on the VM disk, far more while it writes back a large sync). For a task's
 * intermediate writes only: the task's own final state is committed synchronously afterwards,
 * which flushes these too, and PostgreSQL stays consistent either way; what a server or OS crash
 * can lose is the last fraction of a second of such commits, i.e. work of a task that is then
 * failed and re-run. Visibility to other transactions is unchanged.
 */
export async function relaxCommit(tx: Db): Promise<void> {
  requireTransaction(tx, 'relaxCommit');
  await tx.query('SET LOCAL synchronous_commit = off');
}
