import type { PublicationTypeDefinition } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import { badRequest, fieldError, fieldErrors, notFound, preconditionFailed } from '../http/errors';
import { fromFieldFilters, type SqlFilter, type SqlFilterSet } from '../http/sql-filters';
import { applyFieldSelection } from '../http/field-selection';
import type { Platform } from '../platform';
import { pathId } from './detail-item-endpoints';
import type { RegisteredType } from '../plugins/plugin-registry';
import { combineDtos, dtoProperties } from '../resources/dto-combine';
import { MasterDetailService } from '../resources/master-detail.service';
import { collectionPath, hrefParamName, PUBLICATION_KIND, titleCase } from '../resources/resource-kinds';
import {
  commaList, documented, identityFilters, ifMatchSatisfied, referenceId, timestampFilter,
} from '../resources/common-filters';
import { filterVersion, requireVersion, resolveResourceRef } from '../resources/references';
import { repositoryHref } from '../resources/resource-hrefs';
import { IN_VERSION } from '../repositories/version.service';
import { PublicationCoreDto } from '../publications/publication.dto';

type PublicationReg = RegisteredType<PublicationTypeDefinition>;

/** `repository=<href>` on a column holding a repository id. */
export function repositoryRefFilter(column: string): SqlFilter {
  return {
    type: 'string',
    description: 'Foreign Key referenced by HREF',
    apply: (w, _l, raw) => {
      const id = referenceId(raw, ['repositories']);
      if (!id) throw badRequest(`Invalid value for filter 'repository': '${raw.slice(0, 200)}' is not a repository href.`);
      w.add(`${column} = ${w.p(id)}`);
    },
  };
}

/** `content` / `content__in`: content hrefs (or PRNs) → ids; a value that is not one is a 400. */
export function contentIds(name: string, raw: string, lookup: string): string[] {
  const values = lookup === 'in' ? commaList(raw) : [raw];
  return values.map((v) => {
    const id = referenceId(v, ['content']);
    if (!id) throw badRequest(`Invalid value for filter '${name}': '${v.slice(0, 200)}' is not a content href.`);
    return id;
  });
}

/**
 * Publication list filters (per type and generic): the version joined as `pv` by the kind's
 * select, so `content` is a membership test of that version.
 */
export function publicationFilters(p: Platform, def?: PublicationTypeDefinition): SqlFilterSet {
  return {
    ...identityFilters('m.pulp_id', ['publications']),
    pulp_created: timestampFilter('m.pulp_created'),
    repository: repositoryRefFilter('pv.repository_id'),
    repository_version: {
      type: 'string',
      description: 'Repository Version referenced by HREF',
      apply: async (w, _l, raw) => {
        const v = await filterVersion(p, 'repository_version', raw);
        w.add(`m.repository_version_id = ${w.p(v.versionId)}`);
      },
    },
    checkpoint: {
      type: 'boolean',
      apply: (w, _l, raw) => {
        if (!['true', 'false', 'True', 'False', '1', '0'].includes(raw)) throw badRequest(`Invalid value for filter 'checkpoint': expected true or false.`);
        w.add(`m.checkpoint = ${w.p(raw === 'true' || raw === 'True' || raw === '1')}`);
      },
    },
    content: {
      type: 'string',
      lookups: ['in'],
      description: 'Content Unit referenced by HREF/PRN',
      apply: (w, lookup, raw) => {
        const ids = contentIds(lookup === 'in' ? 'content__in' : 'content', raw, lookup);
        w.add(`EXISTS (SELECT 1 FROM core_repositorycontent rc
                        WHERE rc.repository_id = pv.repository_id AND rc.content_id = ANY(${w.p(ids)}::uuid[])
                          AND ${IN_VERSION('rc', 'pv.number')})`);
      },
    },
    ...fromFieldFilters(def?.filters, 'd', 'm'),
  };
}

/** The plugin id of a pulp_type (`file.file` → `file`). */
const pluginOf = (pulpType: string) => pulpType.slice(0, pulpType.indexOf('.'));

export function publicationEndpoints(p: Platform): Endpoint[] {
  const svc = new MasterDetailService(p);
  const out: Endpoint[] = [];
  for (const reg of p.registry.publicationTypes.values()) out.push(...typeEndpoints(p, svc, reg));
  return out;
}

function typeEndpoints(p: Platform, svc: MasterDetailService, reg: PublicationReg): Endpoint[] {
  const spec = PUBLICATION_KIND;
  const base = collectionPath('publications', reg);
  const item = `${base}:pulp_id/`;
  const op = `publications_${reg.plugin.id}_${reg.endpoint}`.replace(/-/g, '_');
  const hrefParam = hrefParamName(reg, 'publication');
  const schema = `${reg.plugin.id}.${titleCase(reg.def.type)}Publication`;
  const tag = `Publications: ${titleCase(reg.endpoint)}`;
  const filters = publicationFilters(p, reg.def);
  const response = { schema: `${schema}Response` };
  const createDto = combineDtos(schema, PublicationCoreDto, reg.def.dto);
  const typeFields = reg.def.dto ? dtoProperties(reg.def.dto) : [];
  const publishTask = reg.def.publishTask;
  if (publishTask && !p.registry.tasks.has(publishTask)) {
    throw new Error(`publication type ${reg.pulpType}: publishTask '${publishTask}' is not a registered task`);
  }

  const endpoints: Endpoint[] = [
    {
      method: 'GET', path: base, openapiPath: base, operationId: `${op}_list`, tag, list: true, filters: documented(filters),
      responses: { 200: response },
      handler: async (ctx) => ({ status: 200, body: await svc.list({ spec, pulpType: reg.pulpType, filters, query: ctx.query, absoluteUrl: ctx.absoluteUrl }) }),
    },
    {
      method: 'GET', path: item, openapiPath: `{${hrefParam}}`, hrefParam, operationId: `${op}_read`, tag,
      responses: { 200: response },
      handler: async (ctx) => {
        const body = await svc.read(spec, pathId(ctx), reg.pulpType);
        if (!body) throw notFound();
        return { status: 200, body: applyFieldSelection(body, ctx.query) };
      },
    },
    {
      method: 'DELETE', path: item, openapiPath: `{${hrefParam}}`, hrefParam, operationId: `${op}_delete`, tag,
      headerParams: ['If-Match'],
      responses: { 204: {}, 412: {} },
      handler: async (ctx) => {
        const id = pathId(ctx);
        const cur = await svc.etag(spec, reg, id);
        if (!cur) throw notFound();
        if (!ifMatchSatisfied(ctx.ifMatch, cur.etag)) throw preconditionFailed();
        await p.publications.delete(id);
        return { status: 204 };
      },
    },
  ];
  if (!publishTask) return endpoints;

  endpoints.push({
    method: 'POST', path: base, openapiPath: base, operationId: `${op}_create`, tag,
    body: { dto: createDto },
    responses: { 202: { schema: 'AsyncOperationResponse' } },
    handler: async (ctx: RequestContext) => {
      const body = ctx.body as PublicationCoreDto & Record<string, unknown>;
      const target = await resolvePublishTarget(p, reg, body);
      const payload: Record<string, unknown> = {
        repository_id: target.repositoryId,
        repository_href: target.repositoryHref,
        repository_version_id: target.versionId,
        publication_type: reg.pulpType,
      };
      for (const f of typeFields) if (body[f] !== undefined) payload[f] = body[f];
      const declared = p.registry.tasks.get(publishTask)!.resources(payload as never);
      const task = await p.tasks.dispatch({
        name: publishTask,
        payload,
        exclusive: declared.exclusive ?? [],
        shared: [...(declared.shared ?? []), target.repositoryHref],
        loggingCid: ctx.correlationId,
        createdBy: ctx.user?.id ?? null,
      });
      return { status: 202, body: { task: task.href } };
    },
  });
  return endpoints;
}

/** The version to publish: `repository_version`, or the latest version of `repository` (exactly one given). */
async function resolvePublishTarget(
  p: Platform, reg: PublicationReg, body: PublicationCoreDto,
): Promise<{ repositoryId: string; repositoryHref: string; versionId: string }> {
  const hasRepo = body.repository !== undefined && body.repository !== null && body.repository !== '';
  const hasVersion = body.repository_version !== undefined && body.repository_version !== null && body.repository_version !== '';
  if (hasRepo === hasVersion) {
    throw fieldErrors({ non_field_errors: ["Either the 'repository' or 'repository_version' need to be specified but not both."] });
  }
  const plugin = pluginOf(reg.pulpType);
  if (hasRepo) {
    const repo = await resolveResourceRef(p, 'repository', body.repository, 'repositories');
    if (pluginOf(repo.pulpType) !== plugin) throw fieldError('repository', `A ${repo.pulpType} repository cannot be published as ${reg.pulpType}.`);
    const latest = await p.db.one<{ pulp_id: string }>(
      'SELECT pulp_id FROM core_repositoryversion WHERE repository_id = $1 AND complete ORDER BY number DESC LIMIT 1',
      [repo.id],
    );
    if (!latest) throw fieldError('repository', 'The repository has no complete version.');
    return { repositoryId: repo.id, repositoryHref: repositoryHref(p.registry, repo.pulpType, repo.id), versionId: latest.pulp_id };
  }
  const v = await requireVersion(p, 'repository_version', body.repository_version);
  if (pluginOf(v.repositoryType) !== plugin) {
    throw fieldError('repository_version', `A version of a ${v.repositoryType} repository cannot be published as ${reg.pulpType}.`);
  }
  return { repositoryId: v.repositoryId, repositoryHref: repositoryHref(p.registry, v.repositoryType, v.repositoryId), versionId: v.versionId };
}
