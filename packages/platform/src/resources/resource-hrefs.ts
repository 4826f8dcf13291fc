import type { PluginRegistry } from '../plugins/plugin-registry';
import { API_ROOT, hrefs } from '../http/hrefs';

export type HrefKind = 'repositories' | 'remotes' | 'publications' | 'distributions' | 'content' | 'contentguards';

/** URL segment of a type: the registered endpoint, or the part after the dot for unknown/core types. */
export function endpointOf(registry: PluginRegistry, kind: HrefKind, pulpType: string): string {
  const map =
    kind === 'content' ? registry.contentTypes
      : kind === 'contentguards' ? undefined
        : registry.typesOf(kind);
  const t = map?.get(pulpType);
  if (t) return t.endpoint;
  return pulpType.slice(pulpType.indexOf('.') + 1);
}

/** `/pulp/api/v3/<kind>/<plugin>/<endpoint>/<id>/` for a master/detail row. */
export function detailHref(registry: PluginRegistry, kind: HrefKind, pulpType: string, id: string): string {
  return hrefs.detail(kind, pulpType, endpointOf(registry, kind, pulpType), id);
}

export function repositoryHref(registry: PluginRegistry, pulpType: string, id: string): string {
  return detailHref(registry, 'repositories', pulpType, id);
}

export function versionHref(registry: PluginRegistry, pulpType: string, repositoryId: string, number: number): string {
  return hrefs.version(repositoryHref(registry, pulpType, repositoryId), number);
}

export function contentHref(registry: PluginRegistry, pulpType: string, id: string): string {
  return detailHref(registry, 'content', pulpType, id);
}

/** The content list of one type (`/pulp/api/v3/content/file/files/`), or the generic list for unknown types. */
export function contentListHref(registry: PluginRegistry, pulpType: string): string {
  const t = registry.contentTypes.get(pulpType);
  return t ? `${API_ROOT}content/${t.plugin.id}/${t.endpoint}/` : `${API_ROOT}content/`;
}
