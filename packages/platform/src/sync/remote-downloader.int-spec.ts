import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RemoteInfo } from '@pith/plugin-api';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import { DownloadError } from './download.error';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** A route table on 127.0.0.1 (http or https) that records every request. */
class Server {
  readonly routes = new Map<string, Handler>();
  readonly seen: Seen[] = [];
  url = '';
  constructor(private readonly server: http.Server | https.Server) {
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.seen.push({ path: req.url ?? '', headers: req.headers });
      const h = this.routes.get(req.url ?? '');
      if (h) h(req, res);
      else res.writeHead(404).end();
    });
  }

  async start(scheme = 'http'): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `${scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  file(p: string, data: Buffer): void {
    this.routes.set(p, (_req, res) => res.writeHead(200, { 'content-length': data.length }).end(data));
  }

  count(p: string): number {
    return this.seen.filter((s) => s.path === p).length;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

describe('remote downloader', () => {
  let t: TestPlatform;
  let up: Server;
  let other: Server;
  let importDir: string;
  let outsideDir: string;

  const remote = (over: Partial<RemoteInfo> = {}): RemoteInfo => ({
    pulp_id: randomUUID(), pulp_type: 'test.thing', href: '/pulp/api/v3/remotes/test/thing/x/', name: 'r', url: up.url,
    policy: 'immediate', download_concurrency: null, max_retries: null, headers: [], username: null, password: null,
    tls_validation: true, ca_cert: null, client_cert: null, client_key: null, proxy_url: null, proxy_username: null,
    proxy_password: null, total_timeout: null, connect_timeout: null, sock_connect_timeout: null, sock_read_timeout: null,
    rate_limit: null, detail: {}, ...over,
  });

  const failure = async (p: Promise<unknown>): Promise<DownloadError> => {
    const e = await p.then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(DownloadError);
    return e as DownloadError;
  };

  const tmpFiles = () => readdirSync(path.join(t.mediaRoot, 'tmp'));

  beforeAll(async () => {
    importDir = mkdtempSync(path.join(tmpdir(), 'pith-import-'));
    outsideDir = mkdtempSync(path.join(tmpdir(), 'pith-outside-'));
    t = await startTestPlatform({ workers: 0, env: { PITH_ALLOWED_IMPORT_PATHS: importDir } });
    up = await new Server(http.createServer()).start();
    other = await new Server(http.createServer()).start();
  });
  afterAll(async () => {
    await up?.stop();
    await other?.stop();
    await t?.stop();
    rmSync(importDir, { recursive: true, force: true });
    rmSync(outsideDir, { recursive: true, force: true });
  });

  it('stores a verified download with every configured digest', async () => {
    const data = randomBytes(70_000);
    up.file('/a.bin', data);
    const d = t.platform.sync.downloader(remote());
    const a = await d.download('a.bin', { sha256: sha256(data), sha512: sha512(data), size: data.length });
    expect(a).toMatchObject({ sha256: sha256(data), sha512: sha512(data), size: data.length });
    expect(a.sha224).toMatch(/^[0-9a-f]{56}$/);
    expect(readFileSync(path.join(t.mediaRoot, a.file)).equals(data)).toBe(true);
    // Without expectations the file is still hashed and stored.
    const again = await d.download(`${up.url}a.bin`);
    expect(again.pulp_id).toBe(a.pulp_id);
    expect(tmpFiles()).toEqual([]);
  });

  it('hashes large files on worker threads, several at once', async () => {
    const files = Array.from({ length: 4 }, () => randomBytes(3 * 1024 * 1024 + 17));
    files.forEach((f, i) => up.file(`/big-${i}`, f));
    const d = t.platform.sync.downloader(remote());
    const got = await Promise.all(files.map((f, i) => d.download(`big-${i}`, { sha256: sha256(f), size: f.length })));
    got.forEach((a, i) => {
      expect(a.sha512).toBe(sha512(files[i]!));
      expect(readFileSync(path.join(t.mediaRoot, a.file)).equals(files[i]!)).toBe(true);
    });
    // A large body that does not match is refused and leaves nothing behind.
    const e = await failure(t.platform.sync.downloader(remote({ max_retries: 0 })).download('big-0', { sha256: sha256(files[1]!) }));
    expect(e.message).toContain('sha256 checksum mismatch');
    expect(tmpFiles()).toEqual([]);
  });

  it('sends headers everywhere but credentials only to the remote origin, across redirects too', async () => {
    const data = randomBytes(1000);
    up.file('/auth.bin', data);
    other.file('/elsewhere.bin', data);
    up.routes.set('/hop', (_req, res) => res.writeHead(302, { location: '/auth.bin' }).end());
    up.routes.set('/away', (_req, res) => res.writeHead(301, { location: `${other.url}elsewhere.bin` }).end());
    const d = t.platform.sync.downloader(remote({ username: 'alice', password: 's3cret', headers: [{ 'X-Custom': 'yes' }, { 'X-Other': '2' }] }));
    await d.download('hop', { sha256: sha256(data) });
    const direct = up.seen.filter((s) => s.path === '/hop' || s.path === '/auth.bin');
    expect(direct).toHaveLength(2);
    for (const s of direct) {
      expect(s.headers.authorization).toBe('Basic ' + Buffer.from('alice:s3cret').toString('base64'));
      expect(s.headers['x-custom']).toBe('yes');
      expect(s.headers['x-other']).toBe('2');
    }
    await d.download('away', { sha256: sha256(data) });
    const foreign = other.seen.find((s) => s.path === '/elsewhere.bin')!;
    expect(foreign.headers.authorization).toBeUndefined();
    expect(foreign.headers['x-custom']).toBe('yes');
    // Too many redirects fail without retrying.
    up.routes.set('/loop', (_req, res) => res.writeHead(302, { location: '/loop' }).end());
    const e = await failure(d.download('loop'));
    expect(e.message).toBe(`Download of ${up.url}loop failed: more than 10 redirects`);
    expect(up.count('/loop')).toBe(11);
  });

  it('fails at once on 4xx, retries 5xx and network errors, with the URL and reason', async () => {
    up.routes.set('/gone', (_req, res) => res.writeHead(410).end('gone'));
    const d = t.platform.sync.downloader(remote({ max_retries: 2 }));
    expect((await failure(d.download('gone'))).message).toBe(`Download of ${up.url}gone failed: HTTP 410`);
    expect(up.count('/gone')).toBe(1);

    up.routes.set('/flaky', (_req, res) => res.writeHead(502).end());
    const e = await failure(d.download('flaky'));
    expect(e.message).toBe(`Download of ${up.url}flaky failed after 3 attempts: HTTP 502`);
    expect(e.status).toBe(502);

    // A connection cut in the middle of the body is retried.
    const data = randomBytes(5000);
    let cut = 1;
    up.routes.set('/cut', (req, res) => {
      if (cut-- > 0) {
        res.writeHead(200, { 'content-length': data.length });
        res.write(data.subarray(0, 100));
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      res.writeHead(200, { 'content-length': data.length }).end(data);
    });
    expect((await d.download('cut', { sha256: sha256(data) })).sha256).toBe(sha256(data));
    expect(up.count('/cut')).toBe(2);

    // Nothing listening: connection refused, retried, then reported.
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = await failure(t.platform.sync.downloader(remote({ url: `http://127.0.0.1:${port}/`, max_retries: 1 })).download('x'));
    expect(refused.message).toMatch(new RegExp(`^Download of http://127\\.0\\.0\\.1:${port}/x failed after 2 attempts: .*ECONNREFUSED`));
    expect(tmpFiles()).toEqual([]);
  });

  it('refuses sizes that do not match, also before and while reading the body', async () => {
    const data = randomBytes(4000);
    up.file('/sized', data);
    const d = t.platform.sync.downloader(remote({ max_retries: 0 }));
    expect((await failure(d.download('sized', { size: 3999 }))).message).toBe(
      `Download of ${up.url}sized failed: size mismatch (expected 3999 bytes, server announced 4000)`,
    );
    // No content-length (chunked): cut off as soon as it exceeds the expected size.
    up.routes.set('/endless', (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write(randomBytes(64 * 1024)), 1);
      res.on('close', () => clearInterval(timer));
    });
    expect((await failure(d.download('endless', { size: 100_000 }))).message).toBe(
      `Download of ${up.url}endless failed: size mismatch (expected 100000 bytes, received more)`,
    );
    expect(tmpFiles()).toEqual([]);
  });

  it('applies read and total timeouts', async () => {
    up.routes.set('/stall', (_req, res) => {
      res.writeHead(200, { 'content-length': 10 });
      res.write('12345');
    });
    const slow = await failure(t.platform.sync.downloader(remote({ sock_read_timeout: 0.3, max_retries: 1 })).download('stall'));
    expect(slow.message).toMatch(/failed after 2 attempts: .*(UND_ERR_BODY_TIMEOUT|Body Timeout)/);
    const total = await failure(t.platform.sync.downloader(remote({ total_timeout: 0.4, max_retries: 0 })).download('stall'));
    expect(total.message).toBe(`Download of ${up.url}stall failed: timed out after 0.4 s (total_timeout)`);
  });

  it('spaces requests to rate_limit and streams metadata with open()', async () => {
    up.routes.set('/meta', (_req, res) => res.end('line1\nline2\n'));
    const d = t.platform.sync.downloader(remote({ rate_limit: 5 }));
    const started = Date.now();
    const bodies = await Promise.all(Array.from({ length: 6 }, async () => {
      const chunks: Buffer[] = [];
      for await (const c of (await d.open('meta')) as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks).toString();
    }));
    expect(bodies.every((b) => b === 'line1\nline2\n')).toBe(true);
    // Six starts at 5/s: the last one no earlier than 1 s after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    let fails = 2;
    up.routes.set('/meta-flaky', (_req, res) => (fails-- > 0 ? res.writeHead(503).end() : res.end('ok')));
    const s = await t.platform.sync.downloader(remote()).open('meta-flaky');
    const chunks: Buffer[] = [];
    for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe('ok');
    expect(up.count('/meta-flaky')).toBe(3);
  });

  it('reads file:// only below PITH_ALLOWED_IMPORT_PATHS', async () => {
    const data = randomBytes(2048);
    mkdirSync(path.join(importDir, 'sub'), { recursive: true });
    writeFileSync(path.join(importDir, 'sub', 'ok.bin'), data);
    writeFileSync(path.join(outsideDir, 'secret.bin'), data);
    symlinkSync(path.join(outsideDir, 'secret.bin'), path.join(importDir, 'sub', 'escape.bin'));
    const base = pathToFileURL(importDir + '/').toString();
    const d = t.platform.sync.downloader(remote({ url: base }));
    expect((await d.download('sub/ok.bin', { sha256: sha256(data) })).sha256).toBe(sha256(data));
    const escape = await failure(d.download('sub/escape.bin'));
    expect(escape.message).toContain('not under any of the allowed import paths');
    const outside = await failure(d.download(pathToFileURL(path.join(outsideDir, 'secret.bin')).toString()));
    expect(outside.message).toContain('not under any of the allowed import paths');
    const traversal = await failure(d.download('sub/../../' + path.basename(outsideDir) + '/secret.bin'));
    expect(traversal.message).toContain('not under any of the allowed import paths');
    expect((await failure(d.download('sub/missing.bin'))).message).toBe(`Download of ${base}sub/missing.bin failed: file not found`);
  });

  it('goes through an authenticating proxy', async () => {
    const data = randomBytes(3000);
    up.file('/via-proxy', data);
    const tunnels: Array<{ target: string; auth?: string }> = [];
    const sockets: net.Socket[] = [];
    const proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      sockets.push(client);
      tunnels.push({ target: req.url ?? '', auth: req.headers['proxy-authorization'] });
      if (req.headers['proxy-authorization'] !== 'Basic ' + Buffer.from('px:pw').toString('base64')) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
        return;
      }
      const [host, port] = (req.url ?? '').split(':');
      const s = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        s.write(head);
        s.pipe(client);
        client.pipe(s);
      });
      s.on('error', () => client.destroy());
      client.on('error', () => s.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const d = t.platform.sync.downloader(remote({ proxy_url: proxyUrl, proxy_username: 'px', proxy_password: 'pw' }));
      expect((await d.download('via-proxy', { sha256: sha256(data) })).sha256).toBe(sha256(data));
      expect(tunnels[0]).toMatchObject({ target: new URL(up.url).host });
      const denied = await failure(t.platform.sync.downloader(remote({ proxy_url: proxyUrl, max_retries: 0 })).download('via-proxy'));
      expect(denied.message).toContain(`Download of ${up.url}via-proxy failed`);
    } finally {
      for (const s of sockets) s.destroy();
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('validates TLS with the remote CA, presents client certificates, or skips validation when told', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pith-tls-'));
    const cert = (name: string, subject: string) => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`), '-subj', subject,
        '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      return { key: readFileSync(path.join(dir, `${name}.key`), 'utf8'), cert: readFileSync(path.join(dir, `${name}.crt`), 'utf8') };
    };
    const server = cert('server', '/CN=127.0.0.1');
    const client = cert('client', '/CN=pith-client');
    rmSync(dir, { recursive: true, force: true });
    const secure = await new Server(https.createServer({ key: server.key, cert: server.cert, ca: client.cert, requestCert: true, rejectUnauthorized: false })).start('https');
    const data = randomBytes(1500);
    const clients: string[] = [];
    secure.routes.set('/tls.bin', (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      clients.push(String(peer?.subject?.CN ?? 'none'));
      res.writeHead(200, { 'content-length': data.length }).end(data);
    });
    try {
      const untrusted = await failure(t.platform.sync.downloader(remote({ url: secure.url, max_retries: 3 })).download('tls.bin'));
      expect(untrusted.message).toMatch(/self.signed|certificate/i);
      expect(untrusted.attempts).toBe(1);
      expect(secure.count('/tls.bin')).toBe(0);

      const trusted = t.platform.sync.downloader(remote({ url: secure.url, ca_cert: server.cert, client_cert: client.cert, client_key: client.key }));
      expect((await trusted.download('tls.bin', { sha256: sha256(data) })).sha256).toBe(sha256(data));

      const lax = t.platform.sync.downloader(remote({ url: secure.url, tls_validation: false }));
      expect((await lax.download('tls.bin', { sha256: sha256(data) })).sha256).toBe(sha256(data));
      expect(clients).toEqual(['pith-client', 'none']);
    } finally {
      await secure.stop();
    }
  });

  it('keeps to download_concurrency for direct downloads', async () => {
    let active = 0;
    let max = 0;
    const data = randomBytes(100);
    for (let i = 0; i < 12; i++) {
      up.routes.set(`/c${i}`, (_req, res) => {
        active++;
        max = Math.max(max, active);
        setTimeout(() => {
          active--;
          res.writeHead(200, { 'content-length': data.length }).end(data);
        }, 30);
      });
    }
    const d = t.platform.sync.downloader(remote({ download_concurrency: 2 }));
    await Promise.all(Array.from({ length: 12 }, (_, i) => d.download(`c${i}`, { sha256: sha256(data) })));
    expect(max).toBe(2);
  });
});
