import 'reflect-metadata';
import { Type } from 'class-transformer';
import { Allow, IsArray, IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Min, ValidateIf, ValidateNested } from 'class-validator';
import { testPlugin } from '@pith/test-utils';
import type { Endpoint } from '../http/endpoint';
import { DtoSchemaRegistry, type JsonSchema } from './dto-schema';
import { buildOpenApi, type OpenApiDocument } from './openapi-builder';
import { lintOpenApi } from './openapi-lint';
import { buildPlatformOpenApi } from './openapi-document';
import { createOfflinePlatform } from './offline-platform';
import { loadConfig } from '../config/pith-config';

class LabelDto {
  @IsString() key: string;
}

class SampleDto {
  @IsString() name: string;
  @IsOptional() @IsString() remote?: string | null;
  @IsOptional() @IsInt() @Min(1) retain_repo_versions?: number | null;
  @IsBoolean() mirror = false;
  @IsIn(['immediate', 'on_demand']) policy = 'immediate';
  @IsString() chunk_size: string;
  @IsArray() @IsString({ each: true }) repositories: string[];
  @IsOptional() @IsObject() repo_mapping?: Record<string, string>;
  @IsOptional() @ValidateNested({ each: true }) @Type(() => LabelDto) labels?: LabelDto[];
  @IsOptional() @Matches(/^[0-9a-f]{64}$/) sha256?: string;
  @Allow() file?: unknown;
  @ValidateIf((o: SampleDto) => o.pulp_labels !== undefined) @IsObject() pulp_labels?: Record<string, string>;
}

class UploadChunkDto {
  @Allow() file: unknown;
  @IsOptional() @IsString() sha256?: string;
}

class EmptyDto {}

const noop: Endpoint['handler'] = async () => ({ status: 200 });
const A = '/pulp/api/v3/';

function sampleEndpoints(): Endpoint[] {
  return [
    {
      method: 'GET', path: `${A}things/`, openapiPath: `${A}things/`, operationId: 'things_list', tag: 'Things', list: true,
      filters: {
        name: { column: 'name', type: 'string', lookups: ['in', 'contains', 'ne'] },
        number: { column: 'number', type: 'integer', lookups: ['gte', 'range'] },
        pulp_created: { column: 'pulp_created', type: 'datetime', lookups: ['lt', 'isnull'] },
      },
      responses: { 200: { schema: 'Thing' } }, handler: noop,
    },
    {
      method: 'POST', path: `${A}things/`, openapiPath: `${A}things/`, operationId: 'things_create', tag: 'Things',
      body: { dto: SampleDto }, responses: { 201: { schema: 'Thing' } }, handler: noop,
    },
    {
      method: 'GET', path: `${A}things/:id/`, openapiPath: '{thing_href}', hrefParam: 'thing_href', operationId: 'things_read',
      tag: 'Things', responses: { 200: { schema: 'Thing' } }, handler: noop,
    },
    {
      method: 'PUT', path: `${A}things/:id/`, openapiPath: '{thing_href}', hrefParam: 'thing_href', operationId: 'things_update',
      tag: 'Things', headerParams: ['Content-Range'], body: { dto: UploadChunkDto, encodings: ['multipart'], fileFields: ['file'] },
      responses: { 200: { schema: 'Thing' } }, handler: noop,
    },
    {
      method: 'POST', path: `${A}things/:id/sync/`, openapiPath: '{thing_href}sync/', hrefParam: 'thing_href', operationId: 'things_sync',
      tag: 'Things', body: { dto: EmptyDto }, responses: { 202: {} }, handler: noop,
    },
    {
      method: 'DELETE', path: `${A}things/:id/`, openapiPath: '{thing_href}', hrefParam: 'thing_href', operationId: 'things_delete',
      tag: 'Things', responses: { 204: {} }, handler: noop,
    },
    {
      method: 'GET', path: `${A}open/`, openapiPath: `${A}open/`, operationId: 'open_read', tag: 'Open', anonymous: true,
      responses: { 200: {} }, handler: noop,
    },
    {
      method: 'GET', path: `${A}docs/api.json`, openapiPath: `${A}docs/api.json`, operationId: 'docs_read', tag: 'Docs', anonymous: true,
      responses: { 200: {} }, handler: noop,
    },
  ];
}

const VERSIONS = { core: '3.90.0', file: '3.90.0' };

function op(doc: OpenApiDocument, path: string, method: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const o = doc.paths[path]?.[method];
  if (!o) throw new Error(`no ${method} ${path}`);
  return o as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function schemaOf(doc: OpenApiDocument, ref: JsonSchema): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const name = String(ref.$ref).replace('#/components/schemas/', '');
  return doc.components.schemas[name] as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('DtoSchemaRegistry', () => {
  const reg = new DtoSchemaRegistry();
  const name = reg.register(SampleDto);
  const s = reg.schemas[name] as { properties: Record<string, JsonSchema>; required: string[] };

  it('maps class-validator metadata to JSON Schema types', () => {
    expect(s.properties.name).toEqual({ type: 'string' });
    expect(s.properties.chunk_size).toEqual({ type: 'string' });
    expect(s.properties.mirror).toEqual({ type: 'boolean', default: false });
    expect(s.properties.repositories).toEqual({ type: 'array', items: { type: 'string' } });
    expect(s.properties.sha256).toEqual({ type: ['string', 'null'], pattern: '^[0-9a-f]{64}$' });
  });

  it('documents optional fields as nullable (IsOptional accepts null) and not required', () => {
    expect(s.properties.remote).toEqual({ type: ['string', 'null'] });
    expect(s.properties.retain_repo_versions).toEqual({ type: ['integer', 'null'], minimum: 1 });
    expect(s.properties.repo_mapping).toEqual({ type: ['object', 'null'] });
    expect(s.properties.policy).toEqual({ type: 'string', enum: ['immediate', 'on_demand'], default: 'immediate' });
    // ValidateIf(defined): may be left out, but null is still validated (and rejected).
    expect(s.properties.pulp_labels).toEqual({ type: 'object' });
    expect(s.required.sort()).toEqual(['chunk_size', 'file', 'name', 'repositories']);
  });

  it('documents nested DTOs by reference', () => {
    const labels = s.properties.labels as { anyOf?: JsonSchema[]; type?: unknown; items?: JsonSchema };
    expect(labels.type).toEqual(['array', 'null']);
    expect(labels.items).toEqual({ $ref: '#/components/schemas/LabelDto' });
    expect(reg.schemas.LabelDto).toEqual({ type: 'object', properties: { key: { type: 'string' } }, required: ['key'] });
  });

  it('documents file fields as binary strings and keeps distinct components per class', () => {
    const n = reg.register(UploadChunkDto, ['file']);
    expect((reg.schemas[n] as { properties: Record<string, JsonSchema> }).properties.file).toEqual({ type: 'string', format: 'binary' });
    expect(reg.register(UploadChunkDto, ['file'])).toBe(n);
    class SampleDtoClash {}
    Object.defineProperty(SampleDtoClash, 'name', { value: 'SampleDto' });
    expect(reg.register(SampleDtoClash)).toBe('SampleDto2');
  });
});

describe('buildOpenApi', () => {
  const { document: doc, problems } = buildOpenApi(sampleEndpoints(), { componentVersions: VERSIONS, pithVersion: '0.1.0' });

  it('produces a document pulp-glue accepts', () => {
    expect(problems).toEqual([]);
    expect(lintOpenApi(doc)).toEqual([]);
    expect(doc.openapi).toBe('3.1.1');
    expect(doc.info).toMatchObject({ title: 'Pulp 3 API', version: 'v3', 'x-pulp-app-versions': VERSIONS, 'x-pulp-domain-enabled': false });
    expect(doc.components.securitySchemes).toEqual({
      basicAuth: { type: 'http', scheme: 'basic' },
      cookieAuth: { type: 'apiKey', in: 'cookie', name: 'sessionid' },
    });
  });

  it('leaves the docs routes out and keys detail operations by their whole-href template', () => {
    expect(doc.paths[`${A}docs/api.json`]).toBeUndefined();
    expect(Object.keys(doc.paths).sort()).toEqual([`${A}open/`, `${A}things/`, '{thing_href}', '{thing_href}sync/']);
    expect(op(doc, '{thing_href}sync/', 'post').parameters).toEqual([
      { name: 'thing_href', in: 'path', required: true, schema: { type: 'string' } },
    ]);
    // Reads take field selection like lists.
    expect(op(doc, '{thing_href}', 'get').parameters.map((p: { name: string }) => p.name)).toEqual(['thing_href', 'fields', 'exclude_fields']);
  });

  it('declares pagination, field selection and every filter lookup on lists', () => {
    const params = op(doc, `${A}things/`, 'get').parameters as Array<Record<string, unknown>>;
    const byName = Object.fromEntries(params.map((p) => [p.name, p]));
    expect(Object.keys(byName)).toEqual(expect.arrayContaining([
      'limit', 'offset', 'ordering', 'fields', 'exclude_fields', 'name', 'name__in', 'name__contains', 'name__ne',
      'number', 'number__gte', 'number__range', 'pulp_created', 'pulp_created__lt', 'pulp_created__isnull',
    ]));
    expect(params.every((p) => p.in === 'query')).toBe(true);
    expect(byName.name__in).toMatchObject({ schema: { type: 'array', items: { type: 'string' } }, style: 'form', explode: false });
    expect(byName.number__range).toMatchObject({ schema: { type: 'array', items: { type: 'integer' } }, explode: false });
    expect(byName.ordering).toMatchObject({ schema: { type: 'array' }, style: 'form', explode: false });
    expect(byName.number__gte!.schema).toEqual({ type: 'integer' });
    expect(byName.pulp_created__lt!.schema).toEqual({ type: 'string', format: 'date-time' });
    expect(byName.pulp_created__isnull!.schema).toEqual({ type: 'boolean' });
    const ok = op(doc, `${A}things/`, 'get').responses['200'];
    expect(ok.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/PaginatedThingList' });
    expect(doc.components.schemas.PaginatedThingList).toMatchObject({
      properties: { count: { type: 'integer' }, next: { type: ['string', 'null'] }, results: { type: 'array', items: { $ref: '#/components/schemas/Thing' } } },
    });
  });

  it('documents bodies under each encoding and async/no-content responses', () => {
    const create = op(doc, `${A}things/`, 'post');
    expect(Object.keys(create.requestBody.content)).toEqual(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']);
    expect(create.requestBody.required).toBe(true);
    expect(schemaOf(doc, create.requestBody.content['application/json'].schema).required).toContain('name');
    const update = op(doc, '{thing_href}', 'put');
    expect(Object.keys(update.requestBody.content)).toEqual(['multipart/form-data']);
    expect(schemaOf(doc, update.requestBody.content['multipart/form-data'].schema).properties.file).toEqual({ type: 'string', format: 'binary' });
    expect(update.parameters).toContainEqual({ name: 'Content-Range', in: 'header', schema: { type: 'string' } });
    const sync = op(doc, '{thing_href}sync/', 'post');
    expect(sync.requestBody.required).toBe(false);
    expect(sync.responses['202'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/AsyncOperationResponse' });
    expect(doc.components.schemas.AsyncOperationResponse).toMatchObject({ required: ['task'] });
    expect(op(doc, '{thing_href}', 'delete').responses['204']).toEqual({ description: 'No response body' });
  });

  it('lets anonymous operations be called without credentials and asks Basic elsewhere', () => {
    expect(op(doc, `${A}open/`, 'get').security).toEqual([{}, { basicAuth: [] }]);
    expect(op(doc, `${A}things/`, 'get').security).toEqual([{ basicAuth: [] }, { cookieAuth: [] }]);
  });

  it('reports declaration mistakes', () => {
    const eps = sampleEndpoints();
    eps.push({ ...eps[0]!, operationId: 'things_list2' }); // same method + path
    eps.push({ ...eps[2]!, method: 'PATCH', operationId: 'things_read' }); // duplicate id
    eps.push({ ...eps[2]!, method: 'HEAD', operationId: 'things_head', hrefParam: 'other_href' });
    const r = buildOpenApi(eps, { componentVersions: VERSIONS });
    expect(r.problems.join('\n')).toMatch(/already declared by things_list/);
    expect(r.problems.join('\n')).toMatch(/operationId things_read is used by/);
    expect(r.problems.join('\n')).toMatch(/\{thing_href\} is not its hrefParam/);
  });
});

describe('lintOpenApi (pulp-glue parsing rules)', () => {
  const fresh = () => JSON.parse(JSON.stringify(buildOpenApi(sampleEndpoints(), { componentVersions: VERSIONS }).document));
  const cases: Array<[string, (d: any) => void, RegExp]> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['openapi version', (d) => { d.openapi = '2.0'; }, /openapi: must be/],
    ['unknown info key', (d) => { d.info.foo = 1; }, /info: unknown key 'foo'/],
    ['missing core version', (d) => { delete d.info['x-pulp-app-versions'].core; }, /must contain core/],
    ['non-PEP 440 version', (d) => { d.info['x-pulp-app-versions'].file = 'latest'; }, /not a PEP 440/],
    ['missing operationId', (d) => { delete d.paths[`${A}open/`].get.operationId; }, /missing operationId/],
    ['duplicate operationId', (d) => { d.paths[`${A}open/`].get.operationId = 'things_list'; }, /duplicate operationId things_list/],
    ['unknown operation key', (d) => { d.paths[`${A}open/`].get.foo = 1; }, /unknown key 'foo'/],
    ['response without description', (d) => { delete d.paths[`${A}open/`].get.responses['200'].description; }, /missing description/],
    ['media type with extra key', (d) => { d.paths[`${A}open/`].get.responses['200'].content['application/json'].example = {}; }, /only schema/],
    ['media type without schema', (d) => { delete d.paths[`${A}open/`].get.responses['200'].content['application/json'].schema; }, /needs a schema/],
    ['json response under another content type', (d) => {
      const r = d.paths[`${A}open/`].get.responses['200'];
      r.content = { 'application/json; charset=utf-8': r.content['application/json'] };
    }, /exactly "application\/json"/],
    ['parameter without schema', (d) => { delete d.paths[`${A}things/`].get.parameters[0].schema; }, /needs schema or content/],
    ['parameter without name', (d) => { delete d.paths[`${A}things/`].get.parameters[0].name; }, /missing name/],
    ['path parameter not required', (d) => { d.paths['{thing_href}'].get.parameters[0].required = false; }, /must be required: true/],
    ['undeclared path parameter', (d) => { d.paths['{thing_href}'].get.parameters = []; }, /\{thing_href\} is not declared/],
    ['$ref with siblings', (d) => { d.paths['{thing_href}'].get.parameters[0] = { $ref: '#/components/parameters/x', in: 'path' }; }, /unknown key 'in'/],
    ['unresolved schema ref', (d) => { d.paths[`${A}open/`].get.responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/Nope' }; }, /unresolved \$ref/],
    ['list without parameters', (d) => { delete d.paths[`${A}things/`].get.parameters; }, /list operations must have a parameters array/],
    ['list without limit', (d) => { d.paths[`${A}things/`].get.parameters.shift(); }, /does not declare 'limit'/],
    ['detail path not a whole href', (d) => { d.paths['{id}/'] = d.paths['{thing_href}sync/']; delete d.paths['{thing_href}sync/']; }, /whole-href|not in the path/],
    ['only cookie auth', (d) => { d.paths[`${A}things/`].get.security = [{ cookieAuth: [] }]; }, /no usable auth scheme/],
    ['no security at all', (d) => { delete d.paths[`${A}things/`].get.security; }, /no security/],
    ['two schemes in one requirement', (d) => { d.paths[`${A}things/`].get.security = [{ basicAuth: [], cookieAuth: [] }]; }, /one scheme per security requirement/],
    ['bad security scheme type', (d) => { d.components.securitySchemes.cookieAuth.type = 'cookie'; }, /type must be one of/],
    ['no securitySchemes', (d) => { delete d.components.securitySchemes; }, /securitySchemes: missing/],
    ['invalid schema type', (d) => { d.components.schemas.AsyncOperationResponse.properties.task.type = 'str'; }, /invalid type "str"/],
    ['rpm advertised without rpm/copy', (d) => { d.info['x-pulp-app-versions'].rpm = '3.30.0'; }, /rpm\/copy/],
    ['versions list quirk', (d) => {
      const { parameters: _omit, ...rest } = d.paths[`${A}open/`].get;
      d.paths[`${A}repository_versions/`] = { get: { ...rest, operationId: 'repository_versions_list' } };
    }, /repository_versions_list .*(needs a parameters key|parameters array)/],
  ];

  it('accepts the unmodified document', () => {
    expect(lintOpenApi(fresh())).toEqual([]);
  });

  it.each(cases)('rejects: %s', (_name, mutate, expected) => {
    const d = fresh();
    mutate(d);
    expect(lintOpenApi(d).join('\n')).toMatch(expected);
  });

  it('checks required operationIds', () => {
    expect(lintOpenApi(fresh(), { requiredOperationIds: ['things_list', 'status_read'] })).toEqual(['paths: operationId status_read is missing']);
  });
});

/** What pulp-cli calls on core (reference/pulp-clients.md §8) plus the collection lists every Pulp has. */
const CORE_OPERATION_IDS = [
  'status_read', 'livez_read',
  'artifacts_list', 'artifacts_create', 'artifacts_read', 'artifacts_delete',
  'uploads_list', 'uploads_create', 'uploads_read', 'uploads_update', 'uploads_commit', 'uploads_delete',
  'tasks_list', 'tasks_read', 'tasks_cancel', 'tasks_delete', 'tasks_purge', 'task_groups_read',
  'repositories_list', 'repository_versions_list', 'content_list', 'remotes_list', 'publications_list', 'distributions_list',
];

/** Generated from the test plugin's declarations (`test.thing` content, repository and remote types). */
const TEST_PLUGIN_OPERATION_IDS = [
  'content_test_things_list', 'content_test_things_read',
  'repositories_test_thing_list', 'repositories_test_thing_create', 'repositories_test_thing_read',
  'repositories_test_thing_update', 'repositories_test_thing_partial_update', 'repositories_test_thing_delete',
  'repositories_test_thing_modify', 'repositories_test_thing_versions_list', 'repositories_test_thing_versions_read',
  'remotes_test_thing_list', 'remotes_test_thing_create', 'remotes_test_thing_read',
];

describe('the platform document (current endpoints + test plugin)', () => {
  const p = createOfflinePlatform([testPlugin], loadConfig({}));
  const { document: doc, problems } = buildPlatformOpenApi(p);

  it('has no declaration problems and passes pulp-glue rules', () => {
    expect(problems).toEqual([]);
  });

  it('advertises the same versions as /status/', () => {
    expect(doc.info['x-pulp-app-versions']).toEqual(p.registry.componentVersions('3.90.0'));
    const fromStatus = Object.fromEntries(p.status.versions('3.90.0').map((v) => [v.component, v.version]));
    expect(fromStatus).toEqual(doc.info['x-pulp-app-versions']);
  });

  it("contains the operationIds pulp-cli uses for core and the test plugin's types", () => {
    // Content types that can be created from a file get `content_<plugin>_<endpoint>_create` (pulp-cli's upload).
    const creatable = [...p.registry.contentTypes.values()]
      .filter((t) => t.def.fromArtifact)
      .map((t) => `content_${t.plugin.id}_${t.endpoint}_create`);
    expect(lintOpenApi(doc, { requiredOperationIds: [...CORE_OPERATION_IDS, ...TEST_PLUGIN_OPERATION_IDS, ...creatable] })).toEqual([]);
  });

  it('declares Content-Range on uploads_update and anonymous status', () => {
    const ops = Object.values(doc.paths).flatMap((item) => Object.values(item)) as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const byId = new Map(ops.map((o) => [o.operationId, o]));
    expect(byId.get('uploads_update')?.parameters).toContainEqual(expect.objectContaining({ name: 'Content-Range', in: 'header' }));
    expect(byId.get('status_read')?.security).toEqual([{}, { basicAuth: [] }]);
    // Detail operations use whole-href parameters named like Pulp's.
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['{task_href}', '{artifact_href}', '{upload_href}', '{upload_href}commit/']));
  });
});
