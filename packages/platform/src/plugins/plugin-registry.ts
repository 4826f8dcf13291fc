import type {
  ContentTypeDefinition, DistributionTypeDefinition, ExportableDefinition, PluginDefinition, PublicationTypeDefinition,
  RemoteTypeDefinition, RepositoryTypeDefinition, TaskDefinition,
} from '@pith/plugin-api';

export type ResourceKind = 'repositories' | 'remotes' | 'publications' | 'distributions';

export interface RegisteredType<D> {
  plugin: PluginDefinition;
  /** `file.file` */
  pulpType: string;
  /** URL segment after the plugin (`file`, `files`). */
  endpoint: string;
  def: D;
}

/**
 * Everything the loaded plugins declare, indexed for routing, hrefs and task lookup. Built once at
 * boot; a duplicate type or task name is a fatal error.
 */
export class PluginRegistry {
  readonly contentTypes = new Map<string, RegisteredType<ContentTypeDefinition>>();
  readonly repositoryTypes = new Map<string, RegisteredType<RepositoryTypeDefinition>>();
  readonly remoteTypes = new Map<string, RegisteredType<RemoteTypeDefinition>>();
  readonly publicationTypes = new Map<string, RegisteredType<PublicationTypeDefinition>>();
  readonly distributionTypes = new Map<string, RegisteredType<DistributionTypeDefinition>>();
  readonly tasks = new Map<string, TaskDefinition<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Import/export resources by repository pulp_type. */
  readonly exportables = new Map<string, { plugin: PluginDefinition; def: ExportableDefinition }>();

  constructor(readonly plugins: PluginDefinition[]) {
    const ids = new Set<string>();
    for (const p of plugins) {
      if (ids.has(p.id)) throw new Error(`plugin '${p.id}' is listed twice`);
      ids.add(p.id);
      for (const c of p.contentTypes ?? []) this.put(this.contentTypes, p, c, c.endpoint);
      for (const r of p.repositoryTypes ?? []) this.put(this.repositoryTypes, p, r, r.endpoint ?? r.type);
      for (const r of p.remoteTypes ?? []) this.put(this.remoteTypes, p, r, r.endpoint ?? r.type);
      for (const r of p.publicationTypes ?? []) this.put(this.publicationTypes, p, r, r.endpoint ?? r.type);
      for (const r of p.distributionTypes ?? []) this.put(this.distributionTypes, p, r, r.endpoint ?? r.type);
      for (const t of p.tasks ?? []) this.addTask(t);
      for (const rt of p.exportable?.repositoryTypes ?? []) {
        if (!this.repositoryTypes.has(rt)) throw new Error(`plugin '${p.id}': exportable repository type '${rt}' is not declared`);
        this.exportables.set(rt, { plugin: p, def: p.exportable! });
      }
    }
  }

  /** Core tasks register here too, so workers find every handler by name. */
  addTask(t: TaskDefinition<any>): void { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (this.tasks.has(t.name)) throw new Error(`task '${t.name}' is declared twice`);
    this.tasks.set(t.name, t);
  }

  private put<D extends { type: string }>(map: Map<string, RegisteredType<D>>, plugin: PluginDefinition, def: D, endpoint: string): void {
    const pulpType = `${plugin.id}.${def.type}`;
    if (map.has(pulpType)) throw new Error(`type '${pulpType}' is declared twice`);
    map.set(pulpType, { plugin, pulpType, endpoint, def });
  }

  typesOf(kind: ResourceKind): Map<string, RegisteredType<RepositoryTypeDefinition | RemoteTypeDefinition | PublicationTypeDefinition | DistributionTypeDefinition>> {
    switch (kind) {
      case 'repositories': return this.repositoryTypes;
      case 'remotes': return this.remoteTypes;
      case 'publications': return this.publicationTypes;
      case 'distributions': return this.distributionTypes;
    }
  }

  /** Finds a type by its URL segments (`file`, `file`). */
  byEndpoint<D>(map: Map<string, RegisteredType<D>>, plugin: string, endpoint: string): RegisteredType<D> | undefined {
    for (const t of map.values()) if (t.plugin.id === plugin && t.endpoint === endpoint) return t;
    return undefined;
  }

  /** The import/export declaration for a repository type; undefined = the type cannot be exported. */
  exportableFor(repositoryType: string): { plugin: PluginDefinition; def: ExportableDefinition } | undefined {
    return this.exportables.get(repositoryType);
  }

  /** `{core: "3.90.0", file: "…"}` for status and OpenAPI. */
  componentVersions(coreVersion: string): Record<string, string> {
    const out: Record<string, string> = { core: coreVersion };
    for (const p of this.plugins) if (!p.id.startsWith('test')) out[p.id] = p.version;
    return out;
  }
}
