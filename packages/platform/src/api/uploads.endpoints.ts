import type { FilterSet } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import { badRequest, notFound } from '../http/errors';
import { API_ROOT, hrefs } from '../http/hrefs';
import { paginated, readPage } from '../http/pagination';
import { applyFieldSelection } from '../http/field-selection';
import { applyFilters, fromFieldFilters, orderBy, SqlWhere } from '../http/sql-filters';
import type { Platform } from '../platform';
import { parseContentRange } from '../uploads/content-range';
import { Upload as UploadBody, UploadChunk as UploadChunkBody, UploadCommit as UploadCommitBody } from '../uploads/upload.dto';
import { serializeUpload, type UploadRow } from '../uploads/upload.service';
import { UPLOAD_COMMIT_TASK, type UploadCommitPayload } from '../uploads/upload-commit.task';
import { UUID_RE } from '../util/uuid7';
import { checkIfMatch } from './artifacts.endpoints';

const COLLECTION = `${API_ROOT}uploads/`;

const FILTERS: FilterSet = {
  size: { column: 'size', type: 'integer', lookups: ['gt', 'gte', 'lt', 'lte', 'range'] },
  pulp_created: { column: 'pulp_created', type: 'datetime', lookups: ['gt', 'gte', 'lt', 'lte', 'range'] },
  pulp_id: { column: 'pulp_id', type: 'uuid', lookups: ['in'] },
};

const ORDERING: Record<string, string> = {
  pulp_id: 'u.pulp_id', pulp_created: 'u.pulp_created', pulp_last_updated: 'u.pulp_last_updated', size: 'u.size',
};

const UPLOAD_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    pulp_href: { type: 'string', format: 'uri', readOnly: true },
    prn: { type: 'string', readOnly: true },
    pulp_created: { type: 'string', format: 'date-time', readOnly: true },
    pulp_last_updated: { type: 'string', format: 'date-time', readOnly: true },
    size: { type: 'integer', format: 'int64' },
    completed: { type: ['string', 'null'], format: 'date-time', readOnly: true },
  },
  required: ['size'],
};

const UPLOAD_DETAIL_SCHEMA: Record<string, unknown> = {
  ...UPLOAD_SCHEMA,
  properties: {
    ...(UPLOAD_SCHEMA.properties as Record<string, unknown>),
    chunks: {
      type: 'array',
      readOnly: true,
      items: { type: 'object', properties: { offset: { type: 'integer', format: 'int64' }, size: { type: 'integer', format: 'int64' } } },
    },
  },
};

const ASYNC_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: { task: { type: 'string', format: 'uri', description: 'The href of the task.' } },
  required: ['task'],
};

function idParam(ctx: RequestContext): string {
  const id = ctx.params.pulp_id ?? '';
  if (!UUID_RE.test(id)) throw notFound();
  return id.toLowerCase();
}

export function uploadEndpoints(p: Platform): Endpoint[] {
  const filters = fromFieldFilters(FILTERS, 'u', 'u');
  const tag = 'Uploads';
  const detailPath = `${COLLECTION}:pulp_id/`;

  const load = async (id: string): Promise<UploadRow> => {
    const u = await p.uploads.get(id);
    if (!u) throw notFound();
    return u;
  };

  const create: Endpoint = {
    method: 'POST',
    path: COLLECTION,
    openapiPath: COLLECTION,
    operationId: 'uploads_create',
    tag,
    summary: 'Start a chunked upload of a file of the given size.',
    body: { dto: UploadBody, required: true },
    responses: { 201: { schema: UPLOAD_SCHEMA } },
    async handler(ctx) {
      const u = await p.uploads.create((ctx.body as UploadBody).size);
      return { status: 201, body: serializeUpload(u) };
    },
  };

  const list: Endpoint = {
    method: 'GET',
    path: COLLECTION,
    openapiPath: COLLECTION,
    operationId: 'uploads_list',
    tag,
    list: true,
    filters: FILTERS,
    responses: { 200: { schema: UPLOAD_SCHEMA } },
    async handler(ctx) {
      const w = new SqlWhere();
      await applyFilters(w, filters, ctx.query);
      const page = readPage(ctx.query);
      const order = orderBy(ctx.query.ordering, ORDERING, 'u.pulp_created DESC', 'u.pulp_id DESC');
      const where = w.sql();
      const filterParams = [...w.params];
      const [rows, count] = await Promise.all([
        p.db.query(`SELECT u.* FROM core_upload u ${where} ${order} LIMIT ${w.p(page.limit)} OFFSET ${w.p(page.offset)}`, w.params),
        p.db.one<{ n: string }>(`SELECT count(*) AS n FROM core_upload u ${where}`, filterParams),
      ]);
      const results = rows.map((r) => serializeUpload({ ...r, size: Number(r.size) } as UploadRow));
      return { status: 200, body: applyFieldSelection(paginated(results, Number(count?.n ?? 0), page, ctx.absoluteUrl, ctx.query), ctx.query) };
    },
  };

  const read: Endpoint = {
    method: 'GET',
    path: detailPath,
    openapiPath: '{upload_href}',
    hrefParam: 'upload_href',
    operationId: 'uploads_read',
    tag,
    responses: { 200: { schema: UPLOAD_DETAIL_SCHEMA } },
    async handler(ctx) {
      const u = await load(idParam(ctx));
      return { status: 200, body: applyFieldSelection(serializeUpload(u, await p.uploads.chunks(u.pulp_id)), ctx.query) };
    },
  };

  const update: Endpoint = {
    method: 'PUT',
    path: detailPath,
    openapiPath: '{upload_href}',
    hrefParam: 'upload_href',
    operationId: 'uploads_update',
    tag,
    summary: 'Upload one chunk; its position is given by the Content-Range header (chunks may come in any order).',
    headerParams: ['Content-Range'],
    body: { dto: UploadChunkBody, encodings: ['multipart', 'form'], fileFields: ['file'], required: true },
    responses: { 200: { schema: UPLOAD_DETAIL_SCHEMA } },
    async handler(ctx) {
      const id = idParam(ctx);
      const range = parseContentRange(ctx.req.header('content-range'));
      if ('error' in range) throw badRequest(range.error);
      if (ctx.ifMatch) checkIfMatch(ctx, serializeUpload(await load(id)));
      const body = ctx.body as UploadChunkBody;
      const { upload, chunks } = await p.uploads.writeChunk(id, range, body.file, body.sha256);
      return { status: 200, body: serializeUpload(upload, chunks) };
    },
  };

  const remove: Endpoint = {
    method: 'DELETE',
    path: detailPath,
    openapiPath: '{upload_href}',
    hrefParam: 'upload_href',
    operationId: 'uploads_delete',
    tag,
    responses: { 204: { description: 'No response body' } },
    async handler(ctx) {
      const id = idParam(ctx);
      if (ctx.ifMatch) checkIfMatch(ctx, serializeUpload(await load(id)));
      if (!(await p.uploads.delete(id))) throw notFound();
      return { status: 204 };
    },
  };

  const commit: Endpoint = {
    method: 'POST',
    path: `${detailPath}commit/`,
    openapiPath: '{upload_href}commit/',
    hrefParam: 'upload_href',
    operationId: 'uploads_commit',
    tag,
    summary: 'Verify the uploaded file against its sha256 and turn it into an artifact (task).',
    body: { dto: UploadCommitBody, required: true },
    responses: { 202: { schema: ASYNC_SCHEMA } },
    async handler(ctx) {
      const u = await load(idParam(ctx));
      const payload: UploadCommitPayload = { upload_id: u.pulp_id, sha256: (ctx.body as UploadCommitBody).sha256.toLowerCase() };
      const task = await p.tasks.dispatch({
        name: UPLOAD_COMMIT_TASK,
        payload,
        exclusive: [hrefs.upload(u.pulp_id)],
        loggingCid: ctx.correlationId,
        createdBy: ctx.user?.id ?? null,
      });
      return { status: 202, body: { task: task.href } };
    },
  };

  return [create, list, read, update, remove, commit];
}
