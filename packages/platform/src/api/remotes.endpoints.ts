import * as path from 'node:path';
import type { JsonObject, RemoteTypeDefinition } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import { fieldError, notFound } from '../http/errors';
import { fromFieldFilters, type SqlFilterSet } from '../http/sql-filters';
import type { Platform } from '../platform';
import type { RegisteredType } from '../plugins/plugin-registry';
import { uuid7 } from '../util/uuid7';
import { REMOTE_SECRET_FIELDS, RemoteCoreDto } from '../resources/core-dtos';
import { combineDtos, partialDto } from '../resources/dto-combine';
import { MasterDetailService } from '../resources/master-detail.service';
import { collectionPath, hrefParamName, REMOTE_KIND, titleCase } from '../resources/resource-kinds';
import { identityFilters, labelSelectFilter, nameFilter } from '../resources/common-filters';
import { detailHref } from '../resources/resource-hrefs';
import { deleteByTaskEndpoint, type DetailItemRoutes, listEndpoint, pathId, readAndUpdateEndpoints } from './detail-item-endpoints';

type RemoteReg = RegisteredType<RemoteTypeDefinition>;

const SIMPLE_COLUMNS = [
  'name', 'ca_cert', 'client_cert', 'client_key', 'tls_validation', 'username', 'password', 'proxy_url', 'proxy_username',
  'proxy_password', 'download_concurrency', 'max_retries', 'total_timeout', 'connect_timeout', 'sock_connect_timeout',
  'sock_read_timeout', 'rate_limit',
] as const;

export function remoteFilters(def?: RemoteTypeDefinition): SqlFilterSet {
  return {
    name: nameFilter('m.name'),
    pulp_label_select: labelSelectFilter('m.pulp_labels'),
    ...identityFilters('m.pulp_id', ['remotes']),
    ...fromFieldFilters(def?.filters, 'd', 'm'),
  };
}

/**
 * Remote URLs: http(s), or file:// under PITH_ALLOWED_IMPORT_PATHS; credentials belong in
 * username/password (never in the URL, where they would be shown back and logged).
 */
export function checkRemoteUrl(p: Platform, field: string, raw: string): void {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw fieldError(field, 'Enter a valid URL.');
  }
  if (u.username || u.password) throw fieldError(field, 'The remote url may not contain credentials; use the username and password fields.');
  if (u.protocol === 'file:') {
    const target = path.resolve(decodeURIComponent(u.pathname));
    const ok = p.config.PITH_ALLOWED_IMPORT_PATHS.some((a) => {
      const root = path.resolve(a);
      return target === root || target.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
    });
    if (!ok) throw fieldError(field, `The path '${target}' does not start with any of the allowed import paths.`);
  } else if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw fieldError(field, `Unsupported URL scheme '${u.protocol.replace(/:$/, '')}'.`);
  }
}

function remoteColumns(p: Platform, reg: RemoteReg, body: RemoteCoreDto, creating: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const b = body as unknown as Record<string, unknown>;
  for (const c of SIMPLE_COLUMNS) if (b[c] !== undefined) out[c] = b[c];
  if (body.url !== undefined) {
    checkRemoteUrl(p, 'url', body.url);
    out.url = body.url;
  }
  if (body.proxy_url !== undefined && body.proxy_url !== null && body.proxy_url !== '') {
    let u: URL;
    try {
      u = new URL(body.proxy_url);
    } catch {
      throw fieldError('proxy_url', 'Enter a valid URL.');
    }
    if (u.username || u.password) throw fieldError('proxy_url', 'The proxy url may not contain credentials; use proxy_username and proxy_password.');
  }
  if ((body.proxy_username == null) !== (body.proxy_password == null) && (body.proxy_username !== undefined || body.proxy_password !== undefined) && creating) {
    throw fieldError('proxy_username', 'proxy_username and proxy_password must be given together.');
  }
  const policies = reg.def.policies ?? ['immediate'];
  if (body.policy !== undefined) {
    if (!(policies as string[]).includes(body.policy)) throw fieldError('policy', `"${body.policy}" is not a valid choice.`);
    out.policy = body.policy;
  } else if (creating) out.policy = policies[0];
  if (body.headers !== undefined) out.headers = JSON.stringify(body.headers);
  if (body.pulp_labels !== undefined) out.pulp_labels = JSON.stringify(body.pulp_labels);
  // Credentials and client keys are stored encrypted (config/field-cipher.ts).
  for (const f of REMOTE_SECRET_FIELDS) if (out[f] !== undefined) out[f] = p.secrets.encrypt(f, out[f] as string | null);
  return out;
}

export function remoteEndpoints(p: Platform): Endpoint[] {
  const svc = new MasterDetailService(p);
  const out: Endpoint[] = [];
  for (const reg of p.registry.remoteTypes.values()) out.push(...typeEndpoints(p, svc, reg));
  return out;
}

function typeEndpoints(p: Platform, svc: MasterDetailService, reg: RemoteReg): Endpoint[] {
  const spec = REMOTE_KIND;
  const base = collectionPath('remotes', reg);
  const item = `${base}:pulp_id/`;
  const op = `remotes_${reg.plugin.id}_${reg.endpoint}`.replace(/-/g, '_');
  const hrefParam = hrefParamName(reg, 'remote');
  const schema = `${reg.plugin.id}.${titleCase(reg.def.type)}Remote`;
  const tag = `Remotes: ${titleCase(reg.endpoint)}`;
  const createDto = combineDtos(schema, RemoteCoreDto, reg.def.dto);
  const patchDto = partialDto(`Patched${schema}`, createDto);
  const filters = remoteFilters(reg.def);
  const response = { schema: `${schema}Response` };

  const update = async (ctx: RequestContext): Promise<JsonObject> => {
    const body = await svc.update(spec, reg, pathId(ctx), ctx.ifMatch, async () => ({
      master: remoteColumns(p, reg, ctx.body as RemoteCoreDto, false),
      detail: await svc.detailValues(reg, ctx.body as Record<string, unknown>),
    }));
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
        const master = remoteColumns(p, reg, ctx.body as RemoteCoreDto, true);
        const detail = await svc.detailValues(reg, ctx.body as Record<string, unknown>);
        const id = uuid7();
        await svc.detailTable(reg); // before the transaction: no pooled query while it pins a connection
        const body = await p.db.transaction(async (tx) => {
          await svc.insert(tx, spec, reg, id, master, detail);
          return svc.read(spec, id, reg.pulpType, tx);
        });
        return { status: 201, body: body! };
      },
    },
    ...readAndUpdateEndpoints(routes, update),
    deleteByTaskEndpoint(routes, p, 'core.remote_delete', 'remotes', (id) => detailHref(p.registry, 'remotes', reg.pulpType, id)),
  ];
}
