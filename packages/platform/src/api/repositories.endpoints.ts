import type { JsonObject, RepositoryTypeDefinition } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import { badRequest, fieldError, fieldErrors, notFound } from '../http/errors';
import { API_ROOT, parseHref } from '../http/hrefs';
import { fromFieldFilters, type SqlFilterSet } from '../http/sql-filters';
import { applyFieldSelection } from '../http/field-selection';
import type { Platform } from '../platform';
import type { RegisteredType } from '../plugins/plugin-registry';
import { UUID_RE, uuid7 } from '../util/uuid7';
import { RepositoryCoreDto, RepositoryModifyDto, RepositorySyncCoreDto } from '../resources/core-dtos';
import { combineDtos, dtoProperties, partialDto } from '../resources/dto-combine';
import { MasterDetailService } from '../resources/master-detail.service';
import {
  collectionPath, hrefParamName, REPOSITORY_KIND, titleCase,
} from '../resources/resource-kinds';
import { identityFilters, labelSelectFilter, nameFilter, referenceInFilter } from '../resources/common-filters';
import { requireVersion, resolveResourceRef, type ResolvedRef } from '../resources/references';
import { detailHref, repositoryHref } from '../resources/resource-hrefs';
import { documented } from '../resources/common-filters';
import { VersionReader } from '../repositories/version-reader';
import { contentPrn } from '../content/content-reader';
import type { ModifyPayload } from '../repositories/repository-tasks';
import { deleteByTaskEndpoint, listEndpoint, pathId, readAndUpdateEndpoints, type DetailItemRoutes } from './detail-item-endpoints';

type RepoReg = RegisteredType<RepositoryTypeDefinition>;

const ASYNC = { 202: { schema: 'AsyncOperationResponse' } };

function pathNumber(ctx: RequestContext): number {
  const n = ctx.params.number ?? '';
  if (!/^\d{1,9}$/.test(n)) throw notFound();
  return Number(n);
}

/** Repository list filters: core ones plus the type's declared detail filters. */
export function repositoryFilters(def?: RepositoryTypeDefinition): SqlFilterSet {
  return {
    name: nameFilter('m.name'),
    pulp_label_select: labelSelectFilter('m.pulp_labels'),
    ...identityFilters('m.pulp_id', ['repositories']),
    remote: {
      type: 'string',
      description: 'Foreign Key referenced by HREF',
      apply: (w, _l, raw) => {
        if (raw === 'null' || raw === '') return w.add('m.remote_id IS NULL');
        referenceInFilter('m.remote_id', 'remote', ['remotes'], raw.startsWith('prn:') ? 'prn' : 'href').apply(w, 'in', raw);
      },
    },
    ...fromFieldFilters(def?.filters, 'd', 'm'),
  };
}

/** Maps validated core fields to master columns (the remote href is resolved to its id). */
async function repositoryColumns(p: Platform, reg: RepoReg, body: RepositoryCoreDto): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  if (body.name !== undefined) out.name = body.name;
  if (body.description !== undefined) out.description = body.description;
  if (body.retain_repo_versions !== undefined) out.retain_repo_versions = body.retain_repo_versions;
  if (body.retain_checkpoints !== undefined) out.retain_checkpoints = body.retain_checkpoints;
  if (body.pulp_labels !== undefined) out.pulp_labels = JSON.stringify(body.pulp_labels);
  if (body.remote !== undefined) {
    out.remote_id = body.remote === null || body.remote === ''
      ? null
      : (await resolveResourceRef(p, 'remote', body.remote, 'remotes', reg.def.remoteTypes)).id;
  }
  return out;
}

export function repositoryEndpoints(p: Platform): Endpoint[] {
  const svc = new MasterDetailService(p);
  const versions = new VersionReader(p);
  const out: Endpoint[] = [];
  for (const reg of p.registry.repositoryTypes.values()) out.push(...typeEndpoints(p, svc, versions, reg));
  out.push({
    method: 'GET',
    path: `${API_ROOT}repository_versions/`,
    openapiPath: `${API_ROOT}repository_versions/`,
    operationId: 'repository_versions_list',
    tag: 'Repository Versions',
    list: true,
    filters: documented(versions.filters),
    responses: { 200: { schema: 'RepositoryVersionResponse' } },
    handler: async (ctx) => ({ status: 200, body: await versions.list(ctx.query, ctx.absoluteUrl) }),
  });
  return out;
}

function typeEndpoints(p: Platform, svc: MasterDetailService, versions: VersionReader, reg: RepoReg): Endpoint[] {
  const spec = REPOSITORY_KIND;
  const base = collectionPath('repositories', reg);
  const item = `${base}:pulp_id/`;
  const op = `repositories_${reg.plugin.id}_${reg.endpoint}`.replace(/-/g, '_');
  const hrefParam = hrefParamName(reg, 'repository');
  const versionParam = hrefParamName(reg, 'repository_version');
  const title = titleCase(reg.def.type);
  const schema = `${reg.plugin.id}.${title}Repository`;
  const tag = `Repositories: ${titleCase(reg.endpoint)}`;
  const createDto = combineDtos(schema, RepositoryCoreDto, reg.def.dto);
  const patchDto = partialDto(`Patched${schema}`, createDto);
  const filters = repositoryFilters(reg.def);
  const response = { schema: `${schema}Response` };

  const requireRepo = async (ctx: RequestContext): Promise<string> => {
    const id = pathId(ctx);
    const row = await p.db.one('SELECT 1 FROM core_repository WHERE pulp_id = $1 AND pulp_type = $2', [id, reg.pulpType]);
    if (!row) throw notFound();
    return id;
  };

  const update = async (ctx: RequestContext): Promise<JsonObject> => {
    const id = pathId(ctx);
    let before: unknown;
    const body = await svc.update(spec, reg, id, ctx.ifMatch, async (current) => {
      before = current.retain_repo_versions;
      return {
        master: await repositoryColumns(p, reg, ctx.body as RepositoryCoreDto),
        detail: await svc.detailValues(reg, ctx.body as Record<string, unknown>),
      };
    });
    if (!body) throw notFound();
    if (body.retain_repo_versions !== null && body.retain_repo_versions !== before) {
      // Pruning squashes versions, which needs the repository lock: a task, while the update stays synchronous.
      const href = repositoryHref(p.registry, reg.pulpType, id);
      await p.tasks.dispatch({
        name: 'core.repository_retention',
        payload: { repository_id: id, repository_href: href },
        exclusive: [href],
        loggingCid: ctx.correlationId,
        createdBy: ctx.user?.id ?? null,
      });
    }
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
        const master = await repositoryColumns(p, reg, ctx.body as RepositoryCoreDto);
        const detail = await svc.detailValues(reg, ctx.body as Record<string, unknown>);
        const id = uuid7();
        await svc.detailTable(reg); // before the transaction: no pooled query while it pins a connection
        // Pulp creates version 0 (complete, empty) in the same transaction as the repository.
        const body = await p.db.transaction(async (tx) => {
          await svc.insert(tx, spec, reg, id, master, detail);
          await tx.query(
            `INSERT INTO core_repositoryversion (pulp_id, repository_id, number, complete) VALUES ($1, $2, 0, true)`,
            [uuid7(), id],
          );
          return svc.read(spec, id, reg.pulpType, tx);
        });
        return { status: 201, body: body! };
      },
    },
    ...readAndUpdateEndpoints(routes, update),
    deleteByTaskEndpoint(routes, p, 'core.repository_delete', 'repositories', (id) => repositoryHref(p.registry, reg.pulpType, id)),
    {
      method: 'GET', path: `${item}versions/`, openapiPath: `{${hrefParam}}versions/`, hrefParam,
      operationId: `${op}_versions_list`, tag: `${tag} Versions`, list: true, filters: documented(versions.filters),
      responses: { 200: { schema: 'RepositoryVersionResponse' } },
      handler: async (ctx) => ({ status: 200, body: await versions.list(ctx.query, ctx.absoluteUrl, await requireRepo(ctx)) }),
    },
    {
      method: 'GET', path: `${item}versions/:number/`, openapiPath: `{${versionParam}}`, hrefParam: versionParam,
      operationId: `${op}_versions_read`, tag: `${tag} Versions`,
      responses: { 200: { schema: 'RepositoryVersionResponse' } },
      handler: async (ctx) => {
        const body = await versions.read(await requireRepo(ctx), pathNumber(ctx));
        if (!body) throw notFound();
        return { status: 200, body: applyFieldSelection(body, ctx.query) };
      },
    },
    {
      method: 'DELETE', path: `${item}versions/:number/`, openapiPath: `{${versionParam}}`, hrefParam: versionParam,
      operationId: `${op}_versions_delete`, tag: `${tag} Versions`,
      responses: ASYNC,
      handler: async (ctx) => {
        const id = await requireRepo(ctx);
        const number = pathNumber(ctx);
        if (!(await versions.readRow(id, number))) throw notFound();
        if ((await p.versions.protectedVersionNumbers(id)).has(number)) {
          throw badRequest('Cannot delete repository version. Repository versions referenced by a distribution (directly, through a publication, or as the latest version served) are protected.');
        }
        const href = repositoryHref(p.registry, reg.pulpType, id);
        const task = await p.tasks.dispatch({
          name: 'core.repository_version_delete',
          payload: { repository_id: id, repository_href: href, number },
          exclusive: [href],
          loggingCid: ctx.correlationId,
          createdBy: ctx.user?.id ?? null,
        });
        return { status: 202, body: { task: task.href } };
      },
    },
    {
      method: 'POST', path: `${item}modify/`, openapiPath: `{${hrefParam}}modify/`, hrefParam,
      operationId: `${op}_modify`, tag,
      body: { dto: RepositoryModifyDto },
      responses: ASYNC,
      handler: async (ctx) => {
        const id = await requireRepo(ctx);
        const href = repositoryHref(p.registry, reg.pulpType, id);
        const payload = await validateModify(p, reg, id, href, ctx.body as RepositoryModifyDto);
        const task = await p.tasks.dispatch({
          name: 'core.modify',
          payload,
          exclusive: [href],
          loggingCid: ctx.correlationId,
          createdBy: ctx.user?.id ?? null,
        });
        return { status: 202, body: { task: task.href } };
      },
    },
    ...(reg.def.syncTask ? [syncEndpoint(p, reg, { item, hrefParam, op, tag, requireRepo })] : []),
  ];
}

/**
 * `POST {repo_href}sync/` for types that declare a `syncTask`: validates the body (core `remote`
 * and `mirror` plus the type's `syncDto`), resolves the remote (the body's, else the
 * repository's default; it must be of an accepted type) and dispatches the task with a
 * plugin-api `SyncTaskPayload`, locking the repository exclusively and the remote shared.
 */
function syncEndpoint(
  p: Platform, reg: RepoReg,
  at: { item: string; hrefParam: string; op: string; tag: string; requireRepo: (ctx: RequestContext) => Promise<string> },
): Endpoint {
  const def = reg.def;
  const schema = def.syncDto ? `${reg.plugin.id}.${titleCase(def.type)}RepositorySyncURL` : 'RepositorySyncURL';
  const dto = combineDtos(schema, RepositorySyncCoreDto, def.syncDto);
  const typeFields = def.syncDto ? dtoProperties(def.syncDto) : [];
  // combineDtos copies rules, not property initializers: the syncDto's defaults are read from an instance.
  const defaults = (def.syncDto ? new def.syncDto() : {}) as Record<string, unknown>;
  return {
    method: 'POST', path: `${at.item}sync/`, openapiPath: `{${at.hrefParam}}sync/`, hrefParam: at.hrefParam,
    operationId: `${at.op}_sync`, tag: at.tag, summary: 'Sync from a remote',
    body: { dto },
    responses: ASYNC,
    handler: async (ctx) => {
      const id = await at.requireRepo(ctx);
      const body = ctx.body as RepositorySyncCoreDto & Record<string, unknown>;
      let remote: ResolvedRef;
      if (body.remote !== undefined && body.remote !== null && body.remote !== '') {
        remote = await resolveResourceRef(p, 'remote', body.remote, 'remotes', def.remoteTypes);
      } else {
        const row = await p.db.one<{ remote_id: string | null; pulp_type: string | null }>(
          'SELECT r.remote_id, rem.pulp_type FROM core_repository r LEFT JOIN core_remote rem ON rem.pulp_id = r.remote_id WHERE r.pulp_id = $1',
          [id],
        );
        if (!row?.remote_id || !row.pulp_type) throw fieldError('remote', 'This field is required since a remote is not set on the repository.');
        if (def.remoteTypes && !def.remoteTypes.includes(row.pulp_type)) {
          throw fieldError('remote', `Invalid type: ${row.pulp_type} is not one of ${def.remoteTypes.join(', ')}.`);
        }
        remote = { id: row.remote_id, pulpType: row.pulp_type };
      }
      const repoHref = repositoryHref(p.registry, reg.pulpType, id);
      const remoteHref = detailHref(p.registry, 'remotes', remote.pulpType, remote.id);
      const extra: Record<string, unknown> = {};
      for (const k of typeFields) {
        const v = body[k] !== undefined ? body[k] : defaults[k];
        if (v !== undefined) extra[k] = v;
      }
      const payload = {
        ...extra,
        repository_id: id,
        repository_href: repoHref,
        remote_id: remote.id,
        remote_href: remoteHref,
        mirror: body.mirror ?? false,
      };
      const task = await p.tasks.dispatch({
        name: def.syncTask!,
        payload,
        exclusive: [repoHref],
        shared: [remoteHref],
        loggingCid: ctx.correlationId,
        createdBy: ctx.user?.id ?? null,
      });
      return { status: 202, body: { task: task.href } };
    },
  };
}

const MAX_UNITS = 100_000;

/**
 * Request-time validation of a modify body (so mistakes are 400s, not failed tasks): hrefs or
 * PRNs of existing content of types this repository accepts; `["*"]` only alone in removals.
 */
export async function validateModify(
  p: Platform, reg: RepoReg, repositoryId: string, repositoryHref: string, body: RepositoryModifyDto,
): Promise<ModifyPayload> {
  const errors: Record<string, string[]> = {};
  const add = body.add_content_units ?? [];
  const remove = body.remove_content_units ?? [];
  if (add.length > MAX_UNITS || remove.length > MAX_UNITS) throw badRequest(`At most ${MAX_UNITS} content units per request.`);
  let removeAll = false;
  if (remove.includes('*')) {
    if (remove.length > 1) errors.remove_content_units = ['"*" may not be combined with other content units.'];
    removeAll = true;
  }
  const resolve = async (field: string, list: string[]): Promise<string[]> => {
    const parsed: Array<{ value: string; id: string | null; type?: string }> = list.map((value) => {
      const prnMatch = /^prn:[a-z0-9_]+\.[a-z0-9_]+:([0-9a-f-]{36})$/i.exec(value);
      if (prnMatch && UUID_RE.test(prnMatch[1]!)) {
        // The PRN's model must be a content type's: an artifact's PRN with a content id is no content.
        const id = prnMatch[1]!.toLowerCase();
        const t = [...p.registry.contentTypes.values()].find((r) => contentPrn(r, r.pulpType, id) === value.toLowerCase());
        return { value, id: t ? id : null, type: t?.pulpType };
      }
      const h = parseHref(value);
      if (!h || h.kind !== 'content') return { value, id: null };
      const t = p.registry.byEndpoint(p.registry.contentTypes, h.plugin!, h.endpoint!);
      return { value, id: t ? h.id : null, type: t?.pulpType };
    });
    const malformed = parsed.filter((x) => !x.id).map((x) => x.value);
    const ids = [...new Set(parsed.filter((x) => x.id).map((x) => x.id!))];
    const rows = ids.length
      ? await p.db.query<{ pulp_id: string; pulp_type: string }>('SELECT pulp_id, pulp_type FROM core_content WHERE pulp_id = ANY($1::uuid[])', [ids])
      : [];
    const found = new Map(rows.map((r) => [r.pulp_id, r.pulp_type]));
    const missing = parsed.filter((x) => x.id && (!found.has(x.id) || (x.type && found.get(x.id) !== x.type))).map((x) => x.value);
    const msgs: string[] = [];
    if (malformed.length) msgs.push(`Invalid content hrefs: ${JSON.stringify(malformed.slice(0, 20))}`);
    if (missing.length) msgs.push(`Could not find the following content units: ${JSON.stringify(missing.slice(0, 20))}`);
    if (field === 'add_content_units') {
      const bad = [...new Set([...found.values()].filter((t) => !reg.def.contentTypes.includes(t)))];
      if (bad.length) msgs.push(`Content of type ${bad.join(', ')} cannot be added to a ${reg.pulpType} repository (accepted: ${reg.def.contentTypes.join(', ')}).`);
    }
    if (msgs.length) errors[field] = [...(errors[field] ?? []), ...msgs];
    return ids;
  };
  const addIds = await resolve('add_content_units', add);
  const removeIds = removeAll ? [] : await resolve('remove_content_units', remove);
  let baseVersion: number | null = null;
  if (body.base_version !== undefined && body.base_version !== null) {
    try {
      const v = await requireVersion(p, 'base_version', body.base_version);
      if (v.repositoryId !== repositoryId) errors.base_version = ['The base version must be a version of this repository.'];
      else baseVersion = v.number;
    } catch (e) {
      const b = (e as { body?: Record<string, string[]> }).body;
      if (!b?.base_version) throw e;
      errors.base_version = b.base_version;
    }
  }
  if (Object.keys(errors).length) throw fieldErrors(errors);
  return {
    repository_id: repositoryId,
    repository_href: repositoryHref,
    add: addIds,
    remove: removeAll ? '*' : removeIds,
    base_version: baseVersion,
  };
}
