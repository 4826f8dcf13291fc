import type { Endpoint } from '../http/endpoint';
import { API_ROOT } from '../http/hrefs';
import type { SqlFilterSet } from '../http/sql-filters';
import type { Platform } from '../platform';
import { MasterDetailService } from '../resources/master-detail.service';
import { KINDS, type MasterKind } from '../resources/resource-kinds';
import { documented, pulpTypeFilter } from '../resources/common-filters';
import { remoteFilters } from './remotes.endpoints';
import { repositoryFilters } from './repositories.endpoints';
import { publicationFilters } from './publications.endpoints';
import { distributionFilters } from './distributions.endpoints';
import { contentGuardFilters } from './contentguards.endpoints';

/** Filters of the generic (all types) list of each kind; `pulp_type` is added for every kind. */
function kindFilters(p: Platform, kind: MasterKind): SqlFilterSet {
  switch (kind) {
    case 'repositories':
      return repositoryFilters();
    case 'remotes':
      return remoteFilters();
    case 'publications':
      return publicationFilters(p);
    case 'distributions':
      return distributionFilters();
    case 'contentguards':
      return contentGuardFilters();
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
