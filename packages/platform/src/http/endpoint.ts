import type { Request, Response } from 'express';
import type { ClassType, FilterSet, Json } from '@pith/plugin-api';
import type { AuthenticatedUser } from './auth';
import type { ReceivedFile } from './multipart';
import type { SqlFilterSet } from './sql-filters';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
export type BodyEncoding = 'json' | 'form' | 'multipart';

export interface BodySpec {
  /** class-validator DTO; undeclared fields are rejected with "Unexpected field". */
  dto: ClassType;
  /** Accepted encodings, in OpenAPI order. Default json, form, multipart. */
  encodings?: BodyEncoding[];
  /** Multipart file fields streamed to temp files (hashed while received). */
  fileFields?: string[];
  required?: boolean;
}

export interface ResponseSpec {
  description?: string;
  /** Component schema name, or an inline schema. */
  schema?: string | Record<string, unknown>;
}

/**
 * One REST operation. The router mounts it on Express, validates input and serializes errors; the
 * OpenAPI generator documents it from the same declaration.
 */
export interface Endpoint {
  method: HttpMethod;
  /** Express path, e.g. `/pulp/api/v3/tasks/:pulp_id/`. */
  path: string;
  /** Path as documented: literal collection paths, or `{<href param>}suffix` for detail routes. */
  openapiPath: string;
  /** Name of the whole-href path parameter (`task_href`). */
  hrefParam?: string;
  operationId: string;
  tag: string;
  summary?: string;
  body?: BodySpec;
  /**
   * List filters, documented as query parameters (declarative plugin filters or SQL filters);
   * `limit`, `offset`, `ordering`, `fields`, `exclude_fields` are always allowed on lists.
   */
  filters?: FilterSet | SqlFilterSet;
  /** Extra query parameters that are not filters (e.g. `minimal`). */
  queryParams?: Record<string, 'string' | 'integer' | 'boolean'>;
  list?: boolean;
  /** Header parameters (documented, e.g. Content-Range). */
  headerParams?: string[];
  responses: Record<number, ResponseSpec>;
  anonymous?: boolean;
  handler(ctx: RequestContext): Promise<HandlerResult>;
}

export interface HandlerResult {
  status: number;
  body?: Json | Record<string, unknown> | unknown[];
  headers?: Record<string, string>;
  /** Raw body already written by the handler. */
  raw?: boolean;
}

export interface RequestContext {
  req: Request;
  res: Response;
  params: Record<string, string>;
  /** Query string, single values collapsed (repeated keys kept as arrays). */
  query: Record<string, string | string[]>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  files: Record<string, ReceivedFile>;
  user: AuthenticatedUser | null;
  correlationId: string;
  /** `If-Match` header value, if any. */
  ifMatch: string | undefined;
  /** Absolute URL of this request without query (for pagination links). */
  absoluteUrl: string;
}
