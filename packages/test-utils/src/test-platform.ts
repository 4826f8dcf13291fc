import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { PluginDefinition } from '@pith/plugin-api';
import { Platform, TaskWorker, createApiApp, loadConfig, migrate, type PithConfig } from '@pith/platform';
import { Client } from 'pg';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { testPlugin } from './test-thing.plugin';

export const TEST_ADMIN_PASSWORD = 'test-admin-password';
const PG_ADMIN_URL = process.env.PITH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ApiResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export interface ApiRequestOptions {
  body?: unknown;
  /** urlencoded form fields */
  form?: Record<string, string>;
  multipart?: FormData;
  headers?: Record<string, string>;
  auth?: boolean;
  raw?: Buffer | string;
}

export interface TestPlatform {
  url: string;
  config: PithConfig;
  platform: Platform;
  workers: TaskWorker[];
  databaseUrl: string;
  mediaRoot: string;
  authHeader: string;
  api(method: string, path: string, opts?: ApiRequestOptions): Promise<ApiResponse>;
  /** Polls a task until it is final; returns its JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  waitTask(href: string, timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
}

export interface TestPlatformOptions {
  plugins?: PluginDefinition[];
  /** In-process task workers (default 1; 0 for none). */
  workers?: number;
  env?: Record<string, string>;
}

/** A fresh database name per call, so parallel jest workers never share state. */
function throwawayDbName(): string {
  return `pith_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

async function dropDatabase(name: string): Promise<void> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

/**
 * Boots a real platform for a test: throwaway PostgreSQL database (migrated), temp media root,
 * the API on a random 127.0.0.1 port and in-process workers using the real Redis.
 */
export async function startTestPlatform(opts: TestPlatformOptions = {}): Promise<TestPlatform> {
  const plugins = opts.plugins ?? [testPlugin];
  const dbName = throwawayDbName();
  const adminUrl = new URL(PG_ADMIN_URL);
  adminUrl.pathname = `/${dbName}`;
  const databaseUrl = adminUrl.toString();
  const mediaRoot = mkdtempSync(path.join(tmpdir(), 'pith-media-'));
  mkdirSync(path.join(mediaRoot, 'tmp'), { recursive: true });
  mkdirSync(path.join(mediaRoot, 'artifact'), { recursive: true });
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    PITH_MEDIA_ROOT: mediaRoot,
    PITH_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    PITH_LOG_LEVEL: process.env.PITH_TEST_LOG_LEVEL ?? 'error',
    PITH_ORPHAN_PROTECTION_TIME: '0',
    ...opts.env,
  });
  await migrate(config, plugins);
  const platform = await Platform.create(config, plugins, 'test');
  const app: INestApplication = await createApiApp(platform);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const workers: TaskWorker[] = [];
  for (let i = 0; i < (opts.workers ?? 1); i++) {
    const w = new TaskWorker(platform, `test-worker-${i}-${dbName}`);
    await w.start();
    workers.push(w);
  }
  const authHeader = 'Basic ' + Buffer.from(`admin:${TEST_ADMIN_PASSWORD}`).toString('base64');

  const api: TestPlatform['api'] = async (method, p, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.auth !== false) headers.Authorization ??= authHeader;
    let body: RequestInit['body'];
    if (o.raw !== undefined) body = o.raw;
    else if (o.multipart) body = o.multipart;
    else if (o.form) {
      body = new URLSearchParams(o.form).toString();
      headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
    } else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const target = /^https?:/.test(p) ? p : url + p;
    const res = await fetch(target, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text && (res.headers.get('content-type') ?? '').startsWith('application/json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  const waitTask: TestPlatform['waitTask'] = async (href, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await api('GET', href);
      if (r.status !== 200) throw new Error(`GET ${href} → ${r.status} ${r.text}`);
      if (['completed', 'failed', 'canceled', 'skipped'].includes(r.body.state)) return r.body;
      if (Date.now() > deadline) throw new Error(`task ${href} still ${r.body.state} after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  return {
    url, config, platform, workers, databaseUrl, mediaRoot, authHeader, api, waitTask,
    stop: async () => {
      await Promise.all(workers.map((w) => w.stop(2000)));
      await app.close();
      await platform.close();
      await dropDatabase(dbName).catch(() => undefined);
      rmSync(mediaRoot, { recursive: true, force: true });
    },
  };
}
