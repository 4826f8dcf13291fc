import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort } from './pith-process';

/** The nginx binary (Debian installs it in /usr/sbin, which a non-root PATH may lack). */
export function nginxBinary(): string {
  for (const c of ['nginx', '/usr/sbin/nginx']) {
    if (spawnSync(c, ['-v']).status === 0) return c;
  }
  throw new Error('nginx is not installed: run scripts/ensure-test-deps.sh (Debian package nginx-light)');
}

export interface NginxOptions {
  /** `location` blocks (and other server-level directives) of the one server. */
  locations: string;
  /** Worker processes (default 1; `auto` = one per core). */
  workers?: number | 'auto';
  /** Extra http-level directives. */
  http?: string;
  /** Log requests to `<dir>/access.log` (read with `accessLog()`). */
  accessLog?: boolean;
}

export interface NginxInstance {
  url: string;
  port: number;
  dir: string;
  pid: number;
  proc: ChildProcess;
  errorLog(): string;
  /** Request paths logged so far (with `accessLog: true`), decoded as nginx logged them. */
  accessLog(): string[];
  stop(): Promise<void>;
}

/**
 * Runs a private nginx in the foreground on a free 127.0.0.1 port: config, pid, logs and temp
 * paths live in a fresh temp directory, removed by `stop()`. Served directories must be readable
 * by the worker user, so when running as root the workers stay root (it is a test fixture).
 */
export async function startNginx(opts: NginxOptions): Promise<NginxInstance> {
  const bin = nginxBinary();
  const dir = mkdtempSync(path.join(tmpdir(), 'pith-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, d));
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, `
${asRoot ? 'user root root;' : ''}
worker_processes ${opts.workers ?? 1};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  ${opts.accessLog ? `log_format pith '$request_uri'; access_log ${dir}/access.log pith;` : 'access_log off;'}
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${opts.http ?? ''}
  server {
    listen 127.0.0.1:${port};
    location = /__nginx_ready { return 204; }
    ${opts.locations}
  }
}
`);
  const errorLog = path.join(dir, 'error.log');
  const proc = spawn(bin, ['-p', dir, '-c', conf, '-e', errorLog, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  const readLog = () => read(errorLog);
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited (${proc.exitCode}): ${stderr}${readLog()}`);
    const up = await fetch(`${url}/__nginx_ready`).then((r) => (r.body?.cancel(), true), () => false);
    if (up) break;
    if (i > 200) throw new Error(`nginx did not start on ${url}: ${stderr}${readLog()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url,
    port,
    dir,
    pid: proc.pid!,
    proc,
    errorLog: readLog,
    // The access log is written per request (no buffer), so it is current when a response is read.
    accessLog: () => read(path.join(dir, 'access.log')).split('\n').filter(Boolean).map((l) => {
      try {
        return decodeURIComponent(l);
      } catch {
        return l;
      }
    }),
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** nginx serving a directory tree as static files. */
export function staticNginx(root: string, opts: { workers?: number | 'auto'; accessLog?: boolean } = {}): Promise<NginxInstance> {
  return startNginx({ ...opts, locations: `location / { root ${path.resolve(root)}; }` });
}

/**
 * nginx in front of a Pith content app with `PITH_CONTENT_X_ACCEL_REDIRECT=<internal>`: requests go
 * to the app, which answers with `X-Accel-Redirect`; the `internal` location sends the file from
 * the media root (the same layout as docker/nginx.conf).
 */
export function xAccelNginx(contentUrl: string, mediaRoot: string, internal = '/pith-media', workers: number | 'auto' = 1): Promise<NginxInstance> {
  return startNginx({
    workers,
    http: `upstream pith_content { server ${new URL(contentUrl).host}; keepalive 64; }`,
    locations: `
    location /pulp/content/ {
      proxy_pass http://pith_content;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
    }
    location ${internal}/ {
      internal;
      alias ${path.resolve(mediaRoot)}/;
    }`,
  });
}
