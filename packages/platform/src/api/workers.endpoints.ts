import type { Endpoint, RequestContext } from '../http/endpoint';
import type { Platform } from '../platform';
import { API_ROOT, hrefs, prn } from '../http/hrefs';
import { notFound } from '../http/errors';
import { applyFilters, columnFilter, orderBy, parseValue, SqlWhere, type SqlFilterSet } from '../http/sql-filters';
import { paginated, readPage } from '../http/pagination';
import { applyFieldSelection } from '../http/field-selection';
import { isoSql } from '../tasking/task-serializer';
import { datetimeFilter, detailId, filterDocs, identityFilters } from './tasks.endpoints';

interface WorkerRow {
  pulp_id: string;
  pulp_created: string;
  pulp_last_updated: string;
  name: string;
  last_heartbeat: string;
  versions: Record<string, string>;
  current_task_id: string | null;
}

export type WorkerJson = {
  pulp_href: string;
  prn: string;
  pulp_created: string;
  pulp_last_updated: string;
  name: string;
  last_heartbeat: string;
  versions: Record<string, string>;
  current_task: string | null;
};

const WORKER_COLUMNS = [
  'w.pulp_id',
  `${isoSql('w.pulp_created')} AS pulp_created`,
  `${isoSql('w.pulp_last_updated')} AS pulp_last_updated`,
  'w.name',
  `${isoSql('w.last_heartbeat')} AS last_heartbeat`,
  'w.versions',
  'w.current_task_id',
].join(', ');

/** A worker is online while its last heartbeat is younger than its own TTL. */
const ONLINE_SQL = `w.last_heartbeat >= now() - make_interval(secs => w.ttl)`;

export function serializeWorker(r: WorkerRow): WorkerJson {
  return {
    pulp_href: hrefs.worker(r.pulp_id),
    // `/workers/` is served from AppStatus rows, as in Pulp.
    prn: prn('core', 'appstatus', r.pulp_id),
    pulp_created: r.pulp_created,
    pulp_last_updated: r.pulp_last_updated,
    name: r.name,
    last_heartbeat: r.last_heartbeat,
    versions: r.versions ?? {},
    current_task: r.current_task_id ? hrefs.task(r.current_task_id) : null,
  };
}

export const WORKER_FILTERS: SqlFilterSet = {
  name: {
    type: 'string',
    lookups: ['iexact', 'in', 'contains', 'icontains', 'startswith', 'istartswith'],
    apply: columnFilter('w.name', 'string'),
  },
  last_heartbeat: datetimeFilter('w.last_heartbeat'),
  online: {
    type: 'boolean',
    apply: (w, _l, raw) => w.add(parseValue('boolean', 'online', raw) ? ONLINE_SQL : `NOT (${ONLINE_SQL})`),
  },
  missing: {
    type: 'boolean',
    apply: (w, _l, raw) => w.add(parseValue('boolean', 'missing', raw) ? `NOT (${ONLINE_SQL})` : ONLINE_SQL),
  },
  ...identityFilters('w', 'workers', 'appstatus'),
};

const WORKER_ORDERING: Record<string, string> = {
  pk: 'w.pulp_id',
  pulp_id: 'w.pulp_id',
  pulp_created: 'w.pulp_created',
  pulp_last_updated: 'w.pulp_last_updated',
  name: 'w.name',
  last_heartbeat: 'w.last_heartbeat',
};

export const WORKER_SCHEMA = {
  type: 'object',
  title: 'WorkerResponse',
  properties: {
    pulp_href: { type: 'string', format: 'uri', readOnly: true },
    prn: { type: 'string', readOnly: true },
    pulp_created: { type: 'string', format: 'date-time', readOnly: true },
    pulp_last_updated: { type: 'string', format: 'date-time', readOnly: true },
    name: { type: 'string', readOnly: true },
    last_heartbeat: { type: 'string', format: 'date-time', readOnly: true },
    versions: { type: 'object', additionalProperties: { type: 'string' }, readOnly: true },
    current_task: { type: ['string', 'null'], format: 'uri', readOnly: true },
  },
};

const DETAIL = { type: 'object', properties: { detail: { type: 'string' } } };
const WORKERS = `${API_ROOT}workers/`;

async function listWorkers(p: Platform, ctx: RequestContext) {
  const page = readPage(ctx.query);
  const w = new SqlWhere();
  w.add(`w.app_type = 'worker'`);
  await applyFilters(w, WORKER_FILTERS, ctx.query);
  const order = orderBy(ctx.query.ordering, WORKER_ORDERING, 'w.name ASC', 'w.pulp_id ASC');
  const where = w.sql();
  const [countRow] = await p.db.query<{ n: string }>(`SELECT count(*) AS n FROM core_appstatus w ${where}`, w.params);
  const limit = w.p(page.limit);
  const offset = w.p(page.offset);
  const rows = await p.db.query<WorkerRow>(
    `SELECT ${WORKER_COLUMNS} FROM core_appstatus w ${where} ${order} LIMIT ${limit} OFFSET ${offset}`,
    w.params,
  );
  return paginated(rows.map(serializeWorker), Number(countRow?.n ?? 0), page, ctx.absoluteUrl, ctx.query);
}

export function workerEndpoints(p: Platform): Endpoint[] {
  return [
    {
      method: 'GET',
      path: WORKERS,
      openapiPath: WORKERS,
      operationId: 'workers_list',
      tag: 'Workers',
      summary: 'List workers',
      list: true,
      filters: filterDocs(WORKER_FILTERS),
      responses: { 200: { schema: WORKER_SCHEMA } },
      handler: async (ctx) => ({ status: 200, body: applyFieldSelection(await listWorkers(p, ctx), ctx.query) }),
    },
    {
      method: 'GET',
      path: `${WORKERS}:pulp_id/`,
      openapiPath: '{worker_href}',
      hrefParam: 'worker_href',
      operationId: 'workers_read',
      tag: 'Workers',
      summary: 'Inspect a worker',
      queryParams: { fields: 'string', exclude_fields: 'string' },
      responses: { 200: { schema: WORKER_SCHEMA }, 404: { schema: DETAIL } },
      handler: async (ctx) => {
        const id = detailId(ctx);
        const rows = await p.db.query<WorkerRow>(
          `SELECT ${WORKER_COLUMNS} FROM core_appstatus w WHERE w.pulp_id = $1 AND w.app_type = 'worker'`,
          [id],
        );
        if (!rows[0]) throw notFound();
        return { status: 200, body: applyFieldSelection(serializeWorker(rows[0]), ctx.query) };
      },
    },
  ];
}
