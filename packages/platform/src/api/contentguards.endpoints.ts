import type { DetailResourceDefinition, JsonObject, PluginDefinition } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import { notFound } from '../http/errors';
import { API_ROOT } from '../http/hrefs';
import type { SqlFilterSet } from '../http/sql-filters';
import type { Platform } from '../platform';
import type { RegisteredType } from '../plugins/plugin-registry';
import { uuid7 } from '../util/uuid7';
import { combineDtos, partialDto } from '../resources/dto-combine';
import { MasterDetailService } from '../resources/master-detail.service';
import { CONTENTGUARD_KIND } from '../resources/resource-kinds';
import { identityFilters, nameFilter } from '../resources/common-filters';
import { GUARD_TYPES, type GuardTypeSpec } from '../distributions/content-guard.service';
import { deleteEndpoint, type DetailItemRoutes, listEndpoint, pathId, readAndUpdateEndpoints } from './detail-item-endpoints';

/** Content guard list filters (per type and generic). */
export function contentGuardFilters(): SqlFilterSet {
  return { name: nameFilter('m.name'), ...identityFilters('m.pulp_id', ['contentguards']) };
}

const CORE_PLUGIN = { apiVersion: 1, id: 'core', version: '' } as PluginDefinition;

/** Guard types are core types, not plugin registrations: a registry-shaped entry for the generic service. */
function registration(g: GuardTypeSpec): RegisteredType<DetailResourceDefinition> {
  return { plugin: CORE_PLUGIN, pulpType: g.pulpType, endpoint: g.endpoint, def: { type: g.endpoint } };
}

/** `contentguards/core/header/` and `contentguards/core/content_redirect/`: synchronous CRUD. */
export function contentGuardEndpoints(p: Platform): Endpoint[] {
  const svc = new MasterDetailService(p);
  return GUARD_TYPES.flatMap((g) => typeEndpoints(p, svc, g));
}

function typeEndpoints(p: Platform, svc: MasterDetailService, g: GuardTypeSpec): Endpoint[] {
  const spec = CONTENTGUARD_KIND;
  const reg = registration(g);
  const base = `${API_ROOT}contentguards/core/${g.endpoint}/`;
  const item = `${base}:pulp_id/`;
  const op = `contentguards_core_${g.endpoint}`;
  const hrefParam = g.hrefParam;
  const tag = `Contentguards: ${g.schema.replace(/^core\./, '').replace(/ContentGuard$/, '')}`;
  const response = { schema: `${g.schema}Response` };
  const filters = contentGuardFilters();
  const createDto = combineDtos(g.schema, g.dto);
  const patchDto = partialDto(`Patched${g.schema}`, createDto);

  const columns = (body: Record<string, unknown>, current: Record<string, unknown> | null): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (body.name !== undefined) out.name = body.name;
    if (body.description !== undefined) out.description = body.description;
    out.settings = JSON.stringify(g.settings(body, current));
    return out;
  };

  const update = async (ctx: RequestContext): Promise<JsonObject> => {
    const id = pathId(ctx);
    const body = await svc.update(spec, reg, id, ctx.ifMatch, async () => {
      // Current settings including the secret (the serialized form hides it).
      const row = await p.db.one<{ settings: Record<string, unknown> }>('SELECT settings FROM core_contentguard WHERE pulp_id = $1', [id]);
      return { master: columns(ctx.body as Record<string, unknown>, row?.settings ?? {}), detail: new Map() };
    });
    if (!body) throw notFound();
    return body;
  };

  const routes: DetailItemRoutes = { svc, spec, reg, base, item, hrefParam, op, tag, createDto, patchDto, response };
  return [
    listEndpoint(routes, filters),
    {
      method: 'POST', path: base, openapiPath: base, operationId: `${op}_create`, tag,
      body: { dto: createDto },
      responses: { 201: response },
      handler: async (ctx) => {
        const id = uuid7();
        const master = columns(ctx.body as Record<string, unknown>, null);
        const body = await p.db.transaction(async (tx) => {
          await svc.insert(tx, spec, reg, id, master, new Map());
          return svc.read(spec, id, g.pulpType, tx);
        });
        return { status: 201, body: body! };
      },
    },
    ...readAndUpdateEndpoints(routes, update),
    deleteEndpoint(routes, { 204: {} }, async (ctx, id) => {
      // Distributions using it fall back to unguarded (FK ON DELETE SET NULL), as in Pulp.
      await svc.delete(spec, reg, id);
      return { status: 204 };
    }),
  ];
}
