import * as http from 'node:http';
import type { Platform } from '../platform';
import { startAppHeartbeat } from './app-heartbeat';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The content app process (`pith content`). This version serves the distribution index at the
 * content path prefix; serving artifacts through distributions is layered on by the content
 * handler (publications/distributions work).
 */
export async function createContentServer(p: Platform): Promise<{ server: http.Server; stop: () => Promise<void> }> {
  const prefix = p.config.PITH_CONTENT_PATH_PREFIX;
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      if (url.pathname === prefix) {
        const rows = await p.db.query<{ base_path: string }>(
          'SELECT base_path FROM core_distribution WHERE NOT hidden ORDER BY base_path',
        );
        const tops = [...new Set(rows.map((r) => r.base_path.split('/')[0]!))];
        const items = tops.map((t) => `<a href="${escapeHtml(encodeURI(t))}/">${escapeHtml(t)}/</a>`).join('\n');
        const body = `<html><head><title>Index of ${escapeHtml(prefix)}</title></head><body><h1>Index of ${escapeHtml(prefix)}</h1><hr><pre>\n${items}\n</pre><hr></body></html>\n`;
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache', 'Content-Length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(req.method === 'HEAD' ? undefined : '404: Not Found\n');
    })().catch((e) => {
      p.logger.error('content request failed', { error: (e as Error).stack });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  const stopBeat = startAppHeartbeat(p, 'content', 30);
  return {
    server,
    stop: async () => {
      await stopBeat();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
