import type { Endpoint } from '../http/endpoint';
import { badRequest } from '../http/errors';
import { API_ROOT } from '../http/hrefs';
import { columnFilter, type SqlFilterSet } from '../http/sql-filters';
import type { Platform } from '../platform';
import { MasterDetailService } from '../resources/master-detail.service';
import { KINDS, type MasterKind } from '../resources/resource-kinds';
import {
  documented, identityFilters, labelSelectFilter, nameFilter, pulpTypeFilter, referenceId, timestampFilter,
} from '../resources/common-filters';
import { filterVersion } from '../resources/references';
import { remoteFilters } from './remotes.endpoints';
import { repositoryFilters } from './repositories.endpoints';

function repositoryRefFilter(column: string): SqlFilterSet[string] {
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

/** Filters of the generic (all types) list of each kind; `pulp_type` is added for every kind. */
function kindFilters(p: Platform, kind: MasterKind): SqlFilterSet {
  switch (kind) {
    case 'repositories':
      return repositoryFilters();
    case 'remotes':
      return remoteFilters();
    case 'publications':
      return {
        ...identityFilters('m.pulp_id', ['publications']),
        pulp_created: timestampFilter('m.pulp_created'),
        repository: repositoryRefFilter('pv.repository_id'),
        repository_version: {
          type: 'string',
          apply: async (w, _l, raw) => {
            const v = await filterVersion(p, 'repository_version', raw);
            w.add(`m.repository_version_id = ${w.p(v.versionId)}`);
          },
        },
      };
    case 'distributions':
      return {
        name: nameFilter('m.name'),
        base_path: { type: 'string', lookups: ['contains', 'icontains', 'in'], apply: columnFilter('m.base_path', 'string') },
        pulp_label_select: labelSelectFilter('m.pulp_labels'),
        ...identityFilters('m.pulp_id', ['distributions']),
        repository: repositoryRefFilter('m.repository_id'),
      };
    case 'contentguards':
      return { name: nameFilter('m.name'), ...identityFilters('m.pulp_id', ['contentguards']) };
  }
}

/**
 * Read-only lists across all types of a kind (`repositories/`, `remotes/`, `publications/`,
 * `distributions/`, `contentguards/`), each entry serialized by its own type.
 */
export function genericListEndpoints(p: Platform): Endpoint[] {
  const svc = new MasterDetailService(p);
  return (Object.keys(KINDS) as MasterKind[]).map((kind) => {
    const spec = KINDS[kind];
    const choices = kind === 'contentguards' ? null : [...spec.types(p).keys()];
    const filters: SqlFilterSet = { ...kindFilters(p, kind), pulp_type: pulpTypeFilter('m.pulp_type', choices) };
    const path = `${API_ROOT}${kind}/`;
    const title = kind.charAt(0).toUpperCase() + kind.slice(1);
    return {
      method: 'GET',
      path,
      openapiPath: path,
      operationId: `${kind}_list`,
      tag: title,
      list: true,
      filters: documented(filters),
      responses: { 200: { schema: `${title.replace(/s$/, '').replace(/ie$/, 'y')}Response` } },
      handler: async (ctx) => ({ status: 200, body: await svc.list({ spec, filters, query: ctx.query, absoluteUrl: ctx.absoluteUrl }) }),
    } satisfies Endpoint;
  });
}
