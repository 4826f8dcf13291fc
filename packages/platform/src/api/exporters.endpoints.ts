import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Row } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import type { Platform } from '../platform';
import type { Db } from '../db/db';
import { API_ROOT, parseHref, prn } from '../http/hrefs';
import { conflict, fieldError, fieldErrors, notFound, preconditionFailed } from '../http/errors';
import { applyFilters, orderBy, SqlWhere, type SqlFilter, type SqlFilterSet } from '../http/sql-filters';
import { paginated, readPage } from '../http/pagination';
import { etagFor } from '../http/router';
import { UUID_RE, uuid7 } from '../util/uuid7';
import { commaList, ifMatchSatisfied, nameFilter, tsSql } from '../resources/common-filters';
import { requireVersion, resolveResourceRef, type VersionRef } from '../resources/references';
import { repositoryHref, versionHref } from '../resources/resource-hrefs';
import { partialDto } from '../resources/dto-combine';
import { datetimeFilter, detailId, identityFilters } from './tasks.endpoints';
import { exportHref, exporterHref } from '../import-export/import-export-hrefs';
import { resolveAllowed } from '../import-export/allowed-paths';
import { notAllowedMessage } from '../import-export/import-check';
import { parseChunkSize } from '../import-export/archive/chunk-size';
import {
  EXPORT_TASK, PulpExportBody, PulpExporterBody, type ExportTaskPayload, type VersionChoice,
} from '../import-export/import-export.dto';

// ---------------------------------------------------------------------------------------------
// Helpers shared with importers.endpoints.ts.

export const EXPORTERS = `${API_ROOT}exporters/core/pulp/`;

/** The `:<name>` path parameter as a uuid, or a 404 (a malformed id names nothing). */
export function pathUuid(ctx: RequestContext, name: string): string {
  const id = ctx.params[name] ?? '';
  if (!UUID_RE.test(id)) throw notFound();
  return id.toLowerCase();
}

/**
 * A nested history href (`…/exporters/core/pulp/<id>/exports/<id>/`, `…/importers/core/pulp/<id>/imports/<id>/`)
 * → both ids; null when it is not one. The parent part goes through `parseHref` (absolute URLs
 * of this host are accepted there).
 */
export function parseNestedHref(value: string, child: 'exports' | 'imports'): { parentId: string; id: string } | null {
  if (typeof value !== 'string' || value.length > 2048) return null;
  const m = /^(.*\/)(exports|imports)\/([0-9a-f-]{36})\/$/i.exec(value);
  if (!m || m[2] !== child || !UUID_RE.test(m[3]!)) return null;
  const parent = parseHref(m[1]!);
  const kind = child === 'exports' ? 'exporters/core/pulp' : 'importers/core/pulp';
  if (!parent || parent.kind !== kind) return null;
  return { parentId: parent.id, id: m[3]!.toLowerCase() };
}

/** `pulp_id__in`, `pulp_href__in`, `prn__in` for nested histories (exports, imports). */
export function nestedIdentityFilters(alias: string, child: 'exports' | 'imports', prnModel: string): SqlFilterSet {
  const ids = (name: string, raw: string, parse: (v: string) => string | null): string[] => {
    const values = commaList(raw);
    if (values.length > 1000) throw fieldError(name, 'Too many values (at most 1000).');
    return values.map((v) => {
      const id = parse(v);
      if (!id) throw fieldError(name, `Invalid value: '${v.slice(0, 200)}'.`);
      return id;
    });
  };
  const filter = (field: string, parse: (v: string) => string | null): SqlFilter => ({
    type: field === 'pulp_id' ? 'uuid' : 'string',
    lookups: ['in'],
    apply: (w, lookup, raw) => {
      const name = lookup === 'exact' ? field : `${field}__${lookup}`;
      w.add(`${alias}.pulp_id = ANY(${w.p(ids(name, raw, parse))}::uuid[])`);
    },
  });
  const prnRe = new RegExp(`^prn:core\\.${prnModel}:([0-9a-f-]{36})$`, 'i');
  return {
    pulp_id: filter('pulp_id', (v) => (UUID_RE.test(v) ? v.toLowerCase() : null)),
    pulp_href: filter('pulp_href', (v) => parseNestedHref(v, child)?.id ?? null),
    prn: filter('prn', (v) => {
      const m = prnRe.exec(v);
      return m && UUID_RE.test(m[1]!) ? m[1]!.toLowerCase() : null;
    }),
  };
}

/** First incomplete task holding `href` exclusively (exports lock their exporter, imports their importer). */
export async function taskHolding(db: Db, href: string): Promise<string | undefined> {
  const row = await db.one<{ pulp_id: string }>(
    `SELECT pulp_id FROM core_task WHERE state IN ('waiting','running','canceling') AND exclusive_resources @> ARRAY[$1]::text[]
      ORDER BY seq LIMIT 1`,
    [href],
  );
  return row?.pulp_id;
}

export function isPgError(e: unknown, code: string): e is { code: string; constraint?: string; detail?: string } {
  return (e as { code?: string } | null)?.code === code;
}

/** The request body as given (the validated DTO's own fields), stored as `params`. */
export function paramsOf(body: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ ...body })) as Record<string, unknown>;
}

const ts = (col: string, as: string) => `${tsSql(col)} AS ${as}`;

export const BASE_PROPERTIES = {
  pulp_href: { type: 'string', format: 'uri', readOnly: true },
  prn: { type: 'string', readOnly: true, description: 'The Pulp Resource Name (PRN).' },
  pulp_created: { type: 'string', format: 'date-time', readOnly: true },
  pulp_last_updated: { type: 'string', format: 'date-time', readOnly: true },
};
const JSON_OBJECT_OR_NULL = { type: ['object', 'null'], readOnly: true };

/** Whether repositories of `pulpType` can be exported: null, or the 400 message. */
export function unexportableMessage(p: Platform, pulpType: string): string | null {
  if (p.registry.exportableFor(pulpType)) return null;
  return `Repository type ${pulpType} cannot be exported: plugin ${pulpType.split('.')[0]} declares no ModelResources.`;
}

/**
 * An exporter path: absolute, inside PITH_ALLOWED_EXPORT_PATHS after resolving symlinks, and a
 * directory if it exists (the export task creates it otherwise). Null, or the message.
 */
export async function exportPathProblem(p: Platform, value: string): Promise<string | null> {
  if (!path.isAbsolute(value)) return `'${value}' is not an absolute path.`;
  const allowed = p.config.PITH_ALLOWED_EXPORT_PATHS;
  const real = resolveAllowed(value, allowed);
  if (real === null) return notAllowedMessage(value, allowed, 'export');
  try {
    if (!(await stat(real)).isDirectory()) return `Path '${value}' must be a directory path.`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return `Path '${value}' cannot be used (${(e as NodeJS.ErrnoException).code ?? 'error'}).`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Exporters.

interface ExporterRow extends Row {
  pulp_id: string;
  pulp_created: string;
  pulp_last_updated: string;
  name: string;
  path: string;
  last_export_id: string | null;
  repositories: Array<{ id: string; type: string }>;
}

const EXPORTER_SELECT = `e.pulp_id, ${ts('e.pulp_created', 'pulp_created')}, ${ts('e.pulp_last_updated', 'pulp_last_updated')},
  e.name, e.path, e.last_export_id,
  COALESCE((SELECT json_agg(json_build_object('id', r.pulp_id, 'type', r.pulp_type) ORDER BY r.name, r.pulp_id)
              FROM core_pulpexporter_repositories er JOIN core_repository r ON r.pulp_id = er.repository_id
             WHERE er.exporter_id = e.pulp_id), '[]'::json) AS repositories`;

function serializeExporter(p: Platform, r: ExporterRow): Record<string, unknown> {
  return {
    pulp_href: exporterHref(r.pulp_id),
    prn: prn('core', 'pulpexporter', r.pulp_id),
    pulp_created: r.pulp_created,
    pulp_last_updated: r.pulp_last_updated,
    name: r.name,
    path: r.path,
    repositories: r.repositories.map((x) => repositoryHref(p.registry, x.type, x.id)),
    last_export: r.last_export_id ? exportHref(r.pulp_id, r.last_export_id) : null,
  };
}

async function readExporter(p: Platform, id: string, db: Db = p.db): Promise<Record<string, unknown> | undefined> {
  const row = await db.one<ExporterRow>(`SELECT ${EXPORTER_SELECT} FROM core_pulpexporter e WHERE e.pulp_id = $1`, [id]);
  return row && serializeExporter(p, row);
}

const EXPORTER_FILTERS: SqlFilterSet = {
  name: nameFilter('e.name'),
  pulp_created: datetimeFilter('e.pulp_created'),
  ...identityFilters('e', 'exporters/core/pulp', 'pulpexporter'),
};
const EXPORTER_ORDERING: Record<string, string> = {
  pk: 'e.pulp_id', pulp_id: 'e.pulp_id', pulp_created: 'e.pulp_created', pulp_last_updated: 'e.pulp_last_updated', name: 'e.name', path: 'e.path',
};

export const PULP_EXPORTER_SCHEMA = {
  type: 'object',
  title: 'PulpExporterResponse',
  required: ['name', 'path', 'repositories'],
  properties: {
    ...BASE_PROPERTIES,
    name: { type: 'string', description: 'Unique name of the exporter.' },
    path: { type: 'string', description: 'File system directory to store exported tars.' },
    repositories: { type: 'array', items: { type: 'string', format: 'uri' } },
    last_export: { type: ['string', 'null'], format: 'uri', description: 'Last attempted export for this PulpExporter' },
  },
};

/** Repository hrefs of a body → ids; each must exist and be of an exportable type. */
async function resolveRepositories(p: Platform, values: string[]): Promise<string[]> {
  const ids = new Set<string>();
  for (const v of values) {
    const ref = await resolveResourceRef(p, 'repositories', v, 'repositories');
    const problem = unexportableMessage(p, ref.pulpType);
    if (problem) throw fieldError('repositories', problem);
    ids.add(ref.id);
  }
  return [...ids];
}

/** `last_export`: null, or an export (href or PRN) of exporter `exporterId` (null while creating). */
async function resolveLastExport(p: Platform, exporterId: string | null, value: string | null): Promise<string | null> {
  if (value === null || value === '') return null;
  let id: string;
  const prnMatch = /^prn:core\.pulpexport:([0-9a-f-]{36})$/i.exec(value);
  if (prnMatch && UUID_RE.test(prnMatch[1]!)) id = prnMatch[1]!.toLowerCase();
  else {
    const parsed = parseNestedHref(value, 'exports');
    if (!parsed) throw fieldError('last_export', `Invalid hyperlink - not an export href: ${JSON.stringify(value).slice(0, 200)}`);
    id = parsed.id;
  }
  const row = await p.db.one<{ exporter_id: string }>('SELECT exporter_id FROM core_pulpexport WHERE pulp_id = $1', [id]);
  if (!row) throw fieldError('last_export', 'Invalid hyperlink - Object does not exist.');
  if (row.exporter_id !== exporterId) throw fieldError('last_export', 'Must be an export of this exporter.');
  return id;
}

interface ExporterChanges {
  name?: string;
  path?: string;
  repositoryIds?: string[];
  lastExportId?: string | null;
}

async function exporterChanges(p: Platform, exporterId: string | null, body: Partial<PulpExporterBody>): Promise<ExporterChanges> {
  const out: ExporterChanges = {};
  if (body.name !== undefined) out.name = body.name;
  if (body.path !== undefined) {
    const problem = await exportPathProblem(p, body.path);
    if (problem) throw fieldError('path', problem);
    out.path = body.path;
  }
  if (body.repositories !== undefined) out.repositoryIds = await resolveRepositories(p, body.repositories);
  if (body.last_export !== undefined) out.lastExportId = await resolveLastExport(p, exporterId, body.last_export);
  return out;
}

/** Database errors a concurrent change can cause, as the 400s the checks above would give. */
function mapWriteError(e: unknown): never {
  if (isPgError(e, '23505') && e.constraint === 'core_pulpexporter_name_uniq') throw fieldError('name', 'This field must be unique.');
  if (isPgError(e, '23503') && e.detail?.includes('(repository_id)')) throw fieldError('repositories', 'Invalid hyperlink - Object does not exist.');
  if (isPgError(e, '23503') && e.detail?.includes('(last_export_id)')) throw fieldError('last_export', 'Invalid hyperlink - Object does not exist.');
  throw e;
}

async function setRepositories(tx: Db, exporterId: string, repositoryIds: string[]): Promise<void> {
  await tx.query('DELETE FROM core_pulpexporter_repositories WHERE exporter_id = $1', [exporterId]);
  if (repositoryIds.length) {
    await tx.query(
      'INSERT INTO core_pulpexporter_repositories (exporter_id, repository_id) SELECT $1, unnest($2::uuid[])',
      [exporterId, repositoryIds],
    );
  }
}

async function createExporter(p: Platform, body: PulpExporterBody): Promise<Record<string, unknown>> {
  const c = await exporterChanges(p, null, body);
  const id = uuid7();
  try {
    return await p.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO core_pulpexporter (pulp_id, name, path, last_export_id, pulp_created, pulp_last_updated)
         VALUES ($1, $2, $3, NULL, clock_timestamp(), clock_timestamp())`,
        [id, c.name, c.path],
      );
      await setRepositories(tx, id, c.repositoryIds ?? []);
      return (await readExporter(p, id, tx))!;
    });
  } catch (e) {
    return mapWriteError(e);
  }
}

/**
 * Conditional update (as MasterDetailService.update): the row changes only if it is still the
 * version the client saw (If-Match) and the one read here (`pulp_last_updated` compare).
 */
async function updateExporter(p: Platform, ctx: RequestContext): Promise<Record<string, unknown>> {
  const id = detailId(ctx);
  if (!(await readExporter(p, id))) throw notFound();
  const c = await exporterChanges(p, id, ctx.body as Partial<PulpExporterBody>);
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await readExporter(p, id);
    if (!current) throw notFound();
    if (!ifMatchSatisfied(ctx.ifMatch, etagFor(current))) throw preconditionFailed();
    const sets: string[] = [];
    const params: unknown[] = [id, current.pulp_last_updated];
    const set = (col: string, v: unknown) => {
      params.push(v);
      sets.push(`${col} = $${params.length}`);
    };
    if (c.name !== undefined) set('name', c.name);
    if (c.path !== undefined) set('path', c.path);
    if (c.lastExportId !== undefined) set('last_export_id', c.lastExportId);
    sets.push(`pulp_last_updated = GREATEST(clock_timestamp(), pulp_last_updated + interval '1 microsecond')`);
    let updated: Record<string, unknown> | undefined;
    try {
      updated = await p.db.transaction(async (tx) => {
        const r = await tx.query(
          `UPDATE core_pulpexporter SET ${sets.join(', ')} WHERE pulp_id = $1 AND pulp_last_updated = $2::timestamptz RETURNING pulp_id`,
          params,
        );
        if (r.length === 0) return undefined;
        if (c.repositoryIds) await setRepositories(tx, id, c.repositoryIds);
        return readExporter(p, id, tx);
      });
    } catch (e) {
      mapWriteError(e);
    }
    if (updated) return updated;
    if (ctx.ifMatch !== undefined) throw preconditionFailed();
  }
  throw preconditionFailed();
}

// ---------------------------------------------------------------------------------------------
// Exports.

interface ExportRow extends Row {
  pulp_id: string;
  exporter_id: string;
  pulp_created: string;
  pulp_last_updated: string;
  task_id: string | null;
  params: Record<string, unknown>;
  exported_versions: Array<{ repository_id: string; number: number }>;
  output_file_info: Record<string, string> | null;
  toc_info: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
}

const EXPORT_SELECT = `x.pulp_id, x.exporter_id, ${ts('x.pulp_created', 'pulp_created')}, ${ts('x.pulp_last_updated', 'pulp_last_updated')},
  x.task_id, x.params, x.exported_versions, x.output_file_info, x.toc_info, x.summary`;

/** Serializes exports with one query for the types of every repository they name. */
async function serializeExports(p: Platform, rows: ExportRow[]): Promise<Array<Record<string, unknown>>> {
  const repoIds = [...new Set(rows.flatMap((r) => (r.exported_versions ?? []).map((v) => v.repository_id)))];
  const types = new Map<string, string>();
  if (repoIds.length) {
    const found = await p.db.query<{ pulp_id: string; pulp_type: string }>(
      'SELECT pulp_id, pulp_type FROM core_repository WHERE pulp_id = ANY($1::uuid[])',
      [repoIds],
    );
    for (const f of found) types.set(f.pulp_id, f.pulp_type);
  }
  return rows.map((r) => ({
    pulp_href: exportHref(r.exporter_id, r.pulp_id),
    prn: prn('core', 'pulpexport', r.pulp_id),
    pulp_created: r.pulp_created,
    pulp_last_updated: r.pulp_last_updated,
    task: r.task_id ? `${API_ROOT}tasks/${r.task_id}/` : null,
    // Versions of repositories deleted since are left out (they name nothing any more).
    exported_resources: (r.exported_versions ?? [])
      .filter((v) => types.has(v.repository_id))
      .map((v) => versionHref(p.registry, types.get(v.repository_id)!, v.repository_id, v.number)),
    params: r.params ?? {},
    output_file_info: r.output_file_info,
    toc_info: r.toc_info,
    summary: r.summary,
  }));
}

async function readExport(p: Platform, exporterId: string, id: string): Promise<Record<string, unknown> | undefined> {
  const rows = await p.db.query<ExportRow>(`SELECT ${EXPORT_SELECT} FROM core_pulpexport x WHERE x.pulp_id = $1 AND x.exporter_id = $2`, [id, exporterId]);
  return (await serializeExports(p, rows))[0];
}

const EXPORT_FILTERS: SqlFilterSet = {
  pulp_created: datetimeFilter('x.pulp_created'),
  ...nestedIdentityFilters('x', 'exports', 'pulpexport'),
};
/** Ordering of export/import lists (their only own columns are timestamps). */
export const HISTORY_ORDERING = (alias: string): Record<string, string> => ({
  pk: `${alias}.pulp_id`, pulp_id: `${alias}.pulp_id`, pulp_created: `${alias}.pulp_created`, pulp_last_updated: `${alias}.pulp_last_updated`,
});

export const PULP_EXPORT_SCHEMA = {
  type: 'object',
  title: 'PulpExportResponse',
  properties: {
    ...BASE_PROPERTIES,
    task: { type: ['string', 'null'], format: 'uri', description: 'A URI of the task that ran the Export.' },
    exported_resources: { type: 'array', readOnly: true, items: { type: 'string', format: 'uri' }, description: 'Resources that were exported.' },
    params: { type: 'object', readOnly: true, description: 'Any additional parameters that were used to create the export.' },
    output_file_info: { ...JSON_OBJECT_OR_NULL, description: 'Dictionary of filename: sha256hash entries for export-output-file(s)' },
    toc_info: { ...JSON_OBJECT_OR_NULL, description: 'Filename, sha256-checksum and meta of table-of-contents for this export' },
    summary: { ...JSON_OBJECT_OR_NULL, description: 'What was exported (Pith).' },
  },
};

interface ExporterRepo {
  pulp_id: string;
  pulp_type: string;
  name: string;
}

/** `versions` / `start_versions`: exactly one complete version of each exporter repository, nothing else. */
async function matchVersions(p: Platform, field: string, values: string[], repos: ExporterRepo[]): Promise<Map<string, VersionRef>> {
  const refs: VersionRef[] = [];
  for (const v of values) refs.push(await requireVersion(p, field, v));
  if (refs.length !== repos.length) {
    throw fieldError(field, `Number of versions (${refs.length}) does not match the number of repositories (${repos.length}) of the exporter.`);
  }
  const byId = new Map(repos.map((r) => [r.pulp_id, r]));
  const out = new Map<string, VersionRef>();
  refs.forEach((ref, i) => {
    const repo = byId.get(ref.repositoryId);
    if (!repo) throw fieldError(field, `${String(values[i]).slice(0, 200)} is not a version of one of the exporter's repositories.`);
    if (out.has(ref.repositoryId)) throw fieldError(field, `More than one version of repository '${repo.name}' was given.`);
    out.set(ref.repositoryId, ref);
  });
  return out;
}

/** Validates an export request and builds the task payload (Pulp's PulpExportSerializer checks, plus Pith's). */
async function exportPayload(p: Platform, exporterId: string, lastExportId: string | null, exporterPath: string, body: PulpExportBody): Promise<{ payload: ExportTaskPayload; repos: ExporterRepo[] }> {
  const full = body.full ?? true;
  let chunkSize: number | null = null;
  if (body.chunk_size !== undefined && body.chunk_size !== null) {
    try {
      chunkSize = parseChunkSize(body.chunk_size);
    } catch (e) {
      throw fieldError('chunk_size', (e as Error).message);
    }
  }
  const startGiven = body.start_versions !== undefined && body.start_versions !== null;
  if (startGiven && full) throw fieldError('start_versions', 'start_versions is only valid for incremental exports (full=false).');

  const repos = await p.db.query<ExporterRepo>(
    `SELECT r.pulp_id, r.pulp_type, r.name FROM core_pulpexporter_repositories er JOIN core_repository r ON r.pulp_id = er.repository_id
      WHERE er.exporter_id = $1 ORDER BY r.name, r.pulp_id`,
    [exporterId],
  );
  if (repos.length === 0) throw fieldErrors({ non_field_errors: ['The exporter has no repositories to export.'] });
  for (const type of new Set(repos.map((r) => r.pulp_type))) {
    const problem = unexportableMessage(p, type);
    if (problem) throw fieldErrors({ non_field_errors: [problem] });
  }
  const pathProblem = await exportPathProblem(p, exporterPath);
  if (pathProblem) throw fieldErrors({ non_field_errors: [`The exporter's path cannot be used: ${pathProblem}`] });

  let ends: Map<string, VersionRef | { versionId: string; number: number }>;
  if (body.versions !== undefined && body.versions !== null) ends = await matchVersions(p, 'versions', body.versions, repos);
  else {
    const latest = await p.db.query<{ repository_id: string; pulp_id: string; number: number }>(
      `SELECT DISTINCT ON (repository_id) repository_id, pulp_id, number FROM core_repositoryversion
        WHERE repository_id = ANY($1::uuid[]) AND complete ORDER BY repository_id, number DESC`,
      [repos.map((r) => r.pulp_id)],
    );
    ends = new Map(latest.map((v) => [v.repository_id, { versionId: v.pulp_id, number: v.number }]));
  }
  let starts: Map<string, VersionRef> | null = null;
  if (startGiven) {
    starts = await matchVersions(p, 'start_versions', body.start_versions!, repos);
    for (const repo of repos) {
      const s = starts.get(repo.pulp_id)!;
      const e = ends.get(repo.pulp_id);
      if (e && s.number > e.number) {
        throw fieldError('start_versions', `Start version ${s.number} of repository '${repo.name}' is newer than the version to export (${e.number}).`);
      }
    }
  }
  if (!full && !startGiven && !lastExportId) {
    throw fieldErrors({ non_field_errors: ['Incremental export can only be requested when there is a previous export or start_versions= has been specified.'] });
  }
  const versions: VersionChoice[] = repos.map((r) => {
    const e = ends.get(r.pulp_id);
    if (!e) throw fieldErrors({ non_field_errors: [`Repository '${r.name}' has no complete version.`] });
    return { repository_id: r.pulp_id, version_id: e.versionId };
  });
  return {
    repos,
    payload: {
      exporter_id: exporterId,
      versions,
      start_versions: starts ? repos.map((r) => ({ repository_id: r.pulp_id, version_id: starts!.get(r.pulp_id)!.versionId })) : null,
      from_last_export: !full && !startGiven,
      chunk_size: chunkSize,
      meta: body.meta ?? null,
      dry_run: body.dry_run ?? false,
      params: paramsOf(body),
    },
  };
}

// ---------------------------------------------------------------------------------------------

const TAG = 'Exporters: Pulp';
const EXPORTS_TAG = 'Exporters: Pulp Exports';
const ITEM = `${EXPORTERS}:pulp_id/`;
const EXPORT_ITEM = `${ITEM}exports/:export_id/`;
const HREF = 'pulp_exporter_href';
const EXPORT_HREF = 'pulp_pulp_export_href';
const PatchedPulpExporter = partialDto('PatchedPulpExporter', PulpExporterBody);

/** One page of `table` rows: filters, ordering (default `dflt`), optionally scoped to a parent column. */
export async function listRows(p: Platform, ctx: RequestContext, table: string, alias: string, filters: SqlFilterSet, ordering: Record<string, string>, dflt: string, select: string, scope?: [string, string]) {
  const page = readPage(ctx.query);
  const w = new SqlWhere();
  if (scope) w.add(`${alias}.${scope[0]} = ${w.p(scope[1])}`);
  await applyFilters(w, filters, ctx.query);
  const order = orderBy(ctx.query.ordering, ordering, dflt, `${alias}.pulp_id`);
  const [countRow] = await p.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} ${alias} ${w.sql()}`, w.params);
  const rows = await p.db.query(`SELECT ${select} FROM ${table} ${alias} ${w.sql()} ${order} LIMIT ${w.p(page.limit)} OFFSET ${w.p(page.offset)}`, w.params);
  return { rows, count: Number(countRow?.n ?? 0), page };
}

export function exporterEndpoints(p: Platform): Endpoint[] {
  const requireExporter = async (ctx: RequestContext) => {
    const row = await p.db.one<{ pulp_id: string; path: string; last_export_id: string | null }>(
      'SELECT pulp_id, path, last_export_id FROM core_pulpexporter WHERE pulp_id = $1',
      [detailId(ctx)],
    );
    if (!row) throw notFound();
    return row;
  };
  return [
    {
      method: 'GET', path: EXPORTERS, openapiPath: EXPORTERS, operationId: 'exporters_core_pulp_list', tag: TAG, list: true,
      summary: 'List pulp exporters', filters: EXPORTER_FILTERS, responses: { 200: { schema: PULP_EXPORTER_SCHEMA } },
      handler: async (ctx) => {
        const { rows, count, page } = await listRows(p, ctx, 'core_pulpexporter', 'e', EXPORTER_FILTERS, EXPORTER_ORDERING, 'e.name', EXPORTER_SELECT);
        return { status: 200, body: paginated(rows.map((r) => serializeExporter(p, r as ExporterRow)), count, page, ctx.absoluteUrl, ctx.query) };
      },
    },
    {
      method: 'POST', path: EXPORTERS, openapiPath: EXPORTERS, operationId: 'exporters_core_pulp_create', tag: TAG,
      summary: 'Create a pulp exporter', body: { dto: PulpExporterBody }, responses: { 201: { schema: PULP_EXPORTER_SCHEMA } },
      handler: async (ctx) => ({ status: 201, body: await createExporter(p, ctx.body as PulpExporterBody) }),
    },
    {
      method: 'GET', path: ITEM, openapiPath: `{${HREF}}`, hrefParam: HREF, operationId: 'exporters_core_pulp_read', tag: TAG,
      summary: 'Inspect a pulp exporter', responses: { 200: { schema: PULP_EXPORTER_SCHEMA } },
      handler: async (ctx) => {
        const body = await readExporter(p, detailId(ctx));
        if (!body) throw notFound();
        return { status: 200, body };
      },
    },
    {
      method: 'PUT', path: ITEM, openapiPath: `{${HREF}}`, hrefParam: HREF, operationId: 'exporters_core_pulp_update', tag: TAG,
      summary: 'Update a pulp exporter', body: { dto: PulpExporterBody }, headerParams: ['If-Match'],
      responses: { 200: { schema: PULP_EXPORTER_SCHEMA }, 412: {} },
      handler: async (ctx) => ({ status: 200, body: await updateExporter(p, ctx) }),
    },
    {
      method: 'PATCH', path: ITEM, openapiPath: `{${HREF}}`, hrefParam: HREF, operationId: 'exporters_core_pulp_partial_update', tag: TAG,
      summary: 'Update a pulp exporter', body: { dto: PatchedPulpExporter }, headerParams: ['If-Match'],
      responses: { 200: { schema: PULP_EXPORTER_SCHEMA }, 412: {} },
      handler: async (ctx) => ({ status: 200, body: await updateExporter(p, ctx) }),
    },
    {
      method: 'DELETE', path: ITEM, openapiPath: `{${HREF}}`, hrefParam: HREF, operationId: 'exporters_core_pulp_delete', tag: TAG,
      summary: 'Delete a pulp exporter (its exports too; files stay)', headerParams: ['If-Match'],
      responses: { 204: {}, 409: {}, 412: {} },
      handler: async (ctx) => {
        const id = detailId(ctx);
        const current = await readExporter(p, id);
        if (!current) throw notFound();
        if (!ifMatchSatisfied(ctx.ifMatch, etagFor(current))) throw preconditionFailed();
        // Pulp deletes in a task that waits for the exporter lock; a synchronous delete refuses instead.
        const task = await taskHolding(p.db, exporterHref(id));
        if (task) throw conflict(`The exporter is in use by task ${API_ROOT}tasks/${task}/; delete it once that task has finished.`);
        await p.db.query('DELETE FROM core_pulpexporter WHERE pulp_id = $1', [id]);
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: `${ITEM}exports/`, openapiPath: `{${HREF}}exports/`, hrefParam: HREF, operationId: 'exporters_core_pulp_exports_list',
      tag: EXPORTS_TAG, list: true, summary: 'List pulp exports', filters: EXPORT_FILTERS, responses: { 200: { schema: PULP_EXPORT_SCHEMA } },
      handler: async (ctx) => {
        const exporter = await requireExporter(ctx);
        const { rows, count, page } = await listRows(p, ctx, 'core_pulpexport', 'x', EXPORT_FILTERS, HISTORY_ORDERING('x'), 'x.pulp_created DESC', EXPORT_SELECT, ['exporter_id', exporter.pulp_id]);
        return { status: 200, body: paginated(await serializeExports(p, rows as ExportRow[]), count, page, ctx.absoluteUrl, ctx.query) };
      },
    },
    {
      method: 'POST', path: `${ITEM}exports/`, openapiPath: `{${HREF}}exports/`, hrefParam: HREF, operationId: 'exporters_core_pulp_exports_create',
      tag: EXPORTS_TAG, summary: 'Create a pulp export (task)', body: { dto: PulpExportBody, required: false },
      responses: { 202: { schema: 'AsyncOperationResponse' } },
      handler: async (ctx) => {
        const exporter = await requireExporter(ctx);
        const { payload, repos } = await exportPayload(p, exporter.pulp_id, exporter.last_export_id, exporter.path, ctx.body as PulpExportBody);
        const task = await p.tasks.dispatch({
          name: EXPORT_TASK,
          payload,
          exclusive: [exporterHref(exporter.pulp_id)],
          shared: repos.map((r) => repositoryHref(p.registry, r.pulp_type, r.pulp_id)),
          loggingCid: ctx.correlationId,
          createdBy: ctx.user?.id ?? null,
        });
        return { status: 202, body: { task: task.href } };
      },
    },
    {
      method: 'GET', path: EXPORT_ITEM, openapiPath: `{${EXPORT_HREF}}`, hrefParam: EXPORT_HREF, operationId: 'exporters_core_pulp_exports_read',
      tag: EXPORTS_TAG, summary: 'Inspect a pulp export', responses: { 200: { schema: PULP_EXPORT_SCHEMA } },
      handler: async (ctx) => {
        const body = await readExport(p, detailId(ctx), pathUuid(ctx, 'export_id'));
        if (!body) throw notFound();
        return { status: 200, body };
      },
    },
    {
      method: 'DELETE', path: EXPORT_ITEM, openapiPath: `{${EXPORT_HREF}}`, hrefParam: EXPORT_HREF, operationId: 'exporters_core_pulp_exports_delete',
      tag: EXPORTS_TAG, summary: 'Delete a pulp export (its files stay)', headerParams: ['If-Match'], responses: { 204: {}, 412: {} },
      handler: async (ctx) => {
        const exporterId = detailId(ctx);
        const id = pathUuid(ctx, 'export_id');
        const current = await readExport(p, exporterId, id);
        if (!current) throw notFound();
        if (!ifMatchSatisfied(ctx.ifMatch, etagFor(current))) throw preconditionFailed();
        await p.db.query('DELETE FROM core_pulpexport WHERE pulp_id = $1 AND exporter_id = $2', [id, exporterId]);
        return { status: 204 };
      },
    },
  ];
}
