import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const PITH_BIN = path.resolve(__dirname, '../../apps/core/dist/main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface PithInstance {
  apiUrl: string;
  contentUrl: string;
  env: Record<string, string>;
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  dropDatabase(): Promise<void>;
}

/** Runs `pith start` as a real process tree against a throwaway database. */
export async function startPith(extraEnv: Record<string, string> = {}): Promise<PithInstance> {
  const db = `pith_e2e_${process.pid}_${randomBytes(3).toString('hex')}`;
  const apiPort = await freePort();
  const contentPort = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${db}`,
    PITH_API_PORT: String(apiPort),
    PITH_CONTENT_PORT: String(contentPort),
    PITH_MEDIA_ROOT: mkdtempSync(path.join(tmpdir(), 'pith-e2e-')),
    PITH_ADMIN_PASSWORD: 'e2e-password',
    PITH_WORKERS: '2',
    PITH_LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  let out = '';
  const proc = spawn(process.execPath, [PITH_BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`pith start exited early: ${out}`);
    try {
      const r = await fetch(`${apiUrl}/pulp/api/v3/status/`);
      if (r.status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`pith start did not come up: ${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    apiUrl,
    contentUrl: `http://127.0.0.1:${contentPort}`,
    env,
    proc,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill(signal);
      }),
    dropDatabase: async () => {
      const c = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Runs a pith command to completion. */
export function runPith(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [PITH_BIN, ...args], { env: { ...(process.env as Record<string, string>), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout!.on('data', (d) => (output += d));
    p.stderr!.on('data', (d) => (output += d));
    p.on('exit', (code) => resolve({ code, output }));
  });
}
