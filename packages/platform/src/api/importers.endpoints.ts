import type { Row } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import type { Platform } from '../platform';
import type { Db } from '../db/db';
import { API_ROOT, prn } from '../http/hrefs';
import { conflict, fieldError, fieldErrors, notFound, preconditionFailed } from '../http/errors';
import { paginated } from '../http/pagination';
import { etagFor } from '../http/router';
import type { SqlFilterSet } from '../http/sql-filters';
import { uuid7 } from '../util/uuid7';
import { ifMatchSatisfied, nameFilter, tsSql } from '../resources/common-filters';
import { partialDto } from '../resources/dto-combine';
import { datetimeFilter, detailId, identityFilters } from './tasks.endpoints';
import {
  BASE_PROPERTIES, HISTORY_ORDERING, isPgError, listRows, nestedIdentityFilters, paramsOf, pathUuid, taskHolding,
} from './exporters.endpoints';
import { importHref, importerHref } from '../import-export/import-export-hrefs';
import { checkImportInputs, requireImportFile } from '../import-export/import-check';
import {
  IMPORT_TASK, PulpImportBody, PulpImportCheckBody, PulpImporterBody, type ImportTaskPayload,
} from '../import-export/import-export.dto';

const IMPORTERS = `${API_ROOT}importers/core/pulp/`;
const ts = (col: string, as: string) => `${tsSql(col)} AS ${as}`;

// ---------------------------------------------------------------------------------------------
// Importers.

interface ImporterRow extends Row {
  pulp_id: string;
  pulp_created: string;
  pulp_last_updated: string;
  name: string;
  repo_mapping: Record<string, string>;
}

const IMPORTER_SELECT = `i.pulp_id, ${ts('i.pulp_created', 'pulp_created')}, ${ts('i.pulp_last_updated', 'pulp_last_updated')}, i.name, i.repo_mapping`;

function serializeImporter(r: ImporterRow): Record<string, unknown> {
  return {
    pulp_href: importerHref(r.pulp_id),
    prn: prn('core', 'pulpimporter', r.pulp_id),
    pulp_created: r.pulp_created,
    pulp_last_updated: r.pulp_last_updated,
    name: r.name,
    repo_mapping: r.repo_mapping ?? {},
  };
}

async function readImporterRow(db: Db, id: string): Promise<ImporterRow | undefined> {
  return db.one<ImporterRow>(`SELECT ${IMPORTER_SELECT} FROM core_pulpimporter i WHERE i.pulp_id = $1`, [id]);
}

const IMPORTER_FILTERS: SqlFilterSet = {
  name: nameFilter('i.name'),
  pulp_created: datetimeFilter('i.pulp_created'),
  ...identityFilters('i', 'importers/core/pulp', 'pulpimporter'),
};
const IMPORTER_ORDERING: Record<string, string> = {
  pk: 'i.pulp_id', pulp_id: 'i.pulp_id', pulp_created: 'i.pulp_created', pulp_last_updated: 'i.pulp_last_updated', name: 'i.name',
};

const PULP_IMPORTER_SCHEMA = {
  type: 'object',
  title: 'PulpImporterResponse',
  required: ['name'],
  properties: {
    ...BASE_PROPERTIES,
    name: { type: 'string', description: 'Unique name of the Importer.' },
    repo_mapping: {
      type: 'object', additionalProperties: { type: 'string' },
      description: 'Mapping of repo names in an export file to the repo names in Pulp.',
    },
  },
};

/** Pulp's rule: every destination of the mapping must exist (at the time it is set). */
async function checkRepoMapping(p: Platform, mapping: Record<string, string>): Promise<void> {
  const names = [...new Set(Object.values(mapping))];
  if (names.length === 0) return;
  const found = new Set(
    (await p.db.query<{ name: string }>('SELECT name FROM core_repository WHERE name = ANY($1::text[])', [names])).map((r) => r.name),
  );
  const missing = names.filter((n) => !found.has(n)).sort();
  if (missing.length) {
    throw fieldError('repo_mapping', `Failed to find repositories from repo_mapping: names: ${JSON.stringify(missing.slice(0, 100))}`);
  }
}

function mapWriteError(e: unknown): never {
  if (isPgError(e, '23505') && e.constraint === 'core_pulpimporter_name_uniq') throw fieldError('name', 'This field must be unique.');
  throw e;
}

async function updateImporter(p: Platform, ctx: RequestContext): Promise<Record<string, unknown>> {
  const id = detailId(ctx);
  if (!(await readImporterRow(p.db, id))) throw notFound();
  const body = ctx.body as Partial<PulpImporterBody>;
  if (body.repo_mapping !== undefined) await checkRepoMapping(p, body.repo_mapping);
  for (let attempt = 0; attempt < 5; attempt++) {
    const row = await readImporterRow(p.db, id);
    if (!row) throw notFound();
    if (!ifMatchSatisfied(ctx.ifMatch, etagFor(serializeImporter(row)))) throw preconditionFailed();
    const params: unknown[] = [id, row.pulp_last_updated];
    const sets: string[] = [];
    if (body.name !== undefined) sets.push(`name = $${params.push(body.name)}`);
    if (body.repo_mapping !== undefined) sets.push(`repo_mapping = $${params.push(JSON.stringify(body.repo_mapping))}`);
    sets.push(`pulp_last_updated = GREATEST(clock_timestamp(), pulp_last_updated + interval '1 microsecond')`);
    let r: Row[];
    try {
      r = await p.db.query(
        `UPDATE core_pulpimporter SET ${sets.join(', ')} WHERE pulp_id = $1 AND pulp_last_updated = $2::timestamptz RETURNING pulp_id`,
        params,
      );
    } catch (e) {
      mapWriteError(e);
    }
    if (r.length) return serializeImporter((await readImporterRow(p.db, id))!);
    if (ctx.ifMatch !== undefined) throw preconditionFailed();
  }
  throw preconditionFailed();
}

// ---------------------------------------------------------------------------------------------
// Imports.

interface ImportRow extends Row {
  pulp_id: string;
  importer_id: string;
  pulp_created: string;
  pulp_last_updated: string;
  task_id: string | null;
  task_group_id: string | null;
  params: Record<string, unknown>;
  report: Record<string, unknown> | null;
}

const IMPORT_SELECT = `m.pulp_id, m.importer_id, ${ts('m.pulp_created', 'pulp_created')}, ${ts('m.pulp_last_updated', 'pulp_last_updated')},
  m.task_id, m.task_group_id, m.params, m.report`;

function serializeImport(r: ImportRow): Record<string, unknown> {
  return {
    pulp_href: importHref(r.importer_id, r.pulp_id),
    prn: prn('core', 'pulpimport', r.pulp_id),
    pulp_created: r.pulp_created,
    pulp_last_updated: r.pulp_last_updated,
    task: r.task_id ? `${API_ROOT}tasks/${r.task_id}/` : null,
    params: r.params ?? {},
    task_group: r.task_group_id ? `${API_ROOT}task-groups/${r.task_group_id}/` : null,
    report: r.report,
  };
}

async function readImport(p: Platform, importerId: string, id: string): Promise<Record<string, unknown> | undefined> {
  const row = await p.db.one<ImportRow>(`SELECT ${IMPORT_SELECT} FROM core_pulpimport m WHERE m.pulp_id = $1 AND m.importer_id = $2`, [id, importerId]);
  return row && serializeImport(row);
}

const IMPORT_FILTERS: SqlFilterSet = {
  pulp_created: datetimeFilter('m.pulp_created'),
  ...nestedIdentityFilters('m', 'imports', 'pulpimport'),
};

const PULP_IMPORT_SCHEMA = {
  type: 'object',
  title: 'PulpImportResponse',
  properties: {
    ...BASE_PROPERTIES,
    task: { type: ['string', 'null'], format: 'uri', description: 'A URI of the Task that ran the Import.' },
    params: { type: 'object', description: 'Any parameters that were used to create the import.' },
    task_group: { type: ['string', 'null'], format: 'uri', readOnly: true, description: 'The task group of the import and its per-repository tasks (Pith).' },
    report: { type: ['object', 'null'], readOnly: true, description: 'What the import did (Pith).' },
  },
};

const EVALUATION = {
  type: 'object',
  required: ['context', 'is_valid', 'messages'],
  properties: {
    context: { type: 'string', description: 'Parameter value being evaluated.' },
    is_valid: { type: 'boolean', description: 'True if evaluation passed, false otherwise.' },
    messages: { type: 'array', items: { type: 'string' }, description: 'Messages describing results of all evaluations done. May be an empty list.' },
  },
};
const IMPORT_CHECK_SCHEMA = {
  type: 'object',
  title: 'PulpImportCheckResponse',
  properties: { toc: EVALUATION, path: EVALUATION, repo_mapping: EVALUATION },
};

const given = (v: string | null | undefined): v is string => v !== undefined && v !== null && v !== '';

/**
 * Validates an import request, then creates the task group, the PulpImport row and the
 * `core.import` task in that group (the task finds its row by `import_id`).
 */
async function startImport(p: Platform, ctx: RequestContext, importer: ImporterRow): Promise<string> {
  const body = ctx.body as PulpImportBody;
  if (given(body.path) && given(body.toc)) throw fieldErrors({ non_field_errors: ["Only one of 'path' and 'toc' may be specified."] });
  if (!given(body.path) && !given(body.toc)) throw fieldErrors({ non_field_errors: ["One of 'path' or 'toc' must be specified."] });
  const createRepositories = body.create_repositories ?? false;
  if (createRepositories && Object.keys(importer.repo_mapping ?? {}).length > 0) {
    throw fieldErrors({ non_field_errors: ["The option 'create_repositories' is not compatible with 'repo_mapping'."] });
  }
  const field = given(body.path) ? 'path' : 'toc';
  const value = (given(body.path) ? body.path : body.toc) as string;
  const resolved = await requireImportFile(p.config, field, value);

  const group = await p.tasks.createTaskGroup(`Import of ${value}`);
  const importId = uuid7();
  await p.db.query(
    `INSERT INTO core_pulpimport (pulp_id, importer_id, task_group_id, params, pulp_created, pulp_last_updated)
     VALUES ($1, $2, $3, $4, clock_timestamp(), clock_timestamp())`,
    [importId, importer.pulp_id, group.pulp_id, JSON.stringify(paramsOf(body))],
  );
  const payload: ImportTaskPayload = {
    importer_id: importer.pulp_id,
    import_id: importId,
    path: field === 'path' ? resolved : null,
    toc: field === 'toc' ? resolved : null,
    create_repositories: createRepositories,
    dry_run: body.dry_run ?? false,
    task_group_id: group.pulp_id,
  };
  let taskId: string;
  try {
    taskId = (await p.tasks.dispatch({
      name: IMPORT_TASK,
      payload,
      exclusive: [importerHref(importer.pulp_id)],
      taskGroupId: group.pulp_id,
      loggingCid: ctx.correlationId,
      createdBy: ctx.user?.id ?? null,
    })).pulp_id;
  } catch (e) {
    await p.db.query('DELETE FROM core_pulpimport WHERE pulp_id = $1', [importId]);
    await p.db.query('DELETE FROM core_taskgroup WHERE pulp_id = $1', [group.pulp_id]);
    throw e;
  }
  await p.db.query('UPDATE core_pulpimport SET task_id = $2 WHERE pulp_id = $1', [importId, taskId]);
  return group.href;
}

// ---------------------------------------------------------------------------------------------

const TAG = 'Importers: Pulp';
const IMPORTS_TAG = 'Importers: Pulp Imports';
const ITEM = `${IMPORTERS}:pulp_id/`;
const IMPORT_ITEM = `${ITEM}imports/:import_id/`;
const HREF = 'pulp_importer_href';
const IMPORT_HREF = 'pulp_pulp_import_href';
const PatchedPulpImporter = partialDto('PatchedPulpImporter', PulpImporterBody);

export function importerEndpoints(p: Platform): Endpoint[] {
  const requireImporter = async (ctx: RequestContext): Promise<ImporterRow> => {
    const row = await readImporterRow(p.db, detailId(ctx));
    if (!row) throw notFound();
    return row;
  };
  return [
    {
      method: 'POST', path: `${IMPORTERS}import-check/`, openapiPath: `${IMPORTERS}import-check/`, operationId: 'pulp_import_check_post',
      tag: 'Importers: Pulp Import Check', summary: 'Validate the parameters to be used for a PulpImport call',
      body: { dto: PulpImportCheckBody }, responses: { 200: { schema: IMPORT_CHECK_SCHEMA } },
      handler: async (ctx) => {
        const body = ctx.body as PulpImportCheckBody;
        if (![body.path, body.toc, body.repo_mapping].some((v) => v !== undefined && v !== null)) {
          throw fieldErrors({ non_field_errors: ["One of 'path', 'toc', or 'repo_mapping' must be specified."] });
        }
        return { status: 200, body: await checkImportInputs(p.config, body, { versions: p.componentVersions(), registry: p.registry }) };
      },
    },
    {
      method: 'GET', path: IMPORTERS, openapiPath: IMPORTERS, operationId: 'importers_core_pulp_list', tag: TAG, list: true,
      summary: 'List pulp importers', filters: IMPORTER_FILTERS, responses: { 200: { schema: PULP_IMPORTER_SCHEMA } },
      handler: async (ctx) => {
        const { rows, count, page } = await listRows(p, ctx, 'core_pulpimporter', 'i', IMPORTER_FILTERS, IMPORTER_ORDERING, 'i.name', IMPORTER_SELECT);
        return { status: 200, body: paginated(rows.map((r) => serializeImporter(r as ImporterRow)), count, page, ctx.absoluteUrl, ctx.query) };
      },
    },
    {
      method: 'POST', path: IMPORTERS, openapiPath: IMPORTERS, operationId: 'importers_core_pulp_create', tag: TAG,
      summary: 'Create a pulp importer', body: { dto: PulpImporterBody }, responses: { 201: { schema: PULP_IMPORTER_SCHEMA } },
      handler: async (ctx) => {
        const body = ctx.body as PulpImporterBody;
        const mapping = body.repo_mapping ?? {};
        await checkRepoMapping(p, mapping);
        const id = uuid7();
        try {
          await p.db.query(
            `INSERT INTO core_pulpimporter (pulp_id, name, repo_mapping, pulp_created, pulp_last_updated)
             VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp())`,
            [id, body.name, JSON.stringify(mapping)],
          );
        } catch (e) {
          mapWriteError(e);
        }
        return { status: 201, body: serializeImporter((await readImporterRow(p.db, id))!) };
      },
    },
    {
      method: 'GET', path: ITEM, openapiPath: `{${HREF}}`, hrefParam: HREF, operationId: 'importers_core_pulp_read', tag: TAG,
      summary: 'Inspect a pulp importer', responses: { 200: { schema: PULP_IMPORTER_SCHEMA } },
      handler: async (ctx) => ({ status: 200, body: serializeImporter(await requireImporter(ctx)) }),
    },
    {
      method: 'PUT', path: ITEM, openapiPath: `{${HREF}}`, hrefParam: HREF, operationId: 'importers_core_pulp_update', tag: TAG,
      summary: 'Update a pulp importer', body: { dto: PulpImporterBody }, headerParams: ['If-Match'],
      responses: { 200: { schema: PULP_IMPORTER_SCHEMA }, 412: {} },
      handler: async (ctx) => ({ status: 200, body: await updateImporter(p, ctx) }),
    },
    {
      method: 'PATCH', path: ITEM, openapiPath: `{${HREF}}`, hrefParam: HREF, operationId: 'importers_core_pulp_partial_update', tag: TAG,
      summary: 'Update a pulp importer', body: { dto: PatchedPulpImporter }, headerParams: ['If-Match'],
      responses: { 200: { schema: PULP_IMPORTER_SCHEMA }, 412: {} },
      handler: async (ctx) => ({ status: 200, body: await updateImporter(p, ctx) }),
    },
    {
      method: 'DELETE', path: ITEM, openapiPath: `{${HREF}}`, hrefParam: HREF, operationId: 'importers_core_pulp_delete', tag: TAG,
      summary: 'Delete a pulp importer (and its import records)', headerParams: ['If-Match'],
      responses: { 204: {}, 409: {}, 412: {} },
      handler: async (ctx) => {
        const row = await requireImporter(ctx);
        if (!ifMatchSatisfied(ctx.ifMatch, etagFor(serializeImporter(row)))) throw preconditionFailed();
        const task = await taskHolding(p.db, importerHref(row.pulp_id));
        if (task) throw conflict(`The importer is in use by task ${API_ROOT}tasks/${task}/; delete it once that task has finished.`);
        await p.db.query('DELETE FROM core_pulpimporter WHERE pulp_id = $1', [row.pulp_id]);
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: `${ITEM}imports/`, openapiPath: `{${HREF}}imports/`, hrefParam: HREF, operationId: 'importers_core_pulp_imports_list',
      tag: IMPORTS_TAG, list: true, summary: 'List pulp imports', filters: IMPORT_FILTERS, responses: { 200: { schema: PULP_IMPORT_SCHEMA } },
      handler: async (ctx) => {
        const importer = await requireImporter(ctx);
        const { rows, count, page } = await listRows(p, ctx, 'core_pulpimport', 'm', IMPORT_FILTERS, HISTORY_ORDERING('m'), 'm.pulp_created DESC', IMPORT_SELECT, ['importer_id', importer.pulp_id]);
        return { status: 200, body: paginated(rows.map((r) => serializeImport(r as ImportRow)), count, page, ctx.absoluteUrl, ctx.query) };
      },
    },
    {
      method: 'POST', path: `${ITEM}imports/`, openapiPath: `{${HREF}}imports/`, hrefParam: HREF, operationId: 'importers_core_pulp_imports_create',
      tag: IMPORTS_TAG, summary: 'Create a pulp import (task group)', body: { dto: PulpImportBody },
      responses: { 202: { schema: 'TaskGroupOperationResponse' } },
      handler: async (ctx) => ({ status: 202, body: { task_group: await startImport(p, ctx, await requireImporter(ctx)) } }),
    },
    {
      method: 'GET', path: IMPORT_ITEM, openapiPath: `{${IMPORT_HREF}}`, hrefParam: IMPORT_HREF, operationId: 'importers_core_pulp_imports_read',
      tag: IMPORTS_TAG, summary: 'Inspect a pulp import', responses: { 200: { schema: PULP_IMPORT_SCHEMA } },
      handler: async (ctx) => {
        const body = await readImport(p, detailId(ctx), pathUuid(ctx, 'import_id'));
        if (!body) throw notFound();
        return { status: 200, body };
      },
    },
    {
      method: 'DELETE', path: IMPORT_ITEM, openapiPath: `{${IMPORT_HREF}}`, hrefParam: IMPORT_HREF, operationId: 'importers_core_pulp_imports_delete',
      tag: IMPORTS_TAG, summary: 'Delete a pulp import record', headerParams: ['If-Match'], responses: { 204: {}, 412: {} },
      handler: async (ctx) => {
        const importerId = detailId(ctx);
        const id = pathUuid(ctx, 'import_id');
        const current = await readImport(p, importerId, id);
        if (!current) throw notFound();
        if (!ifMatchSatisfied(ctx.ifMatch, etagFor(current))) throw preconditionFailed();
        await p.db.query('DELETE FROM core_pulpimport WHERE pulp_id = $1 AND importer_id = $2', [id, importerId]);
        return { status: 204 };
      },
    },
  ];
}
