import type { DataAccess } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import type { Platform } from '../platform';
import { API_ROOT, hrefs, prn } from '../http/hrefs';
import { notFound } from '../http/errors';
import { applyFilters, orderBy, SqlWhere, type SqlFilterSet } from '../http/sql-filters';
import { paginated, readPage } from '../http/pagination';
import { applyFieldSelection } from '../http/field-selection';
import {
  isoSql,
  MINIMAL_TASK_COLUMNS,
  serializeMinimalTask,
  type MinimalTaskJson,
  type MinimalTaskRow,
} from '../tasking/task-serializer';
import {
  cancelTasks,
  checkIfMatch,
  datetimeFilter,
  detailId,
  filterDocs,
  identityFilters,
  MINIMAL_TASK_SCHEMA,
  TaskCancelDto,
} from './tasks.endpoints';

interface TaskGroupRow {
  pulp_id: string;
  pulp_created: string;
  pulp_last_updated: string;
  description: string;
  all_tasks_dispatched: boolean;
}

export type GroupProgressReportJson = {
  message: string;
  code: string;
  total: number | null;
  done: number;
  suffix: string | null;
};

export type TaskGroupJson = {
  pulp_href: string;
  prn: string;
  pulp_created: string;
  pulp_last_updated: string;
  description: string;
  all_tasks_dispatched: boolean;
  waiting: number;
  skipped: number;
  running: number;
  completed: number;
  canceled: number;
  failed: number;
  canceling: number;
  group_progress_reports: GroupProgressReportJson[];
  tasks: MinimalTaskJson[];
};

const GROUP_COLUMNS = [
  'g.pulp_id',
  `${isoSql('g.pulp_created')} AS pulp_created`,
  `${isoSql('g.pulp_last_updated')} AS pulp_last_updated`,
  'g.description',
  'g.all_tasks_dispatched',
].join(', ');

const STATE_COUNTS = ['waiting', 'skipped', 'running', 'completed', 'canceled', 'failed', 'canceling'] as const;

/** Serializes groups with one query for all member tasks and one for all group progress reports. */
export async function serializeTaskGroups(db: DataAccess, rows: TaskGroupRow[]): Promise<TaskGroupJson[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.pulp_id);
  const [taskRows, reportRows] = await Promise.all([
    db.query<MinimalTaskRow & { task_group_id: string }>(
      `SELECT t.task_group_id, ${MINIMAL_TASK_COLUMNS} FROM core_task t
        WHERE t.task_group_id = ANY($1::uuid[]) ORDER BY t.pulp_created, t.pulp_id`,
      [ids],
    ),
    db.query<GroupProgressReportJson & { task_group_id: string }>(
      `SELECT task_group_id, message, code, total, done, suffix FROM core_groupprogressreport
        WHERE task_group_id = ANY($1::uuid[]) ORDER BY pulp_created, pulp_id`,
      [ids],
    ),
  ]);
  const tasks = new Map<string, MinimalTaskJson[]>();
  for (const t of taskRows) {
    let list = tasks.get(t.task_group_id);
    if (!list) tasks.set(t.task_group_id, (list = []));
    list.push(serializeMinimalTask(t));
  }
  const reports = new Map<string, GroupProgressReportJson[]>();
  for (const { task_group_id, message, code, total, done, suffix } of reportRows) {
    let list = reports.get(task_group_id);
    if (!list) reports.set(task_group_id, (list = []));
    list.push({ message, code, total, done, suffix });
  }
  return rows.map((g) => {
    const members = tasks.get(g.pulp_id) ?? [];
    const counts = Object.fromEntries(STATE_COUNTS.map((s) => [s, 0])) as Record<(typeof STATE_COUNTS)[number], number>;
    for (const t of members) if (t.state in counts) counts[t.state as keyof typeof counts]++;
    return {
      pulp_href: hrefs.taskGroup(g.pulp_id),
      prn: prn('core', 'taskgroup', g.pulp_id),
      pulp_created: g.pulp_created,
      pulp_last_updated: g.pulp_last_updated,
      description: g.description,
      all_tasks_dispatched: g.all_tasks_dispatched,
      ...counts,
      group_progress_reports: reports.get(g.pulp_id) ?? [],
      tasks: members,
    };
  });
}

export async function loadTaskGroup(db: DataAccess, id: string): Promise<TaskGroupJson | undefined> {
  const rows = await db.query<TaskGroupRow>(`SELECT ${GROUP_COLUMNS} FROM core_taskgroup g WHERE g.pulp_id = $1`, [id]);
  return (await serializeTaskGroups(db, rows))[0];
}

export const TASK_GROUP_FILTERS: SqlFilterSet = {
  pulp_created: datetimeFilter('g.pulp_created'),
  ...identityFilters('g', 'task-groups', 'taskgroup'),
};

const TASK_GROUP_ORDERING: Record<string, string> = {
  pk: 'g.pulp_id',
  pulp_id: 'g.pulp_id',
  pulp_created: 'g.pulp_created',
  pulp_last_updated: 'g.pulp_last_updated',
  description: 'g.description',
  all_tasks_dispatched: 'g.all_tasks_dispatched',
};

const count = { type: 'integer', readOnly: true };
export const TASK_GROUP_SCHEMA = {
  type: 'object',
  title: 'TaskGroupResponse',
  required: ['description', 'all_tasks_dispatched'],
  properties: {
    pulp_href: { type: 'string', format: 'uri', readOnly: true },
    prn: { type: 'string', readOnly: true },
    pulp_created: { type: 'string', format: 'date-time', readOnly: true },
    pulp_last_updated: { type: 'string', format: 'date-time', readOnly: true },
    description: { type: 'string' },
    all_tasks_dispatched: { type: 'boolean' },
    ...Object.fromEntries(STATE_COUNTS.map((s) => [s, count])),
    group_progress_reports: {
      type: 'array',
      readOnly: true,
      items: {
        type: 'object',
        properties: {
          message: { type: 'string' },
          code: { type: 'string' },
          total: { type: ['integer', 'null'] },
          done: { type: 'integer' },
          suffix: { type: ['string', 'null'] },
        },
      },
    },
    tasks: { type: 'array', readOnly: true, items: MINIMAL_TASK_SCHEMA },
  },
};

const DETAIL = { type: 'object', properties: { detail: { type: 'string' } } };
const GROUPS = `${API_ROOT}task-groups/`;

async function listGroups(p: Platform, ctx: RequestContext) {
  const page = readPage(ctx.query);
  const w = new SqlWhere();
  await applyFilters(w, TASK_GROUP_FILTERS, ctx.query);
  const order = orderBy(ctx.query.ordering, TASK_GROUP_ORDERING, 'g.pulp_created DESC', 'g.pulp_id DESC');
  const where = w.sql();
  const [countRow] = await p.db.query<{ n: string }>(`SELECT count(*) AS n FROM core_taskgroup g ${where}`, w.params);
  const limit = w.p(page.limit);
  const offset = w.p(page.offset);
  const rows = await p.db.query<TaskGroupRow>(
    `SELECT ${GROUP_COLUMNS} FROM core_taskgroup g ${where} ${order} LIMIT ${limit} OFFSET ${offset}`,
    w.params,
  );
  return paginated(await serializeTaskGroups(p.db, rows), Number(countRow?.n ?? 0), page, ctx.absoluteUrl, ctx.query);
}

async function readGroup(p: Platform, id: string): Promise<TaskGroupJson> {
  const g = await loadTaskGroup(p.db, id);
  if (!g) throw notFound();
  return g;
}

export function taskGroupEndpoints(p: Platform): Endpoint[] {
  return [
    {
      method: 'GET',
      path: GROUPS,
      openapiPath: GROUPS,
      operationId: 'task_groups_list',
      tag: 'Task-Groups',
      summary: 'List task groups',
      list: true,
      filters: filterDocs(TASK_GROUP_FILTERS),
      responses: { 200: { schema: TASK_GROUP_SCHEMA } },
      handler: async (ctx) => ({ status: 200, body: applyFieldSelection(await listGroups(p, ctx), ctx.query) }),
    },
    {
      method: 'GET',
      path: `${GROUPS}:pulp_id/`,
      openapiPath: '{task_group_href}',
      hrefParam: 'task_group_href',
      operationId: 'task_groups_read',
      tag: 'Task-Groups',
      summary: 'Inspect a task group',
      queryParams: { fields: 'string', exclude_fields: 'string' },
      responses: { 200: { schema: TASK_GROUP_SCHEMA }, 404: { schema: DETAIL } },
      handler: async (ctx) => ({ status: 200, body: applyFieldSelection(await readGroup(p, detailId(ctx)), ctx.query) }),
    },
    {
      method: 'PATCH',
      path: `${GROUPS}:pulp_id/`,
      openapiPath: '{task_group_href}',
      hrefParam: 'task_group_href',
      operationId: 'task_groups_cancel',
      tag: 'Task-Groups',
      summary: 'Cancel a task group',
      body: { dto: TaskCancelDto },
      responses: { 200: { schema: TASK_GROUP_SCHEMA }, 400: { schema: DETAIL }, 404: { schema: DETAIL }, 409: { schema: TASK_GROUP_SCHEMA } },
      handler: async (ctx) => {
        const id = detailId(ctx);
        const before = await readGroup(p, id);
        checkIfMatch(ctx, before);
        await cancelTasks(p, 't.task_group_id = $1', [id]);
        const group = await readGroup(p, id);
        // As in Pulp: 409 (with the group) when some member could not be stopped.
        return { status: group.waiting + group.running > 0 ? 409 : 200, body: group };
      },
    },
  ];
}
