import type { ProgressOptions, ProgressReporter } from '@pith/plugin-api';
import { relaxCommit } from '../db/bulk-sql';
import type { Db } from '../db/db';
import { uuid7 } from '../util/uuid7';

const FLUSH_MS = 2000;

/**
 * Progress rows are informational, so their writes do not wait for the WAL flush (1–8 ms per
 * commit on the VM disk, a dozen times per task: a visible share of a short task; see
 * db/bulk-sql.ts relaxCommit). Nothing is lost that matters: the task's own final state is
 * committed synchronously afterwards, which flushes these too, and after a crash mid-task the
 * reports are stale either way.
 */
async function writeRelaxed(db: Db, sql: string, params: unknown[]): Promise<void> {
  await db.transaction(async (tx) => {
    await relaxCommit(tx);
    await tx.query(sql, params);
  });
}

/** A progress report row, written at most every 2 s while counting (Pulp's cadence). */
export class DbProgressReporter implements ProgressReporter {
  private doneCount = 0;
  private total: number | null;
  private lastFlush = 0;
  private flushing: Promise<void> | null = null;
  private finished = false;

  private constructor(private readonly db: Db, readonly id: string, opts: ProgressOptions) {
    this.total = opts.total ?? null;
  }

  static async start(db: Db, taskId: string, opts: ProgressOptions): Promise<DbProgressReporter> {
    const r = new DbProgressReporter(db, uuid7(), opts);
    await writeRelaxed(
      db,
      `INSERT INTO core_progressreport (pulp_id, message, code, state, total, done, suffix, task_id)
       VALUES ($1, $2, $3, 'running', $4, 0, $5, $6)`,
      [r.id, opts.message, opts.code, r.total, opts.suffix ?? null, taskId],
    );
    return r;
  }

  increment(by = 1): void {
    this.doneCount += by;
    this.maybeFlush();
  }

  setTotal(total: number | null): void {
    this.total = total;
    this.maybeFlush();
  }

  private maybeFlush(): void {
    const now = Date.now();
    if (this.flushing || now - this.lastFlush < FLUSH_MS) return;
    this.lastFlush = now;
    this.flushing = this.write('running').finally(() => {
      this.flushing = null;
    });
  }

  private async write(state: string): Promise<void> {
    await writeRelaxed(this.db, `UPDATE core_progressreport SET done = $2, total = $3, state = $4, pulp_last_updated = now() WHERE pulp_id = $1`, [
      this.id, this.doneCount, this.total, state,
    ]).catch(() => undefined);
  }

  async done(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.flushing;
    await this.write('completed');
  }
}
