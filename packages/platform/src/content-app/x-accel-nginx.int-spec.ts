import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import { createContentServer, type ContentServer } from './content-server';

const hasNginx = spawnSync('nginx', ['-v']).status === 0;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** End to end with a real nginx in front (Debian package `nginx-light`); skipped when nginx is absent. */
(hasNginx ? describe : describe.skip)('content app behind nginx with X-Accel-Redirect', () => {
  let t: TestPlatform;
  let content: ContentServer;
  let nginx: ChildProcess;
  let dir: string;
  let url: string;
  const big = randomBytes(3 * 1024 * 1024 + 7);

  beforeAll(async () => {
    t = await startTestPlatform();
    content = await createContentServer(t.platform, { pollIntervalMs: 0, xAccelRedirect: '/pith-internal' });
    await new Promise<void>((r) => content.server.listen(0, '127.0.0.1', r));
    const contentPort = (content.server.address() as AddressInfo).port;

    const repo = (await t.api('POST', '/pulp/api/v3/repositories/test/thing/', { body: { name: 'nginx' } })).body;
    const a = await t.platform.artifacts.saveStream(Readable.from([big]));
    const [id] = await t.platform.content.saveBatch([{ pulpType: 'test.thing', detail: { name: 'big.bin', sha256: a.sha256 }, artifacts: [{ relativePath: 'big.bin', artifactId: a.pulp_id }] }]);
    await t.waitTask((await t.api('POST', `${repo.pulp_href}modify/`, { body: { add_content_units: [`/pulp/api/v3/content/test/things/${id}/`] } })).body.task);
    const guard = (await t.api('POST', '/pulp/api/v3/contentguards/core/header/', { body: { name: 'ng', header_name: 'X-Key', header_value: 'k' } })).body;
    await t.api('POST', '/pulp/api/v3/distributions/test/direct/', { body: { name: 'ng-open', base_path: 'ng/open', repository: repo.pulp_href } });
    await t.api('POST', '/pulp/api/v3/distributions/test/direct/', { body: { name: 'ng-guarded', base_path: 'ng/guarded', repository: repo.pulp_href, content_guard: guard.pulp_href } });

    dir = mkdtempSync(path.join(tmpdir(), 'pith-nginx-'));
    const port = await freePort();
    writeFileSync(path.join(dir, 'nginx.conf'), `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /pulp/content/ { proxy_pass http://127.0.0.1:${contentPort}; proxy_set_header Host $host; }
    location /pith-internal/ { internal; alias ${t.mediaRoot}/; }
  }
}
`);
    nginx = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
    url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${url}/pulp/content/`).then(() => true, () => false);
      if (ok) break;
      if (i > 100) throw new Error('nginx did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(async () => {
    nginx?.kill('SIGTERM');
    await content?.stop();
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('nginx sends the bytes (and ranges) the app resolved and authorized', async () => {
    let r = await fetch(`${url}/pulp/content/ng/open/big.bin`);
    expect(r.status).toBe(200);
    const body = Buffer.from(await r.arrayBuffer());
    expect(sha(body)).toBe(sha(big));
    expect(r.headers.get('x-accel-redirect')).toBeNull();
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    r = await fetch(`${url}/pulp/content/ng/open/big.bin`, { headers: { Range: 'bytes=100-199' } });
    expect(r.status).toBe(206);
    expect(Buffer.from(await r.arrayBuffer()).equals(big.subarray(100, 200))).toBe(true);
    r = await fetch(`${url}/pulp/content/ng/guarded/big.bin`);
    expect(r.status).toBe(403);
    r = await fetch(`${url}/pulp/content/ng/guarded/big.bin`, { headers: { 'X-Key': 'k' } });
    expect(r.status).toBe(200);
    expect((await r.arrayBuffer()).byteLength).toBe(big.length);
    // The internal location is not reachable from outside.
    const s = sha(big);
    expect((await fetch(`${url}/pith-internal/artifact/${s.slice(0, 2)}/${s.slice(2)}`)).status).toBe(404);
  });
});
