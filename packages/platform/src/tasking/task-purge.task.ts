import { IsArray, IsIn, IsInt, IsISO8601, IsOptional } from 'class-validator';
import type { TaskContext, TaskDefinition } from '@pith/plugin-api';
import { FINAL_TASK_STATES } from '../db/entities/task.entity';

export const PURGE_TASK_NAME = 'core.purge';
/** Tasks deleted per statement: keeps each transaction (and its cascade) short. */
export const PURGE_BATCH_SIZE = 1000;

/** Stored arguments of `core.purge` (the endpoint fills in the defaults). */
export class PurgeTaskPayload {
  /** Tasks that finished strictly before this instant are removed. */
  @IsISO8601({ strict: true }) finished_before: string;
  @IsArray() @IsIn(FINAL_TASK_STATES, { each: true }) states: string[];
  /** Set for non-superusers: only their own tasks are purged (Pulp purges what the user may delete). */
  @IsOptional() @IsInt() created_by?: number | null;
}

export interface PurgeCounts {
  tasks: number;
  progress_reports: number;
}

/**
 * Deletes final tasks in batches (progress reports go with them by cascade; child tasks keep
 * living with `parent_task` cleared). Incomplete tasks are never touched, so purging is safe while
 * other tasks run, and re-running it after an interruption just continues.
 */
export async function purgeTasks(
  ctx: Pick<TaskContext, 'db' | 'progress' | 'throwIfCanceled'>,
  payload: PurgeTaskPayload,
  batchSize = PURGE_BATCH_SIZE,
): Promise<PurgeCounts> {
  // Only final states may be purged, whatever the stored payload says.
  const states = payload.states.filter((s) => (FINAL_TASK_STATES as string[]).includes(s));
  const params = [payload.finished_before, states, payload.created_by ?? null];
  const where = `finished_at < $1::timestamptz AND state = ANY($2::text[]) AND ($3::int IS NULL OR created_by = $3::int)`;
  const [expected] = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM core_task WHERE ${where}`, params);

  const totalReport = await ctx.progress({ message: 'Purged task-related-objects total', code: 'purge.tasks.total', total: null });
  const taskReport = await ctx.progress({
    message: 'Purged task-objects of type core.Task',
    code: 'purge.tasks.key.core.Task',
    total: expected?.n ?? 0,
  });
  const reportReport = await ctx.progress({
    message: 'Purged task-objects of type core.ProgressReport',
    code: 'purge.tasks.key.core.ProgressReport',
    total: null,
  });

  const counts: PurgeCounts = { tasks: 0, progress_reports: 0 };
  for (;;) {
    ctx.throwIfCanceled();
    // One statement per batch: pick victims (skipping rows another purge holds), count the progress
    // reports the cascade will remove, delete.
    const [r] = await ctx.db.query<{ tasks: number; reports: number }>(
      `WITH victims AS (
         SELECT pulp_id FROM core_task WHERE ${where}
          ORDER BY finished_at LIMIT ${Math.max(1, Math.floor(batchSize))} FOR UPDATE SKIP LOCKED),
       reports AS (SELECT count(*)::int AS n FROM core_progressreport WHERE task_id IN (SELECT pulp_id FROM victims)),
       gone AS (DELETE FROM core_task WHERE pulp_id IN (SELECT pulp_id FROM victims) RETURNING 1)
       SELECT (SELECT count(*)::int FROM gone) AS tasks, (SELECT n FROM reports) AS reports`,
      params,
    );
    const tasks = r?.tasks ?? 0;
    const reports = r?.reports ?? 0;
    counts.tasks += tasks;
    counts.progress_reports += reports;
    taskReport.increment(tasks);
    reportReport.increment(reports);
    totalReport.increment(tasks + reports);
    if (tasks < batchSize) break;
  }
  taskReport.setTotal(counts.tasks);
  reportReport.setTotal(counts.progress_reports);
  totalReport.setTotal(counts.tasks + counts.progress_reports);
  await Promise.all([taskReport.done(), reportReport.done(), totalReport.done()]);
  return counts;
}

/** `core.purge`: dispatched by `POST tasks/purge/`; takes no locks (it only deletes final rows). */
export function purgeTaskDefinition(): TaskDefinition<PurgeTaskPayload> {
  return {
    name: PURGE_TASK_NAME,
    payload: PurgeTaskPayload,
    resources: () => ({}),
    async run(ctx, payload) {
      await purgeTasks(ctx, payload);
    },
  };
}
