import express, { type Express, type Request, type Response } from 'express';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID, createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import type { Endpoint, RequestContext, HandlerResult } from './endpoint';
import { ApiError, badRequest } from './errors';
import type { BasicAuthenticator, AuthenticatedUser } from './auth';
import { coerceFormValues, validateBody } from './validation';
import { receiveMultipart, type ReceivedFile } from './multipart';
import type { DigestName } from '../storage/hashing';
import type { Logger } from '../logging/logger';
import { applyFieldSelection } from './field-selection';
import { requestHost } from './hrefs';

export interface RouterOptions {
  auth: BasicAuthenticator;
  logger: Logger;
  maxJsonBody: number;
  tempPath: () => string;
  digests: readonly DigestName[];
  apiPrefix: string;
}

const CID_RE = /^[0-9a-fA-F]{32}$/;

/** pulp-glue requires the exact header value `application/json` (no charset). */
export function sendJson(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.status(status);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (status === 204 || body === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Strong ETag of a resource version, derived from its id and last-update time. */
export function etagFor(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.pulp_href !== 'string' || b.pulp_last_updated === undefined) return undefined;
  const h = createHash('sha1').update(`${b.pulp_href}|${String(b.pulp_last_updated)}`).digest('base64url');
  return `"${h.slice(0, 22)}"`;
}

async function readRawBody(req: Request, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ApiError(413, { detail: `Request body larger than ${limit} bytes.` });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function flattenQuery(req: Request): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const u = new URL(req.originalUrl, 'http://x');
  for (const [k, v] of u.searchParams) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * Mounts declared endpoints on Express: correlation id, auth, body decoding and validation,
 * exact JSON responses and DRF-shaped errors. Unknown API paths get a JSON 404.
 */
export function mountEndpoints(app: Express, endpoints: Endpoint[], opts: RouterOptions): void {
  const router = express.Router({ strict: true, caseSensitive: true });

  for (const ep of endpoints) {
    const method = ep.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';
    router[method](ep.path, (req: Request, res: Response) => {
      const host = (req.header('x-forwarded-host') ?? req.header('host') ?? 'localhost').split(',')[0]!.trim();
      requestHost.run(host, () => void handle(ep, req, res, opts));
    });
  }
  app.use((req, res, next) => {
    const incoming = req.header('correlation-id');
    const cid = incoming && CID_RE.test(incoming) ? incoming : randomUUID().replace(/-/g, '');
    res.locals.correlationId = cid;
    res.setHeader('Correlation-ID', cid);
    next();
  });
  app.use(router);
  app.use(opts.apiPrefix, (req, res) => {
    const known = endpoints.some((e) => pathMatches(e.path, req.baseUrl + req.path));
    if (known) sendJson(res, 405, { detail: `Method "${req.method}" not allowed.` });
    else sendJson(res, 404, { detail: 'Not found.' });
  });
}

/**
 * Requests Node's HTTP parser refuses before any route runs (request line + headers over the
 * 16 KiB limit, malformed syntax) get a JSON error too, instead of a bare status line.
 */
export function jsonClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const detail = status === 431 ? 'Request line and headers are too large.' : status === 408 ? 'Request timeout.' : 'Malformed HTTP request.';
    const body = JSON.stringify({ detail });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

function pathMatches(pattern: string, path: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[a-z_]+/gi, '[^/]+') + '$');
  return re.test(path);
}

async function handle(ep: Endpoint, req: Request, res: Response, opts: RouterOptions): Promise<void> {
  const started = process.hrtime.bigint();
  const files: Record<string, ReceivedFile> = {};
  const cid = res.locals.correlationId as string;
  try {
    let user: AuthenticatedUser | null = null;
    const authz = req.header('authorization');
    if (!ep.anonymous || authz) {
      try {
        user = await opts.auth.authenticate(authz);
      } catch (e) {
        if (!ep.anonymous) throw e;
      }
    }
    const query = flattenQuery(req);
    let body: unknown = undefined;
    if (ep.body) body = await decodeBody(ep, req, opts, files);
    else if (['POST', 'PUT', 'PATCH'].includes(ep.method) && Number(req.header('content-length') ?? 0) > 0) {
      await readRawBody(req, opts.maxJsonBody); // drain; endpoints without a body ignore it
    }
    const proto = (req.header('x-forwarded-proto') ?? req.protocol).split(',')[0]!.trim();
    const host = req.header('x-forwarded-host') ?? req.header('host') ?? 'localhost';
    const ctx: RequestContext = {
      req,
      res,
      params: req.params as Record<string, string>,
      query,
      body,
      files,
      user,
      correlationId: cid,
      ifMatch: req.header('if-match'),
      absoluteUrl: `${proto}://${host}${req.baseUrl}${req.path}`,
    };
    const result: HandlerResult = await ep.handler(ctx);
    if (result.raw) return;
    const headers = { ...(result.headers ?? {}) };
    const etag = ep.method === 'GET' || ep.method === 'PUT' || ep.method === 'PATCH' ? etagFor(result.body) : undefined;
    if (etag) headers.ETag = etag;
    // `fields` / `exclude_fields` slim down any GET (applying twice is harmless).
    const selected = ep.method === 'GET' ? applyFieldSelection(result.body, query) : result.body;
    sendJson(res, result.status, selected, headers);
  } catch (e) {
    sendError(res, e, opts.logger, ep, cid);
  } finally {
    await Promise.all(Object.values(files).map((f) => unlink(f.path).catch(() => undefined)));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    opts.logger.debug('request', { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, cid });
  }
}

async function decodeBody(ep: Endpoint, req: Request, opts: RouterOptions, files: Record<string, ReceivedFile>): Promise<unknown> {
  const spec = ep.body!;
  const encodings = spec.encodings ?? ['json', 'form', 'multipart'];
  const type = (req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const length = Number(req.header('content-length') ?? 0);
  const chunked = req.header('transfer-encoding') !== undefined;
  let plain: Record<string, unknown>;
  if (!type && length === 0 && !chunked) {
    plain = {};
  } else if (type === 'application/json' && encodings.includes('json')) {
    const raw = await readRawBody(req, opts.maxJsonBody);
    if (raw.length === 0) plain = {};
    else {
      try {
        plain = JSON.parse(raw.toString('utf8'));
      } catch (e) {
        throw badRequest(`JSON parse error - ${(e as Error).message}`);
      }
    }
    return validateBody(spec.dto, plain);
  } else if (type === 'application/x-www-form-urlencoded' && encodings.includes('form')) {
    const raw = await readRawBody(req, opts.maxJsonBody);
    plain = {};
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) plain[k] = v;
    plain = coerceFormValues(spec.dto, plain);
  } else if (type === 'multipart/form-data' && encodings.includes('multipart')) {
    const r = await receiveMultipart(req, {
      fileFields: spec.fileFields ?? [],
      tempPath: opts.tempPath,
      digests: opts.digests,
      maxFieldBytes: opts.maxJsonBody,
    });
    Object.assign(files, r.files);
    plain = coerceFormValues(spec.dto, r.fields);
    for (const name of Object.keys(r.files)) plain[name] = r.files[name];
  } else {
    throw new ApiError(415, { detail: `Unsupported media type "${type}" in request.` });
  }
  return validateBody(spec.dto, plain);
}

function sendError(res: Response, e: unknown, logger: Logger, ep: Endpoint, cid: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (e instanceof ApiError) {
    if (e.status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="api"');
    sendJson(res, e.status, e.body);
    return;
  }
  const pg = e as { code?: string; detail?: string };
  if (pg.code === '23505') {
    sendJson(res, 400, { detail: `A conflicting object already exists${pg.detail ? `: ${pg.detail}` : '.'}` });
    return;
  }
  if (pg.code === '22P02' || pg.code === '22003' || pg.code === '22001') {
    sendJson(res, 400, { detail: 'Invalid value in request.' });
    return;
  }
  logger.error('unhandled error', { operationId: ep.operationId, error: (e as Error)?.stack ?? String(e), cid });
  sendJson(res, 500, { detail: 'Internal server error.' });
}
