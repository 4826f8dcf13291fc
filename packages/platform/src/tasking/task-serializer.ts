import type { DataAccess } from '@pith/plugin-api';
import { hrefs, prn } from '../http/hrefs';

/**
 * SQL rendering a timestamptz the way Pulp (DRF) prints it: UTC with microseconds and a `Z`.
 * Selecting text keeps the microseconds a JS Date would drop, so a value read from the API can be
 * fed back into a filter (`finished_at__lt=`) without rounding surprises.
 */
export const isoSql = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Columns of `core_task t` needed to serialize a task (timestamps already as ISO text). */
export const TASK_COLUMNS = [
  't.pulp_id',
  `${isoSql('t.pulp_created')} AS pulp_created`,
  `${isoSql('t.pulp_last_updated')} AS pulp_last_updated`,
  't.state',
  't.name',
  't.logging_cid',
  't.created_by',
  `${isoSql('t.unblocked_at')} AS unblocked_at`,
  `${isoSql('t.started_at')} AS started_at`,
  `${isoSql('t.finished_at')} AS finished_at`,
  't.error',
  't.result',
  't.exclusive_resources',
  't.shared_resources',
  't.created_resources',
  't.parent_task_id',
  't.task_group_id',
].join(', ');

/** The few columns the minimal representation needs (task lists inside task groups, `?minimal=true`). */
export const MINIMAL_TASK_COLUMNS = [
  't.pulp_id',
  `${isoSql('t.pulp_created')} AS pulp_created`,
  `${isoSql('t.pulp_last_updated')} AS pulp_last_updated`,
  't.state',
  't.name',
  `${isoSql('t.unblocked_at')} AS unblocked_at`,
  `${isoSql('t.started_at')} AS started_at`,
  `${isoSql('t.finished_at')} AS finished_at`,
].join(', ');

export interface MinimalTaskRow {
  pulp_id: string;
  pulp_created: string;
  pulp_last_updated: string;
  state: string;
  name: string;
  unblocked_at: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface TaskRow extends MinimalTaskRow {
  logging_cid: string | null;
  created_by: number | null;
  error: Record<string, unknown> | null;
  result: unknown;
  exclusive_resources: string[];
  shared_resources: string[];
  created_resources: string[];
  parent_task_id: string | null;
  task_group_id: string | null;
}

export type ProgressReportJson = {
  message: string;
  code: string;
  state: string;
  total: number | null;
  done: number;
  suffix: string | null;
};

export type MinimalTaskJson = {
  pulp_href: string;
  prn: string;
  pulp_created: string;
  pulp_last_updated: string;
  state: string;
  name: string;
  unblocked_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  worker: null;
};

export type TaskJson = {
  pulp_href: string;
  prn: string;
  pulp_created: string;
  pulp_last_updated: string;
  state: string;
  name: string;
  logging_cid: string | null;
  created_by: string | null;
  unblocked_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  error: Record<string, unknown> | null;
  worker: null;
  parent_task: string | null;
  child_tasks: string[];
  task_group: string | null;
  progress_reports: ProgressReportJson[];
  created_resources: string[];
  created_resource_prns: string[];
  reserved_resources_record: string[];
  result: unknown;
  pulp_api_version: 'v3';
};

export const taskPrn = (id: string) => prn('core', 'task', id);

/** Pulp stores exclusive resources as-is and shared ones prefixed with `shared:`. */
export function reservedResourcesRecord(exclusive: string[], shared: string[]): string[] {
  return [...(exclusive ?? []), ...(shared ?? []).map((r) => `shared:${r}`)];
}

export function serializeMinimalTask(r: MinimalTaskRow): MinimalTaskJson {
  return {
    pulp_href: hrefs.task(r.pulp_id),
    prn: taskPrn(r.pulp_id),
    pulp_created: r.pulp_created,
    pulp_last_updated: r.pulp_last_updated,
    state: r.state,
    name: r.name,
    unblocked_at: r.unblocked_at,
    started_at: r.started_at,
    finished_at: r.finished_at,
    // Pulp dropped the task→worker link; the field stays for schema compatibility.
    worker: null,
  };
}

/** Builds the full JSON of one task from its row and the already-loaded related rows. */
export function serializeTaskRow(r: TaskRow, childIds: string[], reports: ProgressReportJson[]): TaskJson {
  return {
    pulp_href: hrefs.task(r.pulp_id),
    prn: taskPrn(r.pulp_id),
    pulp_created: r.pulp_created,
    pulp_last_updated: r.pulp_last_updated,
    state: r.state,
    name: r.name,
    logging_cid: r.logging_cid,
    created_by: r.created_by === null || r.created_by === undefined ? null : hrefs.user(r.created_by),
    unblocked_at: r.unblocked_at,
    started_at: r.started_at,
    finished_at: r.finished_at,
    error: r.error ?? null,
    worker: null,
    parent_task: r.parent_task_id ? hrefs.task(r.parent_task_id) : null,
    child_tasks: childIds.map((id) => hrefs.task(id)),
    task_group: r.task_group_id ? hrefs.taskGroup(r.task_group_id) : null,
    progress_reports: reports,
    created_resources: r.created_resources ?? [],
    created_resource_prns: [],
    reserved_resources_record: reservedResourcesRecord(r.exclusive_resources, r.shared_resources),
    result: r.result ?? null,
    pulp_api_version: 'v3',
  };
}

/**
 * Serializes task rows with one query for all their progress reports and one for all their child
 * tasks, whatever the page size (no per-task queries).
 */
export async function serializeTasks(db: DataAccess, rows: TaskRow[]): Promise<TaskJson[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.pulp_id);
  const [reportRows, childRows] = await Promise.all([
    db.query<ProgressReportJson & { task_id: string }>(
      `SELECT task_id, message, code, state, total, done, suffix
         FROM core_progressreport WHERE task_id = ANY($1::uuid[])
        ORDER BY pulp_created, pulp_id`,
      [ids],
    ),
    db.query<{ parent_task_id: string; pulp_id: string }>(
      `SELECT parent_task_id, pulp_id FROM core_task WHERE parent_task_id = ANY($1::uuid[]) ORDER BY pulp_created, pulp_id`,
      [ids],
    ),
  ]);
  const reports = new Map<string, ProgressReportJson[]>();
  for (const { task_id, message, code, state, total, done, suffix } of reportRows) {
    let list = reports.get(task_id);
    if (!list) reports.set(task_id, (list = []));
    list.push({ message, code, state, total, done, suffix });
  }
  const children = new Map<string, string[]>();
  for (const c of childRows) {
    let list = children.get(c.parent_task_id);
    if (!list) children.set(c.parent_task_id, (list = []));
    list.push(c.pulp_id);
  }
  return rows.map((r) => serializeTaskRow(r, children.get(r.pulp_id) ?? [], reports.get(r.pulp_id) ?? []));
}

/** Loads and serializes one task, or undefined when it does not exist. */
export async function loadTask(db: DataAccess, id: string): Promise<TaskJson | undefined> {
  const rows = await db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM core_task t WHERE t.pulp_id = $1`, [id]);
  if (rows.length === 0) return undefined;
  return (await serializeTasks(db, rows))[0];
}
