import { IsObject, IsOptional, IsString, ValidateIf } from 'class-validator';
import type { ContentTypeDefinition } from '@pith/plugin-api';
import type { Endpoint } from '../http/endpoint';
import { fieldError, fieldErrors, notFound } from '../http/errors';
import { API_ROOT, requireHref } from '../http/hrefs';
import type { ReceivedFile } from '../http/multipart';
import { applyFieldSelection } from '../http/field-selection';
import type { Platform } from '../platform';
import { pathId } from './detail-item-endpoints';
import type { RegisteredType } from '../plugins/plugin-registry';
import { ContentReader } from '../content/content-reader';
import { CONTENT_CREATE_TASK, type ContentCreatePayload } from '../content/content-create.task';
import { IsLabels } from '../resources/core-dtos';
import { documented } from '../resources/common-filters';
import { combineDtos, dtoProperties } from '../resources/dto-combine';
import { resolveResourceRef } from '../resources/references';
import { repositoryHref } from '../resources/resource-hrefs';
import { collectionPath, titleCase } from '../resources/resource-kinds';

type ContentReg = RegisteredType<ContentTypeDefinition>;

/** Platform fields of `POST content/<plugin>/<endpoint>/` (one source: artifact, upload or file). */
export class ContentCreateCoreDto {
  @IsOptional() @IsString() artifact?: string;
  @IsOptional() @IsString() upload?: string;
  @IsOptional() @IsObject() file?: ReceivedFile;
  @IsOptional() @IsString() relative_path?: string;
  @IsOptional() @IsString() repository?: string | null;
  @ValidateIf((o: ContentCreateCoreDto) => o.pulp_labels !== undefined) @IsObject() @IsLabels() pulp_labels?: Record<string, string>;
}

const CORE_CREATE_FIELDS = new Set(['artifact', 'upload', 'file', 'repository', 'pulp_labels']);

/** `file.FileContent` → `file_file_content_href`; Pulp names the parameter after the model. */
export function contentHrefParam(reg: ContentReg): string {
  const model = reg.def.schemaName?.split('.').pop();
  const snake = model ? model.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase() : reg.def.type.replace(/-/g, '_');
  return `${reg.plugin.id}_${snake}_href`;
}

export function contentEndpoints(p: Platform): Endpoint[] {
  const reader = new ContentReader(p);
  const out: Endpoint[] = [
    {
      method: 'GET',
      path: `${API_ROOT}content/`,
      openapiPath: `${API_ROOT}content/`,
      operationId: 'content_list',
      tag: 'Content',
      list: true,
      filters: documented(reader.filters(undefined)),
      responses: { 200: { schema: 'MultipleArtifactContentResponse' } },
      handler: async (ctx) => ({ status: 200, body: await reader.list({ query: ctx.query, absoluteUrl: ctx.absoluteUrl }) }),
    },
  ];
  for (const reg of p.registry.contentTypes.values()) out.push(...typeEndpoints(p, reader, reg));
  return out;
}

function typeEndpoints(p: Platform, reader: ContentReader, reg: ContentReg): Endpoint[] {
  const base = collectionPath('content', reg);
  const op = `content_${reg.plugin.id}_${reg.endpoint}`.replace(/-/g, '_');
  const hrefParam = contentHrefParam(reg);
  const tag = `Content: ${titleCase(reg.endpoint)}`;
  const schema = reg.def.schemaName ?? `${reg.plugin.id}.${titleCase(reg.def.type)}Content`;
  const filters = reader.filters(reg);
  const eps: Endpoint[] = [
    {
      method: 'GET', path: base, openapiPath: base, operationId: `${op}_list`, tag, list: true, filters: documented(filters),
      responses: { 200: { schema: `${schema}Response` } },
      handler: async (ctx) => ({ status: 200, body: await reader.list({ reg, query: ctx.query, absoluteUrl: ctx.absoluteUrl }) }),
    },
    {
      method: 'GET', path: `${base}:pulp_id/`, openapiPath: `{${hrefParam}}`, hrefParam, operationId: `${op}_read`, tag,
      responses: { 200: { schema: `${schema}Response` } },
      handler: async (ctx) => {
        const body = await reader.read(reg, pathId(ctx));
        if (!body) throw notFound();
        return { status: 200, body: applyFieldSelection(body, ctx.query) };
      },
    },
  ];
  if (reg.def.fromArtifact && reg.def.artifacts === 'one') {
    const dto = combineDtos(schema, ContentCreateCoreDto, reg.def.createDto);
    const typeFields = reg.def.createDto ? dtoProperties(reg.def.createDto) : [];
    eps.push({
      method: 'POST', path: base, openapiPath: base, operationId: `${op}_create`, tag,
      // Pulp offers only multipart and urlencoded here; pulp-glue then picks the encoding itself.
      body: { dto, encodings: ['multipart', 'form'], fileFields: ['file'] },
      responses: { 202: { schema: 'AsyncOperationResponse' } },
      handler: async (ctx) => {
        const body = ctx.body as ContentCreateCoreDto & Record<string, unknown>;
        const fields: Record<string, unknown> = {};
        if (body.relative_path !== undefined) fields.relative_path = body.relative_path;
        for (const k of typeFields) if (body[k] !== undefined && !CORE_CREATE_FIELDS.has(k)) fields[k] = body[k];
        const problems = reg.def.validateCreate?.(fields);
        if (problems && Object.keys(problems).length) throw fieldErrors(problems);
        const sources = (['artifact', 'upload', 'file'] as const).filter((k) => body[k] !== undefined && body[k] !== null && body[k] !== '');
        if (sources.length !== 1) {
          throw fieldErrors({ non_field_errors: ['Exactly one of artifact, file or upload must be specified.'] });
        }
        let repositoryId: string | null = null;
        let repoHref: string | null = null;
        if (body.repository) {
          const repo = await resolveResourceRef(p, 'repository', body.repository, 'repositories');
          const accepts = p.registry.repositoryTypes.get(repo.pulpType)?.def.contentTypes ?? [];
          if (!accepts.includes(reg.pulpType)) {
            throw fieldError('repository', `A ${repo.pulpType} repository does not accept ${reg.pulpType} content.`);
          }
          repositoryId = repo.id;
          repoHref = repositoryHref(p.registry, repo.pulpType, repo.id);
        }
        let artifactId: string | null = null;
        let uploadId: string | null = null;
        if (body.artifact) {
          const id = requireHref('artifact', body.artifact, 'artifacts').id;
          if (!(await p.artifacts.findById(id))) throw fieldError('artifact', 'Invalid hyperlink - Object does not exist.');
          artifactId = id;
        } else if (body.upload) {
          const id = requireHref('upload', body.upload, 'uploads').id;
          if (!(await p.uploads.get(id))) throw fieldError('upload', 'Invalid hyperlink - Object does not exist.');
          uploadId = id;
        } else {
          // Stored now (the temp file dies with the request); the task only refers to the artifact.
          artifactId = (await p.artifacts.saveReceived(body.file as ReceivedFile)).pulp_id;
        }
        const payload: ContentCreatePayload = {
          pulp_type: reg.pulpType,
          artifact_id: artifactId,
          upload_id: uploadId,
          fields,
          pulp_labels: body.pulp_labels ?? null,
          repository_id: repositoryId,
          repository_href: repoHref,
        };
        const task = await p.tasks.dispatch({
          name: CONTENT_CREATE_TASK,
          payload,
          exclusive: repoHref ? [repoHref] : [],
          loggingCid: ctx.correlationId,
          createdBy: ctx.user?.id ?? null,
        });
        return { status: 202, body: { task: task.href } };
      },
    });
  }
  return eps;
}
