import type { ContentTypeDefinition } from './content-type';
import type { RepositoryTypeDefinition, RemoteTypeDefinition, PublicationTypeDefinition, DistributionTypeDefinition } from './resource-types';
import type { TaskDefinition } from './task';
import type { ApiRouteDefinition } from './api-route';
import type { ExportableDefinition } from './exportable';

/** Bumped only for breaking changes of this package's contract. */
export const PLUGIN_API_VERSION = 1 as const;

/** Anything TypeORM accepts as an entity or migration class. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ClassType<T = any> = new (...args: any[]) => T;

export interface PluginDefinition {
  apiVersion: typeof PLUGIN_API_VERSION;
  /** Short id: prefixes tables (`<id>_*`), `pulp_type` values (`<id>.<type>`), task names and URLs. */
  id: string;
  /** Component version advertised in `/status/` and `info.x-pulp-app-versions`. */
  version: string;
  /** Python-style package name shown in status (`pulp-file`). */
  packageName?: string;
  entities?: ClassType[];
  migrations?: ClassType[];
  contentTypes?: ContentTypeDefinition[];
  repositoryTypes?: RepositoryTypeDefinition[];
  remoteTypes?: RemoteTypeDefinition[];
  publicationTypes?: PublicationTypeDefinition[];
  distributionTypes?: DistributionTypeDefinition[];
  tasks?: TaskDefinition<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  apiRoutes?: ApiRouteDefinition[];
  /** Import/export: the ModelResources of this plugin's repository types, in IMPORT_ORDER. */
  exportable?: ExportableDefinition;
}

/** Identity helper that gives plugin authors type checking on their declaration. */
export function definePlugin(def: PluginDefinition): PluginDefinition {
  if (def.apiVersion !== PLUGIN_API_VERSION) {
    throw new Error(`plugin ${def.id}: apiVersion ${String(def.apiVersion)} is not supported (expected ${PLUGIN_API_VERSION})`);
  }
  if (!/^[a-z][a-z0-9_]*$/.test(def.id)) throw new Error(`plugin id '${def.id}' must match [a-z][a-z0-9_]*`);
  return def;
}
