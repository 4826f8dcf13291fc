import * as http from 'node:http';
import type { Platform } from '../platform';
import { startAppHeartbeat } from '../app/app-heartbeat';
import { permit } from '../distributions/content-guard.service';
import { escapeLike, isSafeRelativePath, pathAncestors } from '../publications/relative-path';
import { DistributionCache } from './distribution-cache';
import { ContentResolver, type Resolution } from './content-resolver';
import { renderListing, type ListingEntry } from './directory-listing';
import { FileMissingError, sendFile, type SendOptions } from './file-sender';
import { LruCache } from './lru-cache';
import { OnDemandFetcher, type ContentSources } from './on-demand-fetcher';

export interface ContentServerOptions {
  /** Cache invalidation poll interval (ms); 0 disables polling. Default 1000. */
  pollIntervalMs?: number;
  /** Remotes and downloaders for on-demand content (default: the platform's sync service). */
  sources?: () => ContentSources | undefined;
  /** Overrides PITH_CONTENT_X_ACCEL_REDIRECT (null = off). */
  xAccelRedirect?: string | null;
  /** Bytes of small files kept in memory (default 32 MiB). */
  memoryCacheBytes?: number;
}

export interface ContentServer {
  server: http.Server;
  /** Forgets cached distributions and targets now (tests; the poller does it within a second). */
  invalidate(): void;
  stop(): Promise<void>;
}

/** Deepest request path looked up (one `base_path = ANY(...)` entry per segment). */
const MAX_DEPTH = 64;

function plain(res: http.ServerResponse, status: number, body: string, head: boolean, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache', ...extra });
  res.end(head ? undefined : body);
}

function redirect(res: http.ServerResponse, location: string): void {
  res.writeHead(301, { Location: location, 'Content-Length': 0, 'Cache-Control': 'no-cache' });
  res.end();
}

function html(res: http.ServerResponse, body: string, head: boolean): void {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
  res.end(head ? undefined : body);
}

/**
 * The content app (`pith content`): plain node:http, no framework, because this is the hot path.
 * Per request: one cached base-path lookup (`DistributionCache`), the guard check, one cached path
 * resolution (`ContentResolver`), then the file send (small files from memory, large ones streamed)
 * or, with PITH_CONTENT_X_ACCEL_REDIRECT, an `X-Accel-Redirect` header for nginx in front.
 */
export async function createContentServer(p: Platform, opts: ContentServerOptions = {}): Promise<ContentServer> {
  const prefix = p.config.PITH_CONTENT_PATH_PREFIX;
  const prefixBare = prefix.replace(/\/$/, '');
  const distributions = new DistributionCache(p, opts.pollIntervalMs ?? 1000);
  const resolver = new ContentResolver(p);
  const xAccel = opts.xAccelRedirect !== undefined ? opts.xAccelRedirect : p.config.PITH_CONTENT_X_ACCEL_REDIRECT;
  const send: SendOptions = {
    localPath: (file) => p.artifacts.localPath(file),
    xAccelPrefix: xAccel ? xAccel.replace(/\/+$/, '') : null,
    memory: new LruCache<string, Buffer>(100_000, opts.memoryCacheBytes ?? p.config.PITH_CONTENT_MEMORY_CACHE, (b) => b.length + 64),
  };
  const fetcher = new OnDemandFetcher(p, opts.sources ?? (() => p.sync), send);

  /** Non-hidden base paths below `dir` (`''` = all), as listing entries of their next segment. */
  const basePathChildren = async (dir: string): Promise<ListingEntry[]> => {
    const rows = await p.db.query<{ name: string; is_dir: boolean }>(
      `SELECT split_part(substr(base_path, length($2::text) + 1), '/', 1) AS name,
              bool_or(strpos(substr(base_path, length($2::text) + 1), '/') > 0) AS is_dir
         FROM core_distribution WHERE NOT hidden AND base_path LIKE $1 ESCAPE '\\'
        GROUP BY 1 ORDER BY 1 LIMIT 100000`,
      [`${escapeLike(dir)}%`, dir],
    );
    // Every entry is a directory to the client: a distribution's base path lists its content.
    return rows.map((r) => ({ name: r.name, isDir: true, size: null, modified: null }));
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    if (method !== 'GET' && !head) {
      plain(res, 405, '405: Method Not Allowed\n', false, { Allow: 'GET, HEAD' });
      return;
    }
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q >= 0 ? raw.slice(0, q) : raw;
    const query = q >= 0 ? raw.slice(q) : '';
    if (rawPath === prefixBare) return redirect(res, prefix + query);
    if (!rawPath.startsWith(prefix)) return plain(res, 404, '404: Not Found\n', head);
    let rel: string;
    try {
      rel = decodeURIComponent(rawPath.slice(prefix.length));
    } catch {
      return plain(res, 400, '400: Bad Request (invalid percent-encoding)\n', head);
    }
    if (rel === '') return html(res, renderListing(prefix, await basePathChildren(''), false), head);
    const dir = rel.endsWith('/');
    const clean = dir ? rel.slice(0, -1) : rel;
    // `..`, `.`, empty segments and NUL never name anything we serve.
    if (!isSafeRelativePath(clean)) return plain(res, 404, '404: Not Found\n', head);
    const ancestors = pathAncestors(clean);
    if (ancestors.length > MAX_DEPTH) return plain(res, 404, '404: Not Found\n', head);

    const dist = await distributions.find(ancestors);
    if (!dist) {
      // Above base paths: a directory of the distributions below, or nothing.
      const children = await basePathChildren(`${clean}/`);
      if (!children.length) return plain(res, 404, '404: Not Found\n', head);
      if (!dir) return redirect(res, `${rawPath}/${query}`);
      return html(res, renderListing(`${prefix}${rel}`, children, true), head);
    }
    if (dist.guard) {
      const reason = permit(dist.guard, { url: raw, headers: req.headers });
      if (reason) return plain(res, 403, `403: ${reason}\n`, head);
    }
    const sub = clean === dist.basePath ? '' : clean.slice(dist.basePath.length + 1);
    if (sub === '' && !dir) return redirect(res, `${rawPath}/${query}`);
    const target = await distributions.target(dist);
    if (target.kind === 'none') return plain(res, 404, `404: ${target.reason}\n`, head);

    for (let attempt = 0; ; attempt++) {
      const r: Resolution = await resolver.resolve(target, sub, dir);
      switch (r.kind) {
        case 'missing':
          return plain(res, 404, '404: Not Found\n', head);
        case 'directory':
          return redirect(res, `${rawPath}/${query}`);
        case 'listing':
          return html(res, renderListing(`${prefix}${rel}`, r.entries, true), head);
        case 'ondemand':
          return fetcher.serve(req, res, r.artifact);
        case 'file':
          try {
            await sendFile(req, res, r.file, send);
            return;
          } catch (e) {
            if (!(e instanceof FileMissingError)) throw e;
            // Reclaimed or damaged since it was cached: resolve again once (it may be on-demand now).
            resolver.forget(target, sub);
            if (attempt > 0) {
              p.logger.warn('artifact file missing from storage', { file: r.file.file, path: rel });
              return plain(res, 404, '404: The artifact file is missing from storage.\n', head);
            }
          }
      }
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      p.logger.error('content request failed', { url: req.url, error: (e as Error)?.stack ?? String(e) });
      if (!res.headersSent) plain(res, 500, '500: Internal Server Error\n', req.method === 'HEAD');
      else res.destroy();
    });
  });
  // Keep-alive connections outlive typical client think time without pinning sockets forever.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await distributions.poll();
  distributions.start();
  const stopBeat = startAppHeartbeat(p, 'content', 30);
  return {
    server,
    invalidate: () => distributions.invalidate(),
    stop: async () => {
      await stopBeat();
      await distributions.stop();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections?.();
      });
    },
  };
}
