import type { FilterLookup } from '@pith/plugin-api';
import type { BodyEncoding, Endpoint, ResponseSpec } from '../http/endpoint';
import { API_ROOT } from '../http/hrefs';
import { DtoSchemaRegistry, SCHEMA_REF_PREFIX, componentName, type JsonSchema } from './dto-schema';

export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, Record<string, unknown>> };
};

export interface OpenApiBuildOptions {
  /** `{core: "3.90.0", file: "…"}`: also what `/status/` reports. */
  componentVersions: Record<string, string>;
  pithVersion?: string;
  /** Endpoints left out of the document; default: the document's own routes (`docs/`), as Pulp does. */
  exclude?: (ep: Endpoint) => boolean;
}

export interface OpenApiBuild {
  document: OpenApiDocument;
  /** Declaration mistakes found while building (duplicate routes, path template mismatches). */
  problems: string[];
}

const MEDIA_TYPES: Record<BodyEncoding, string> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
  multipart: 'multipart/form-data',
};

const DEFAULT_ENCODINGS: BodyEncoding[] = ['json', 'form', 'multipart'];

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: the work runs as a task',
  204: 'No response body',
  400: 'Invalid request',
  401: 'Authentication required',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  412: 'Precondition failed (stale If-Match)',
};

const ASYNC_RESPONSE = 'AsyncOperationResponse';
const TASK_GROUP_RESPONSE = 'TaskGroupOperationResponse';

/** Schemas every document carries. */
function baseSchemas(): Record<string, JsonSchema> {
  return {
    [ASYNC_RESPONSE]: {
      type: 'object',
      description: 'Serializer for asynchronous operations.',
      properties: { task: { type: 'string', format: 'uri', description: 'The href of the task.' } },
      required: ['task'],
    },
    [TASK_GROUP_RESPONSE]: {
      type: 'object',
      description: 'Serializer for asynchronous operations that start a task group.',
      properties: { task_group: { type: 'string', format: 'uri', description: 'The href of the task group.' } },
      required: ['task_group'],
    },
  };
}

const SECURITY_SCHEMES = {
  basicAuth: { type: 'http', scheme: 'basic' },
  cookieAuth: { type: 'apiKey', in: 'cookie', name: 'sessionid' },
};

/** pulp-glue 0.41 picks the cheapest proposal: `{}` lets it call anonymous operations without credentials. */
const SECURITY_AUTHENTICATED = [{ basicAuth: [] }, { cookieAuth: [] }];
const SECURITY_ANONYMOUS = [{}, { basicAuth: [] }];

export function isListEndpoint(ep: Endpoint): boolean {
  return ep.list === true || (ep.method === 'GET' && /_list$/.test(ep.operationId));
}

function filterValueSchema(type: string): JsonSchema {
  switch (type) {
    case 'integer': return { type: 'integer' };
    case 'boolean': return { type: 'boolean' };
    case 'datetime': return { type: 'string', format: 'date-time' };
    case 'uuid': return { type: 'string', format: 'uuid' };
    case 'string[]': return { type: 'array', items: { type: 'string' } };
    default: return { type: 'string' };
  }
}

/** One query parameter per filter and per `__lookup` variant, typed as the server parses it. */
function filterParameters(filters: Record<string, { type: string; lookups?: FilterLookup[] }>): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const [name, f] of Object.entries(filters)) {
    const base = filterValueSchema(f.type);
    out.push({ name, in: 'query', description: `Filter results where ${name} matches value`, schema: base });
    for (const lookup of f.lookups ?? []) {
      if (lookup === 'exact') continue;
      const pname = `${name}__${lookup}`;
      if (lookup === 'in' || lookup === 'range') {
        const item = base.type === 'array' ? { type: 'string' } : base;
        out.push({
          name: pname,
          in: 'query',
          description: lookup === 'in' ? `Multiple values may be separated by commas.` : 'Two comma-separated values (lower, upper).',
          schema: { type: 'array', items: item, ...(lookup === 'range' ? { minItems: 2, maxItems: 2 } : {}) },
          style: 'form',
          explode: false,
        });
      } else if (lookup === 'isnull') {
        out.push({ name: pname, in: 'query', description: `Filter results where ${name} is (not) null`, schema: { type: 'boolean' } });
      } else if (['contains', 'icontains', 'startswith', 'istartswith', 'iexact'].includes(lookup)) {
        out.push({ name: pname, in: 'query', description: `Filter results where ${name} ${lookup.replace(/^i/, '')} value`, schema: { type: 'string' } });
      } else {
        out.push({ name: pname, in: 'query', description: `Filter results where ${name} ${lookup} value`, schema: base.type === 'array' ? { type: 'string' } : base });
      }
    }
  }
  return out;
}

const PAGINATION_PARAMETERS: Array<Record<string, unknown>> = [
  { name: 'limit', in: 'query', description: 'Number of results to return per page.', schema: { type: 'integer' } },
  { name: 'offset', in: 'query', description: 'The initial index from which to return the results.', schema: { type: 'integer' } },
  {
    name: 'ordering',
    in: 'query',
    description: 'Which field to use when ordering the results (prefix with "-" for descending).',
    schema: { type: 'array', items: { type: 'string' } },
    style: 'form',
    explode: false,
  },
];

const FIELD_SELECTION_PARAMETERS: Array<Record<string, unknown>> = [
  { name: 'fields', in: 'query', description: 'A list of fields to include in the response.', schema: { type: 'array', items: { type: 'string' } } },
  { name: 'exclude_fields', in: 'query', description: 'A list of fields to exclude from the response.', schema: { type: 'array', items: { type: 'string' } } },
];

/** `{file_file_repository_href}sync/` → [`file_file_repository_href`]. */
export function templateParams(openapiPath: string): string[] {
  return [...openapiPath.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
}

class Builder {
  readonly problems: string[] = [];
  readonly dtos = new DtoSchemaRegistry();
  readonly schemas: Record<string, JsonSchema> = baseSchemas();
  /** Response schemas known only by name: open objects, unless a DTO of that name documents them. */
  readonly placeholders: Record<string, JsonSchema> = {};

  constructor(private readonly opts: OpenApiBuildOptions) {}

  /** A reference to a named response schema; unknown names become open objects so refs resolve. */
  private named(name: string): JsonSchema {
    const n = componentName(name);
    if (this.schemas[n] === undefined && this.placeholders[n] === undefined) {
      this.placeholders[n] = /^Paginated/.test(n) ? this.paginatedSchema({ type: 'object' }) : { type: 'object', title: name };
    }
    return { $ref: SCHEMA_REF_PREFIX + n };
  }

  private responseSchema(spec: ResponseSpec, status: number): JsonSchema {
    if (typeof spec.schema === 'string') return this.named(spec.schema);
    if (spec.schema && typeof spec.schema === 'object') return spec.schema as JsonSchema;
    if (status === 202) return { $ref: SCHEMA_REF_PREFIX + ASYNC_RESPONSE };
    return { type: 'object' };
  }

  private paginatedSchema(item: JsonSchema): JsonSchema {
    const results = { type: 'array', items: item };
    return {
      type: 'object',
      required: ['count', 'results'],
      properties: {
        count: { type: 'integer', example: 123 },
        next: { type: ['string', 'null'], format: 'uri', example: 'http://api.example.org/accounts/?offset=400&limit=100' },
        previous: { type: ['string', 'null'], format: 'uri', example: 'http://api.example.org/accounts/?offset=200&limit=100' },
        results,
      },
    };
  }

  private paginated(item: JsonSchema, itemName: string | undefined): JsonSchema {
    if (itemName && /^Paginated/.test(itemName)) return item; // already a page schema
    const schema = this.paginatedSchema(item);
    if (!itemName) return schema;
    const name = componentName(`Paginated${itemName}List`);
    this.schemas[name] = schema;
    return { $ref: SCHEMA_REF_PREFIX + name };
  }

  private responses(ep: Endpoint, list: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const entries = Object.entries(ep.responses);
    if (entries.length === 0) this.problems.push(`${ep.operationId}: declares no responses`);
    for (const [code, spec] of entries) {
      const status = Number(code);
      const description = spec.description ?? STATUS_TEXT[status] ?? '';
      if (status === 204) {
        out[code] = { description };
        continue;
      }
      let schema = this.responseSchema(spec, status);
      if (list && status === 200) schema = this.paginated(schema, typeof spec.schema === 'string' ? spec.schema : undefined);
      out[code] = { description, content: { 'application/json': { schema } } };
    }
    return out;
  }

  private parameters(ep: Endpoint, list: boolean): Array<Record<string, unknown>> {
    const params: Array<Record<string, unknown>> = [];
    const names = templateParams(ep.openapiPath);
    for (const name of names) {
      if (name !== ep.hrefParam) this.problems.push(`${ep.operationId}: path template {${name}} is not its hrefParam (${ep.hrefParam ?? 'none'})`);
      params.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    }
    if (ep.hrefParam && !names.includes(ep.hrefParam)) this.problems.push(`${ep.operationId}: hrefParam ${ep.hrefParam} is not in ${ep.openapiPath}`);
    for (const h of ep.headerParams ?? []) params.push({ name: h, in: 'header', schema: { type: 'string' } });
    if (list) {
      params.push(...PAGINATION_PARAMETERS);
      params.push(...filterParameters((ep.filters ?? {}) as Record<string, { type: string; lookups?: FilterLookup[] }>));
    }
    // The router applies field selection to every GET response (http/field-selection.ts).
    if (list || ep.method === 'GET') params.push(...FIELD_SELECTION_PARAMETERS);
    for (const [name, type] of Object.entries(ep.queryParams ?? {})) params.push({ name, in: 'query', schema: { type } });
    // First declaration wins (a filter named like a standard parameter would otherwise appear twice).
    const seen = new Set<string>();
    return params.filter((p) => {
      const key = `${String(p.in)}:${String(p.name)}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  private requestBody(ep: Endpoint): Record<string, unknown> | undefined {
    if (!ep.body) return undefined;
    const ref = this.dtos.ref(ep.body.dto, ep.body.fileFields ?? []);
    const content: Record<string, unknown> = {};
    for (const enc of ep.body.encodings ?? DEFAULT_ENCODINGS) content[MEDIA_TYPES[enc]] = { schema: ref };
    return { required: ep.body.required ?? this.dtos.hasRequired(ep.body.dto), content };
  }

  operation(ep: Endpoint): Record<string, unknown> {
    const list = isListEndpoint(ep);
    const op: Record<string, unknown> = { tags: [ep.tag], operationId: ep.operationId };
    if (ep.summary) op.summary = ep.summary;
    const parameters = this.parameters(ep, list);
    if (parameters.length || list) op.parameters = parameters;
    const body = this.requestBody(ep);
    if (body) op.requestBody = body;
    op.responses = this.responses(ep, list);
    op.security = ep.anonymous ? SECURITY_ANONYMOUS : SECURITY_AUTHENTICATED;
    return op;
  }

  build(endpoints: Endpoint[]): OpenApiDocument {
    const exclude = this.opts.exclude ?? ((ep: Endpoint) => ep.openapiPath.startsWith(`${API_ROOT}docs/`));
    const paths: Record<string, Record<string, Record<string, unknown>>> = {};
    const ids = new Map<string, string>();
    for (const ep of endpoints) {
      if (exclude(ep)) continue;
      const method = ep.method.toLowerCase();
      const item = (paths[ep.openapiPath] ??= {});
      if (item[method]) {
        this.problems.push(`${ep.operationId}: ${ep.method} ${ep.openapiPath} is already declared by ${String(item[method]!.operationId)}`);
        continue;
      }
      const prev = ids.get(ep.operationId);
      if (prev) this.problems.push(`operationId ${ep.operationId} is used by ${prev} and ${ep.method} ${ep.openapiPath}`);
      ids.set(ep.operationId, `${ep.method} ${ep.openapiPath}`);
      item[method] = this.operation(ep);
    }
    const tags = [...new Set(endpoints.filter((e) => !exclude(e)).map((e) => e.tag))].sort().map((name) => ({ name }));
    const info: Record<string, unknown> = {
      title: 'Pulp 3 API',
      version: 'v3',
      description: 'Pith: a Pulp 3 compatible content-management platform. Generated from the running code.',
      'x-pulp-app-versions': { ...this.opts.componentVersions },
      'x-pulp-domain-enabled': false,
    };
    if (this.opts.pithVersion) info['x-pith-version'] = this.opts.pithVersion;
    return {
      openapi: '3.1.1',
      info,
      paths: sortKeys(paths),
      components: {
        schemas: sortKeys({ ...this.placeholders, ...this.dtos.schemas, ...this.schemas }),
        securitySchemes: SECURITY_SCHEMES,
      },
      tags,
    };
  }
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/**
 * Builds the OpenAPI 3.1.1 document from the endpoint declarations: the same objects the router
 * mounts, so the document cannot drift from what the server accepts.
 */
export function buildOpenApi(endpoints: Endpoint[], opts: OpenApiBuildOptions): OpenApiBuild {
  const b = new Builder(opts);
  const document = b.build(endpoints);
  for (const name of Object.keys(b.dtos.schemas)) {
    if (b.schemas[name] !== undefined) b.problems.push(`schema name ${name} is both a DTO and a response schema`);
  }
  return { document, problems: b.problems };
}
