import type { DetailResourceDefinition, JsonObject, Row } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { API_ROOT, hrefs, prn } from '../http/hrefs';
import type { RegisteredType } from '../plugins/plugin-registry';
import { tsSql } from './common-filters';
import { detailHref, endpointOf, repositoryHref } from './resource-hrefs';
import { REMOTE_SECRET_FIELDS } from './core-dtos';

export type MasterKind = 'repositories' | 'remotes' | 'publications' | 'distributions' | 'contentguards';

/** How one master table is read and serialized; detail fields are appended by the type. */
export interface KindSpec {
  kind: MasterKind;
  table: string;
  /** `repository` → `<plugin>_<endpoint>_repository_href`, prn model suffix. */
  singular: string;
  /** Extra select list (alias `m` = master, plus `joins`). */
  select: string;
  joins: string;
  /** Always-applied condition (publications: only complete ones). */
  where?: string;
  /** Columns that may be used in `ordering`. */
  ordering: string[];
  defaultOrdering: string;
  hasName: boolean;
  hasLabels: boolean;
  types(p: Platform): Map<string, RegisteredType<DetailResourceDefinition>>;
  /** Core fields in Pulp's order (common fields first); detail fields are appended after. */
  serialize(p: Platform, row: Row): JsonObject;
}

/** `prn:file.filerepository:<id>`: app label = plugin id, model = type + kind, lowercased alphanumerics. */
export function resourcePrn(pulpType: string, singular: string, id: string): string {
  const dot = pulpType.indexOf('.');
  const app = pulpType.slice(0, dot);
  const model = `${pulpType.slice(dot + 1)}${singular}`.toLowerCase().replace(/[^a-z0-9]/g, '');
  return prn(app, model, id);
}

const COMMON = (p: Platform, kind: MasterKind, singular: string, row: Row): JsonObject => ({
  pulp_href: detailHref(p.registry, kind === 'contentguards' ? 'contentguards' : kind, row.pulp_type, row.pulp_id),
  prn: resourcePrn(row.pulp_type, singular, row.pulp_id),
  pulp_created: row.pulp_created,
  pulp_last_updated: row.pulp_last_updated,
});

const typeHref = (p: Platform, kind: MasterKind, type: string | null, id: string | null): string | null =>
  type && id ? detailHref(p.registry, kind, type, id) : null;

export const REPOSITORY_KIND: KindSpec = {
  kind: 'repositories',
  table: 'core_repository',
  singular: 'repository',
  select: `m.name, m.description, m.pulp_labels, m.retain_repo_versions, m.retain_checkpoints, m.remote_id,
    rem.pulp_type AS remote_type,
    (SELECT max(v.number) FROM core_repositoryversion v WHERE v.repository_id = m.pulp_id AND v.complete) AS latest_version`,
  joins: 'LEFT JOIN core_remote rem ON rem.pulp_id = m.remote_id',
  ordering: ['name', 'description', 'retain_repo_versions', 'retain_checkpoints', 'next_version'],
  defaultOrdering: 'name',
  hasName: true,
  hasLabels: true,
  types: (p) => p.registry.repositoryTypes as Map<string, RegisteredType<DetailResourceDefinition>>,
  serialize(p, row) {
    const href = repositoryHref(p.registry, row.pulp_type, row.pulp_id);
    return {
      ...COMMON(p, 'repositories', 'repository', row),
      versions_href: `${href}versions/`,
      pulp_labels: row.pulp_labels ?? {},
      latest_version_href: row.latest_version === null || row.latest_version === undefined ? null : hrefs.version(href, Number(row.latest_version)),
      name: row.name,
      description: row.description,
      retain_repo_versions: row.retain_repo_versions,
      retain_checkpoints: row.retain_checkpoints,
      remote: typeHref(p, 'remotes', row.remote_type, row.remote_id),
    };
  },
};

export const REMOTE_KIND: KindSpec = {
  kind: 'remotes',
  table: 'core_remote',
  singular: 'remote',
  select: `m.name, m.url, m.ca_cert, m.client_cert, m.tls_validation, m.proxy_url, m.pulp_labels, m.download_concurrency,
    m.max_retries, m.policy, m.total_timeout, m.connect_timeout, m.sock_connect_timeout, m.sock_read_timeout, m.headers,
    m.rate_limit, ${REMOTE_SECRET_FIELDS.map((f) => `(m.${f} IS NOT NULL AND m.${f} <> '') AS ${f}_is_set`).join(', ')}`,
  joins: '',
  ordering: ['name', 'url', 'policy'],
  defaultOrdering: 'name',
  hasName: true,
  hasLabels: true,
  types: (p) => p.registry.remoteTypes as Map<string, RegisteredType<DetailResourceDefinition>>,
  serialize(p, row) {
    return {
      ...COMMON(p, 'remotes', 'remote', row),
      name: row.name,
      url: row.url,
      ca_cert: row.ca_cert,
      client_cert: row.client_cert,
      tls_validation: row.tls_validation,
      proxy_url: row.proxy_url,
      pulp_labels: row.pulp_labels ?? {},
      download_concurrency: row.download_concurrency,
      max_retries: row.max_retries,
      policy: row.policy,
      total_timeout: row.total_timeout,
      connect_timeout: row.connect_timeout,
      sock_connect_timeout: row.sock_connect_timeout,
      sock_read_timeout: row.sock_read_timeout,
      headers: row.headers ?? [],
      rate_limit: row.rate_limit,
      hidden_fields: REMOTE_SECRET_FIELDS.map((f) => ({ name: f, is_set: !!row[`${f}_is_set`] })),
    };
  },
};

export const PUBLICATION_KIND: KindSpec = {
  kind: 'publications',
  table: 'core_publication',
  singular: 'publication',
  select: `m.repository_version_id, pv.number AS version_number, pv.repository_id, prepo.pulp_type AS repository_type, m.checkpoint,
    ARRAY(SELECT pd.pulp_type || ' ' || pd.pulp_id FROM core_distribution pd WHERE pd.publication_id = m.pulp_id ORDER BY pd.name) AS distribution_refs`,
  joins: `JOIN core_repositoryversion pv ON pv.pulp_id = m.repository_version_id
          JOIN core_repository prepo ON prepo.pulp_id = pv.repository_id`,
  where: 'm.complete',
  ordering: [],
  defaultOrdering: '-pulp_created',
  hasName: false,
  hasLabels: false,
  types: (p) => p.registry.publicationTypes as Map<string, RegisteredType<DetailResourceDefinition>>,
  serialize(p, row) {
    const repo = repositoryHref(p.registry, row.repository_type, row.repository_id);
    return {
      ...COMMON(p, 'publications', 'publication', row),
      repository_version: hrefs.version(repo, Number(row.version_number)),
      repository: repo,
      // Distributions serving this publication explicitly (Pulp's FilePublication `distributions`).
      distributions: ((row.distribution_refs ?? []) as string[]).map((ref) => {
        const [type, id] = ref.split(' ');
        return detailHref(p.registry, 'distributions', type!, id!);
      }),
      checkpoint: !!row.checkpoint,
    };
  },
};

export const DISTRIBUTION_KIND: KindSpec = {
  kind: 'distributions',
  table: 'core_distribution',
  singular: 'distribution',
  select: `m.name, m.base_path, m.pulp_labels, m.hidden, m.checkpoint, m.content_guard_id, dg.pulp_type AS guard_type,
    m.publication_id, dpub.pulp_type AS publication_type, m.remote_id, drem.pulp_type AS remote_type,
    m.repository_id, drepo.pulp_type AS repository_type, m.repository_version_id, drv.number AS rv_number,
    drv.repository_id AS rv_repository_id, drvrepo.pulp_type AS rv_repository_type`,
  joins: `LEFT JOIN core_contentguard dg ON dg.pulp_id = m.content_guard_id
          LEFT JOIN core_publication dpub ON dpub.pulp_id = m.publication_id
          LEFT JOIN core_remote drem ON drem.pulp_id = m.remote_id
          LEFT JOIN core_repository drepo ON drepo.pulp_id = m.repository_id
          LEFT JOIN core_repositoryversion drv ON drv.pulp_id = m.repository_version_id
          LEFT JOIN core_repository drvrepo ON drvrepo.pulp_id = drv.repository_id`,
  ordering: ['name', 'base_path'],
  defaultOrdering: 'name',
  hasName: true,
  hasLabels: true,
  types: (p) => p.registry.distributionTypes as Map<string, RegisteredType<DetailResourceDefinition>>,
  serialize(p, row) {
    const origin = (p.config.PITH_CONTENT_ORIGIN ?? '').replace(/\/$/, '');
    const def = p.registry.distributionTypes.get(row.pulp_type)?.def;
    const out: JsonObject = {
      ...COMMON(p, 'distributions', 'distribution', row),
      base_path: row.base_path,
      base_url: `${origin}${p.config.PITH_CONTENT_PATH_PREFIX}${row.base_path}/`,
      content_guard: typeHref(p, 'contentguards', row.guard_type, row.content_guard_id),
      content_guard_prn: row.guard_type && row.content_guard_id ? resourcePrn(row.guard_type, 'contentguard', row.content_guard_id) : null,
      hidden: row.hidden,
      pulp_labels: row.pulp_labels ?? {},
      name: row.name,
      repository: typeHref(p, 'repositories', row.repository_type, row.repository_id),
      repository_version: row.rv_repository_type
        ? hrefs.version(repositoryHref(p.registry, row.rv_repository_type, row.rv_repository_id), Number(row.rv_number))
        : null,
    };
    if (def?.serveFromPublication) out.publication = typeHref(p, 'publications', row.publication_type, row.publication_id);
    if (row.remote_id) out.remote = typeHref(p, 'remotes', row.remote_type, row.remote_id);
    out.checkpoint = row.checkpoint;
    out.no_content_change_since = null;
    return out;
  },
};

/** Content-guard settings keys never shown (signing secrets). */
const GUARD_SECRET = /secret|private|password/i;

export const CONTENTGUARD_KIND: KindSpec = {
  kind: 'contentguards',
  table: 'core_contentguard',
  singular: 'contentguard',
  select: 'm.name, m.description, m.settings',
  joins: '',
  ordering: ['name'],
  defaultOrdering: 'name',
  hasName: true,
  hasLabels: false,
  types: () => new Map(),
  serialize(p, row) {
    const settings = (row.settings ?? {}) as Record<string, unknown>;
    const out: JsonObject = { ...COMMON(p, 'contentguards', 'contentguard', row), name: row.name, description: row.description };
    for (const [k, v] of Object.entries(settings)) if (!GUARD_SECRET.test(k)) out[k] = v as JsonObject[string];
    return out;
  },
};

export const KINDS: Record<MasterKind, KindSpec> = {
  repositories: REPOSITORY_KIND,
  remotes: REMOTE_KIND,
  publications: PUBLICATION_KIND,
  distributions: DISTRIBUTION_KIND,
  contentguards: CONTENTGUARD_KIND,
};

/** Master select list: id, type, Pulp-format timestamps, then the kind's columns. */
export function masterSelect(spec: KindSpec): string {
  return `m.pulp_id, m.pulp_type, ${tsSql('m.pulp_created')} AS pulp_created, ${tsSql('m.pulp_last_updated')} AS pulp_last_updated, ${spec.select}`;
}

/** `<plugin>_<endpoint>_<singular>_href`, Pulp's path parameter name (`file_file_repository_href`). */
export function hrefParamName(reg: RegisteredType<unknown>, singular: string): string {
  return `${reg.plugin.id}_${reg.endpoint}_${singular}_href`.replace(/-/g, '_');
}

/** `file`, `file` → `File`; tags and schema names use it. */
export function titleCase(s: string): string {
  return s.split(/[-_]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** Collection path of one type: `/pulp/api/v3/repositories/file/file/`. */
export function collectionPath(kind: MasterKind | 'content', reg: RegisteredType<unknown>): string {
  return `${API_ROOT}${kind}/${reg.plugin.id}/${reg.endpoint}/`;
}

export { endpointOf };
