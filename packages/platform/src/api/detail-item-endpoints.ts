import type { ClassType, JsonObject } from '@pith/plugin-api';
import type { Endpoint, HandlerResult, RequestContext, ResponseSpec } from '../http/endpoint';
import { notFound, preconditionFailed } from '../http/errors';
import { UUID_RE } from '../util/uuid7';
import { applyFieldSelection } from '../http/field-selection';
import type { SqlFilterSet } from '../http/sql-filters';
import { documented, ifMatchSatisfied } from '../resources/common-filters';
import type { Platform } from '../platform';
import type { KindSpec } from '../resources/resource-kinds';
import type { MasterDetailService } from '../resources/master-detail.service';

/** The `:pulp_id` path parameter, or a 404 (a malformed id names nothing). */
export function pathId(ctx: RequestContext): string {
  const id = ctx.params.pulp_id ?? '';
  if (!UUID_RE.test(id)) throw notFound();
  return id.toLowerCase();
}

/** What the item routes of one master/detail type (a remote, repository, distribution or guard type) share. */
export interface DetailItemRoutes {
  svc: MasterDetailService;
  spec: KindSpec;
  reg: Parameters<MasterDetailService['etag']>[1];
  /** Express path of the collection and of one item (`…/:pulp_id/`), and the item's documented href parameter. */
  base: string;
  item: string;
  hrefParam: string;
  /** operationId prefix (`remotes_file_file`) and tag. */
  op: string;
  tag: string;
  createDto: ClassType;
  patchDto: ClassType;
  response: ResponseSpec;
}

/** GET of the collection (`<op>_list`): paginated, filtered, of this type only. */
export function listEndpoint(r: DetailItemRoutes, filters: SqlFilterSet): Endpoint {
  return {
    method: 'GET', path: r.base, openapiPath: r.base, operationId: `${r.op}_list`, tag: r.tag, list: true, filters: documented(filters),
    responses: { 200: r.response },
    handler: async (ctx) => ({
      status: 200,
      body: await r.svc.list({ spec: r.spec, pulpType: r.reg.pulpType, filters, query: ctx.query, absoluteUrl: ctx.absoluteUrl }),
    }),
  };
}

/**
 * GET, PUT and PATCH of one item, as every master/detail type declares them (`<op>_read`,
 * `<op>_update`, `<op>_partial_update`; PUT and PATCH honour If-Match through `update`).
 */
export function readAndUpdateEndpoints(r: DetailItemRoutes, update: (ctx: RequestContext) => Promise<JsonObject>): Endpoint[] {
  const { item, hrefParam, op, tag, response } = r;
  return [
    {
      method: 'GET', path: item, openapiPath: `{${hrefParam}}`, hrefParam, operationId: `${op}_read`, tag,
      responses: { 200: response },
      handler: async (ctx) => {
        const body = await r.svc.read(r.spec, pathId(ctx), r.reg.pulpType);
        if (!body) throw notFound();
        return { status: 200, body: applyFieldSelection(body, ctx.query) };
      },
    },
    {
      method: 'PUT', path: item, openapiPath: `{${hrefParam}}`, hrefParam, operationId: `${op}_update`, tag,
      body: { dto: r.createDto }, headerParams: ['If-Match'],
      responses: { 200: response, 412: {} },
      handler: async (ctx) => ({ status: 200, body: await update(ctx) }),
    },
    {
      method: 'PATCH', path: item, openapiPath: `{${hrefParam}}`, hrefParam, operationId: `${op}_partial_update`, tag,
      body: { dto: r.patchDto }, headerParams: ['If-Match'],
      responses: { 200: response, 412: {} },
      handler: async (ctx) => ({ status: 200, body: await update(ctx) }),
    },
  ];
}

/**
 * DELETE of one item (`<op>_delete`): 404 when it does not exist, 412 when If-Match names another
 * version of it; then `remove` does the type's own deletion (at once, or as a task).
 */
export function deleteEndpoint(
  r: DetailItemRoutes, responses: Record<number, ResponseSpec>, remove: (ctx: RequestContext, id: string) => Promise<HandlerResult>,
): Endpoint {
  return {
    method: 'DELETE', path: r.item, openapiPath: `{${r.hrefParam}}`, hrefParam: r.hrefParam, operationId: `${r.op}_delete`, tag: r.tag,
    headerParams: ['If-Match'],
    responses: { ...responses, 412: {} },
    handler: async (ctx) => {
      const id = pathId(ctx);
      const cur = await r.svc.etag(r.spec, r.reg, id);
      if (!cur) throw notFound();
      if (!ifMatchSatisfied(ctx.ifMatch, cur.etag)) throw preconditionFailed();
      return remove(ctx, id);
    },
  };
}

/**
 * DELETE answered with 202 + a task (`taskName`, locking the item exclusively): for items whose
 * removal touches more than their row (a repository's versions, a remote's repositories).
 */
export function deleteByTaskEndpoint(r: DetailItemRoutes, p: Platform, taskName: string, kind: string, hrefOf: (id: string) => string): Endpoint {
  return deleteEndpoint(r, { 202: { schema: 'AsyncOperationResponse' } }, async (ctx, id) => {
    const href = hrefOf(id);
    const task = await p.tasks.dispatch({
      name: taskName,
      payload: { kind, pulp_id: id, pulp_type: r.reg.pulpType, href },
      exclusive: [href],
      loggingCid: ctx.correlationId,
      createdBy: ctx.user?.id ?? null,
    });
    return { status: 202, body: { task: task.href } };
  });
}
