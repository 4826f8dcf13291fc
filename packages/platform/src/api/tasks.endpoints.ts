import { Transform } from 'class-transformer';
import { IsArray, IsIn, IsISO8601, IsOptional, IsString, type ValidationArguments } from 'class-validator';
import type { FilterLookup, FilterSet } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import type { Platform } from '../platform';
import { API_ROOT, parseHref } from '../http/hrefs';
import { badRequest, conflict, fieldError, notFound, preconditionFailed } from '../http/errors';
import { applyFilters, columnFilter, orderBy, parseValue, SqlWhere, type SqlFilter, type SqlFilterSet } from '../http/sql-filters';
import { paginated, readPage } from '../http/pagination';
import { applyFieldSelection } from '../http/field-selection';
import { etagFor } from '../http/router';
import { UUID_RE } from '../util/uuid7';
import { FINAL_TASK_STATES, type TaskState } from '../db/entities/task.entity';
import {
  loadTask,
  MINIMAL_TASK_COLUMNS,
  serializeMinimalTask,
  serializeTasks,
  TASK_COLUMNS,
  type TaskRow,
} from '../tasking/task-serializer';
import { PURGE_TASK_NAME, type PurgeTaskPayload } from '../tasking/task-purge.task';

export const TASK_STATES: TaskState[] = ['waiting', 'skipped', 'running', 'completed', 'failed', 'canceled', 'canceling'];
const FINAL = FINAL_TASK_STATES as string[];
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Small helpers shared by the tasks, task-groups and workers endpoints.

/** The `:pulp_id` of a detail route; anything that is not a UUID is simply not found. */
export function detailId(ctx: RequestContext): string {
  const id = ctx.params.pulp_id ?? '';
  if (!UUID_RE.test(id)) throw notFound();
  return id.toLowerCase();
}

/** `?minimal=true` (Pulp's minimal serializer); anything but a boolean is a 400. */
export function readMinimal(query: Record<string, string | string[]>): boolean {
  const v = query.minimal;
  if (v === undefined) return false;
  if (Array.isArray(v)) throw badRequest("'minimal' must be given once.");
  return parseValue('boolean', 'minimal', v) as boolean;
}

/** 412 when the client sent an `If-Match` that is not the resource's current ETag. */
export function checkIfMatch(ctx: RequestContext, current: { pulp_href: string; pulp_last_updated: string }): void {
  if (!ctx.ifMatch) return;
  const tags = ctx.ifMatch.split(',').map((s) => s.trim().replace(/^W\//, ''));
  if (tags.includes('*')) return;
  if (!tags.includes(etagFor(current) ?? '')) throw preconditionFailed();
}

/** An href (or Pulp PRN `prn:core.<model>:<uuid>`) naming a `kind` row → its id; 400 on the filter otherwise. */
export function refId(filterName: string, value: string, kind: string, prnModel: string): string {
  const v = value.trim();
  const m = /^prn:core\.([a-z]+):(.+)$/i.exec(v);
  if (m) {
    if (m[1]!.toLowerCase() === prnModel && UUID_RE.test(m[2]!)) return m[2]!.toLowerCase();
  } else {
    const parsed = parseHref(v);
    if (parsed && parsed.kind === kind && parsed.version === undefined) return parsed.id;
  }
  throw fieldError(filterName, `Invalid value: '${v.slice(0, 200)}' is not a ${kind.replace(/s$/, '').replace('-', ' ')} href or PRN.`);
}

/** Filter on a foreign-key column given as href/PRN (exact only). */
export function refFilter(name: string, column: string, kind: string, prnModel: string): SqlFilter {
  return {
    type: 'href',
    apply: (w, _lookup, raw) => w.add(`${column} = ${w.p(refId(name, raw, kind, prnModel))}`),
  };
}

/** `pulp_id__in`, `pulp_href__in`, `prn__in` on a table's primary key. */
export function identityFilters(alias: string, kind: string, prnModel: string): SqlFilterSet {
  const idList = (name: string, lookup: FilterLookup, raw: string, parse: (v: string) => string) => {
    const values = (lookup === 'in' ? raw.split(',') : [raw]).map((s) => s.trim()).filter(Boolean);
    if (values.length > 1000) throw fieldError(name, 'Too many values (at most 1000).');
    return values.map(parse);
  };
  const idFilter = (field: string, parse: (name: string, v: string) => string): SqlFilter => ({
    type: field === 'pulp_id' ? 'uuid' : 'string',
    lookups: ['in'],
    apply: (w, lookup, raw) => {
      const name = lookup === 'exact' ? field : `${field}__${lookup}`;
      w.add(`${alias}.pulp_id = ANY(${w.p(idList(name, lookup, raw, (v) => parse(name, v)))}::uuid[])`);
    },
  });
  return {
    pulp_id: idFilter('pulp_id', (name, v) => (parseValue('uuid', name, v) as string).toLowerCase()),
    // `pulp_href__in` takes hrefs only (an impossible PRN model makes refId refuse PRNs).
    pulp_href: idFilter('pulp_href', (name, v) => refId(name, v, kind, '\0')),
    prn: idFilter('prn', (name, v) => {
      if (!v.startsWith('prn:')) throw fieldError(name, `Invalid PRN: '${v.slice(0, 200)}'.`);
      return refId(name, v, kind, prnModel);
    }),
  };
}

/** Datetime column filter with Pulp's lookups. */
export function datetimeFilter(column: string): SqlFilter {
  return { type: 'datetime', lookups: ['lt', 'lte', 'gt', 'gte', 'range', 'isnull'], apply: columnFilter(column, 'datetime') };
}

/** A string column restricted to known values (DRF ChoiceFilter message on anything else). */
function choiceFilter(name: string, column: string, choices: readonly string[], lookups: FilterLookup[]): SqlFilter {
  const base = columnFilter(column, 'string');
  return {
    type: 'string',
    lookups,
    apply: (w, lookup, raw) => {
      for (const v of lookup === 'in' ? raw.split(',') : [raw]) {
        if (!choices.includes(v)) {
          throw fieldError(lookup === 'exact' ? name : `${name}__${lookup}`, `Select a valid choice. ${v.slice(0, 100)} is not one of the available choices.`);
        }
      }
      base(w, lookup, raw);
    },
  };
}

/** Resource identifiers are stored as host-relative hrefs (or `pdrn:` strings); absolute URLs are reduced. */
function normalizeResource(v: string): string {
  const s = v.trim();
  if (/^https?:\/\//i.test(s)) {
    try {
      return new URL(s).pathname;
    } catch {
      return s;
    }
  }
  return s;
}

/**
 * Pulp's reserved-resource filters: `reserved_resources` matches a resource held in either mode,
 * `exclusive_resources` / `shared_resources` in that mode. With `__in`, every listed resource
 * must be held (Pulp chains the conditions).
 */
function resourceFilter(mode: 'any' | 'exclusive' | 'shared'): SqlFilter {
  return {
    type: 'string',
    lookups: ['in'],
    apply: (w, lookup, raw) => {
      const values = (lookup === 'in' ? raw.split(',') : [raw]).map(normalizeResource).filter(Boolean);
      if (values.length === 0) return;
      if (mode === 'any') {
        for (const v of values) {
          const ph = w.p([v]);
          w.add(`(t.exclusive_resources @> ${ph}::text[] OR t.shared_resources @> ${ph}::text[])`);
        }
      } else {
        w.add(`t.${mode}_resources @> ${w.p(values)}::text[]`);
      }
    },
  };
}

/** Every filter `GET tasks/` accepts (see reference/pulp-api.md §2, tasks row). */
export const TASK_FILTERS: SqlFilterSet = {
  state: choiceFilter('state', 't.state', TASK_STATES, ['in', 'ne']),
  name: { type: 'string', lookups: ['contains', 'in', 'ne'], apply: columnFilter('t.name', 'string') },
  logging_cid: { type: 'string', lookups: ['contains'], apply: columnFilter('t.logging_cid', 'string') },
  pulp_created: datetimeFilter('t.pulp_created'),
  started_at: datetimeFilter('t.started_at'),
  finished_at: datetimeFilter('t.finished_at'),
  unblocked_at: datetimeFilter('t.unblocked_at'),
  parent_task: refFilter('parent_task', 't.parent_task_id', 'tasks', 'task'),
  task_group: refFilter('task_group', 't.task_group_id', 'task-groups', 'taskgroup'),
  child_tasks: {
    type: 'href',
    apply: (w, _l, raw) =>
      w.add(`EXISTS (SELECT 1 FROM core_task c WHERE c.pulp_id = ${w.p(refId('child_tasks', raw, 'tasks', 'task'))} AND c.parent_task_id = t.pulp_id)`),
  },
  created_resources: {
    type: 'href',
    apply: (w, _l, raw) => w.add(`t.created_resources @> ${w.p([normalizeResource(raw)])}::text[]`),
  },
  reserved_resources: resourceFilter('any'),
  exclusive_resources: resourceFilter('exclusive'),
  shared_resources: resourceFilter('shared'),
  // Tasks are no longer linked to workers (Pulp serializes `worker` as null): a worker href matches
  // nothing and `worker__isnull=true` matches everything. Hrefs are still validated.
  worker: {
    type: 'href',
    lookups: ['in', 'isnull'],
    apply: (w, lookup, raw) => {
      if (lookup === 'isnull') {
        w.add(parseValue('boolean', 'worker__isnull', raw) ? 'TRUE' : 'FALSE');
        return;
      }
      for (const v of lookup === 'in' ? raw.split(',') : [raw]) refId(lookup === 'in' ? 'worker__in' : 'worker', v, 'workers', 'appstatus');
      w.add('FALSE');
    },
  },
  ...identityFilters('t', 'tasks', 'task'),
};

export const TASK_ORDERING: Record<string, string> = {
  pk: 't.pulp_id',
  pulp_id: 't.pulp_id',
  pulp_created: 't.pulp_created',
  pulp_last_updated: 't.pulp_last_updated',
  state: 't.state',
  name: 't.name',
  logging_cid: 't.logging_cid',
  unblocked_at: 't.unblocked_at',
  started_at: 't.started_at',
  finished_at: 't.finished_at',
};

/** Kept for call sites: SQL filter sets are valid `Endpoint.filters` as they are. */
export function filterDocs(filters: SqlFilterSet): SqlFilterSet {
  return filters;
}

// ---------------------------------------------------------------------------------------------
// Request bodies.

/** `PATCH {task_href}` / `PATCH {task_group_href}`: the only accepted change is cancelling. */
export class TaskCancelDto {
  @IsString() @IsIn(['canceled'], { message: "The only acceptable value for 'state' is 'canceled'." })
  state: string;
}

const invalidStates = (a: ValidationArguments) => {
  const bad = (Array.isArray(a.value) ? a.value : [a.value]).filter((v: unknown) => !FINAL.includes(v as string));
  return bad.map((v: unknown) => `"${String(v).slice(0, 50)}" is not a valid choice.`).join(' ') || 'Invalid choice.';
};

export class TaskPurgeDto {
  /** Purge tasks that finished before this time (default: 30 days ago). */
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].' })
  finished_before?: string;

  /** Final states to purge (default `["completed"]`). */
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value))
  @IsArray({ message: 'Expected a list of items.' })
  @IsIn(FINAL, { each: true, message: invalidStates })
  states?: string[];
}

/** Date-time from a request: a value without an offset is taken as UTC (the server's zone in Pulp). */
export function parseRequestDatetime(field: string, value: string): Date {
  const hasZone = /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(value);
  const d = new Date(value.includes('T') && !hasZone ? `${value}Z` : value);
  if (Number.isNaN(d.getTime())) throw fieldError(field, 'Datetime has wrong format.');
  return d;
}

// ---------------------------------------------------------------------------------------------
// Schemas (inline; the OpenAPI builder wraps list responses in the paginated envelope).

const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });
const DT = { type: 'string', format: 'date-time', readOnly: true };

export const PROGRESS_REPORT_SCHEMA = {
  type: 'object',
  properties: {
    message: { type: 'string' },
    code: { type: 'string' },
    state: { type: 'string' },
    total: nullable('integer'),
    done: { type: 'integer' },
    suffix: nullable('string'),
  },
};

export const MINIMAL_TASK_SCHEMA = {
  type: 'object',
  title: 'MinimalTaskResponse',
  required: ['name'],
  properties: {
    pulp_href: { type: 'string', format: 'uri', readOnly: true },
    prn: { type: 'string', readOnly: true },
    pulp_created: DT,
    pulp_last_updated: DT,
    name: { type: 'string' },
    state: { type: 'string', readOnly: true },
    unblocked_at: nullable('string', { format: 'date-time' }),
    started_at: nullable('string', { format: 'date-time' }),
    finished_at: nullable('string', { format: 'date-time' }),
    worker: nullable('string', { format: 'uri' }),
  },
};

export const TASK_SCHEMA = {
  type: 'object',
  title: 'TaskResponse',
  required: ['name'],
  properties: {
    ...MINIMAL_TASK_SCHEMA.properties,
    logging_cid: nullable('string'),
    created_by: nullable('string', { format: 'uri' }),
    error: nullable('object', { additionalProperties: {} }),
    parent_task: nullable('string', { format: 'uri' }),
    child_tasks: { type: 'array', items: { type: 'string', format: 'uri' } },
    task_group: nullable('string', { format: 'uri' }),
    progress_reports: { type: 'array', items: PROGRESS_REPORT_SCHEMA },
    created_resources: { type: 'array', items: { type: 'string', format: 'uri' } },
    created_resource_prns: { type: 'array', items: { type: 'string' } },
    reserved_resources_record: { type: 'array', items: { type: 'string' } },
    result: { description: 'The result of the task, if any.' },
    pulp_api_version: { type: 'string' },
  },
};

const DETAIL = { type: 'object', properties: { detail: { type: 'string' } } };

// ---------------------------------------------------------------------------------------------
// Endpoints.

const TASKS = `${API_ROOT}tasks/`;

async function listTasks(p: Platform, ctx: RequestContext) {
  const page = readPage(ctx.query);
  const minimal = readMinimal(ctx.query);
  const w = new SqlWhere();
  await applyFilters(w, TASK_FILTERS, ctx.query);
  const order = orderBy(ctx.query.ordering, TASK_ORDERING, 't.pulp_created DESC', 't.pulp_id DESC');
  const where = w.sql();
  const [countRow] = await p.db.query<{ n: string }>(`SELECT count(*) AS n FROM core_task t ${where}`, w.params);
  const limit = w.p(page.limit);
  const offset = w.p(page.offset);
  const rows = await p.db.query<TaskRow>(
    `SELECT ${minimal ? MINIMAL_TASK_COLUMNS : TASK_COLUMNS} FROM core_task t ${where} ${order} LIMIT ${limit} OFFSET ${offset}`,
    w.params,
  );
  const results = minimal ? rows.map(serializeMinimalTask) : await serializeTasks(p.db, rows);
  return paginated(results, Number(countRow?.n ?? 0), page, ctx.absoluteUrl, ctx.query);
}

async function readTask(p: Platform, id: string) {
  const task = await loadTask(p.db, id);
  if (!task) throw notFound();
  return task;
}

/**
 * Cancels one task in a single statement, so it cannot race a worker claiming it: a waiting task
 * becomes canceled at once (its place in the resource queues is freed), a running one canceling
 * (its worker aborts it and records canceled). Returns the tasks it changed.
 */
export async function cancelTasks(p: Platform, where: string, params: unknown[]): Promise<Array<{ pulp_id: string; state: string }>> {
  const changed = await p.db.query<{ pulp_id: string; state: string }>(
    `UPDATE core_task t
        SET state = CASE WHEN t.state = 'waiting' THEN 'canceled' ELSE 'canceling' END,
            finished_at = CASE WHEN t.state = 'waiting' THEN clock_timestamp() ELSE t.finished_at END,
            pulp_last_updated = clock_timestamp()
      WHERE ${where} AND t.state IN ('waiting', 'running')
      RETURNING t.pulp_id, t.state`,
    params,
  );
  // Wake workers: the owner of a canceling task reacts at once, and tasks queued behind a canceled
  // one may now be runnable. Best effort: the change is committed and workers poll anyway.
  await Promise.all(
    changed.map((c) =>
      p.tasks.notifyCancel(c.pulp_id).catch((e: unknown) => p.logger.warn('cancel notification failed', { task: c.pulp_id, error: String(e) })),
    ),
  );
  return changed;
}

export function taskEndpoints(p: Platform): Endpoint[] {
  return [
    {
      method: 'GET',
      path: TASKS,
      openapiPath: TASKS,
      operationId: 'tasks_list',
      tag: 'Tasks',
      summary: 'List tasks',
      list: true,
      filters: filterDocs(TASK_FILTERS),
      queryParams: { minimal: 'boolean' },
      responses: { 200: { schema: TASK_SCHEMA } },
      handler: async (ctx) => ({ status: 200, body: applyFieldSelection(await listTasks(p, ctx), ctx.query) }),
    },
    {
      method: 'POST',
      path: `${TASKS}purge/`,
      openapiPath: `${TASKS}purge/`,
      operationId: 'tasks_purge',
      tag: 'Tasks',
      summary: 'Purge Completed Tasks',
      body: { dto: TaskPurgeDto, required: false },
      responses: { 202: {}, 400: { schema: DETAIL } },
      handler: async (ctx) => {
        const dto = ctx.body as TaskPurgeDto;
        const finishedBefore = dto.finished_before
          ? parseRequestDatetime('finished_before', dto.finished_before)
          : new Date(Date.now() - 30 * DAY_MS);
        const payload: PurgeTaskPayload = {
          finished_before: finishedBefore.toISOString(),
          states: [...new Set(dto.states ?? ['completed'])],
          created_by: ctx.user && !ctx.user.is_superuser ? ctx.user.id : null,
        };
        const task = await p.tasks.dispatch({
          name: PURGE_TASK_NAME,
          payload,
          loggingCid: ctx.correlationId,
          createdBy: ctx.user?.id ?? null,
        });
        return { status: 202, body: { task: task.href } };
      },
    },
    {
      method: 'GET',
      path: `${TASKS}:pulp_id/`,
      openapiPath: '{task_href}',
      hrefParam: 'task_href',
      operationId: 'tasks_read',
      tag: 'Tasks',
      summary: 'Inspect a task',
      queryParams: { minimal: 'boolean', fields: 'string', exclude_fields: 'string' },
      responses: { 200: { schema: TASK_SCHEMA }, 404: { schema: DETAIL } },
      handler: async (ctx) => {
        const id = detailId(ctx);
        if (readMinimal(ctx.query)) {
          const rows = await p.db.query<TaskRow>(`SELECT ${MINIMAL_TASK_COLUMNS} FROM core_task t WHERE t.pulp_id = $1`, [id]);
          if (!rows[0]) throw notFound();
          return { status: 200, body: applyFieldSelection(serializeMinimalTask(rows[0]), ctx.query) };
        }
        return { status: 200, body: applyFieldSelection(await readTask(p, id), ctx.query) };
      },
    },
    {
      method: 'PATCH',
      path: `${TASKS}:pulp_id/`,
      openapiPath: '{task_href}',
      hrefParam: 'task_href',
      operationId: 'tasks_cancel',
      tag: 'Tasks',
      summary: 'Cancel a task',
      body: { dto: TaskCancelDto },
      responses: { 200: { schema: TASK_SCHEMA }, 400: { schema: DETAIL }, 404: { schema: DETAIL }, 409: { schema: DETAIL } },
      handler: async (ctx) => {
        const id = detailId(ctx);
        if (ctx.ifMatch) checkIfMatch(ctx, await readTask(p, id));
        const changed = await cancelTasks(p, 't.pulp_id = $1', [id]);
        const task = await readTask(p, id);
        // Cancelling a task that is already canceling is a no-op; a finished one is a conflict.
        if (changed.length === 0 && FINAL.includes(task.state)) {
          throw conflict(`The task is already in a final state: ${task.state}.`);
        }
        return { status: 200, body: task };
      },
    },
    {
      method: 'DELETE',
      path: `${TASKS}:pulp_id/`,
      openapiPath: '{task_href}',
      hrefParam: 'task_href',
      operationId: 'tasks_delete',
      tag: 'Tasks',
      summary: 'Delete a task',
      responses: { 204: {}, 404: { schema: DETAIL }, 409: { schema: DETAIL } },
      handler: async (ctx) => {
        const id = detailId(ctx);
        if (ctx.ifMatch) checkIfMatch(ctx, await readTask(p, id));
        const gone = await p.db.query(`DELETE FROM core_task WHERE pulp_id = $1 AND state = ANY($2::text[]) RETURNING pulp_id`, [id, FINAL]);
        if (gone.length === 0) {
          const row = await p.db.one<{ state: string }>('SELECT state FROM core_task WHERE pulp_id = $1', [id]);
          if (!row) throw notFound();
          throw conflict(`Cannot delete a task that is ${row.state}; cancel it or wait until it has finished.`);
        }
        return { status: 204 };
      },
    },
  ];
}
