// Shared pieces of the file benchmarks: monotonic timing, medians, the result table and JSON,
// and a Pith stack of real processes (migrate, api, workers, content) on a throwaway database.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PITH_BIN, freePort, runPith } from '../../e2e/src/pith-process';
import { peakRssMb, startRole, type PithRole } from '../../e2e/src/pith-role';
import { PulpApi } from '../../e2e/src/pulp-api';

export const ADMIN_URL = process.env.PITH_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PASSWORD = 'bench-admin';

/** Milliseconds since `t0` (a `process.hrtime.bigint()`): monotonic, unaffected by clock changes. */
export const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
export const now = (): bigint => process.hrtime.bigint();

function cpuTimes(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3]! + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}

/**
 * Share of the machine's CPU (all cores, 0–100) busy over `ms` while the benchmark itself is
 * idle: other work on a shared VM skews every figure, so each measurement records it.
 */
export async function backgroundBusy(ms = 1000): Promise<number> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  const total = b.total - a.total;
  return total > 0 ? Math.round((100 * (total - (b.idle - a.idle))) / total) : 0;
}

/** Busy share above which a measurement is flagged as taken on a busy machine. */
export const BUSY_LIMIT = 15;

/**
 * Waits (up to BENCH_QUIET_WAIT_S, default 30 s) for the machine to be quiet before a
 * measurement; returns the last background busy share, recorded with the measurement.
 */
export async function quiet(): Promise<number> {
  const deadline = Date.now() + Number(process.env.BENCH_QUIET_WAIT_S ?? 30) * 1000;
  for (;;) {
    const busy = await backgroundBusy();
    if (busy <= BUSY_LIMIT || Date.now() >= deadline) return busy;
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

export interface Row {
  scenario: string;
  pith: string;
  reference: string;
  ratio: string;
  target: string;
  verdict: 'ok' | 'MISSED' | '' | 'FAILED' | 'NOISY';
}

export function printTable(rows: Row[]): void {
  const head: Row = { scenario: 'scenario', pith: 'pith', reference: 'reference', ratio: 'ratio', target: 'target', verdict: '' };
  const keys = Object.keys(head) as Array<keyof Row>;
  const w = keys.map((k) => Math.max(...[head, ...rows].map((r) => r[k].length)));
  const line = (r: Row) => keys.map((k, i) => r[k].padEnd(w[i]!)).join('  ').trimEnd();
  process.stdout.write(`${line(head)}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}

/**
 * Runs a scenario when its file is started directly (`node -r @swc-node/register src/x.bench.ts`):
 * exit code 0 when its targets are met, 2 when not, 1 when it crashed.
 */
export function runIfMain(mod: NodeModule, scenario: () => Promise<{ ok: boolean }>): void {
  if (require.main !== mod) return;
  scenario()
    .then((r) => {
      process.exitCode = r.ok ? 0 : 2;
    })
    .catch((e) => {
      process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    });
}

/** Writes `bench/results/<scenario>-<date>.json` and returns its path. */
export function writeResult(scenario: string, result: Record<string, unknown>): string {
  const date = new Date().toISOString();
  const dir = path.join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${scenario}-${date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ scenario, date, node: process.version, ...result }, null, 2) + '\n');
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  return file;
}

async function adminQuery(sql: string): Promise<void> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export interface PithStack {
  api: PulpApi;
  apiUrl: string;
  contentUrl: string;
  mediaRoot: string;
  env: Record<string, string>;
  roles: Record<string, PithRole>;
  /** Peak RSS (VmHWM, MiB) of each running role. */
  peakRss(): Record<string, number>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Parent folder; the media root is a fresh folder inside it (kept after stop, see below). */
  workDir: string;
  workers?: number;
  content?: boolean;
  env?: Record<string, string>;
  /** Extra node arguments per role (`worker`, `api`, `content`), e.g. `--cpu-prof` to profile. */
  nodeArgs?: Record<string, string[]>;
}

/**
 * Migrates a fresh database and runs `pith api`, `pith worker` × N and optionally `pith content`
 * as separate processes (so each role's RSS can be read). The media root is left on disk at stop:
 * deleting a large tree right before the next measurement slows it on this disk (DESIGN §5), so
 * the caller removes the whole work folder at the end.
 */
export async function startStack(o: StackOptions): Promise<PithStack> {
  if (!existsSync(PITH_BIN)) throw new Error(`${PITH_BIN} is missing: run \`npm run build\` first`);
  const db = `pith_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${db}`;
  const mediaRoot = path.join(o.workDir, `media-${db}`);
  const [apiPort, contentPort] = [await freePort(), await freePort()];
  const env: Record<string, string> = {
    DATABASE_URL: url.toString(),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    PITH_MEDIA_ROOT: mediaRoot,
    PITH_ADMIN_PASSWORD: PASSWORD,
    PITH_API_PORT: String(apiPort),
    PITH_CONTENT_PORT: String(contentPort),
    PITH_LOG_LEVEL: 'error',
    ...o.env,
  };
  const migrated = await runPith(['migrate'], env);
  if (migrated.code !== 0) throw new Error(`pith migrate failed: ${migrated.output}`);
  const roles: Record<string, PithRole> = {};
  const stop = async () => {
    await Promise.all(Object.values(roles).map((r) => r.stop()));
    await adminQuery(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch(() => undefined);
  };
  try {
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const contentUrl = `http://127.0.0.1:${contentPort}`;
    roles.api = await startRole('api', env, `${apiUrl}/pulp/api/v3/status/`, o.nodeArgs?.api);
    const workers = o.workers ?? 1;
    for (let i = 0; i < workers; i++) roles[`worker${workers > 1 ? i + 1 : ''}`] = await startRole('worker', env, undefined, o.nodeArgs?.worker);
    if (o.content) roles.content = await startRole('content', env, `${contentUrl}/pulp/content/`, o.nodeArgs?.content);
    const api = new PulpApi(apiUrl, PASSWORD);
    // Workers register through their heartbeat; a task dispatched before that would just wait.
    const deadline = Date.now() + 30_000;
    while ((await api.expect(200, 'GET', '/pulp/api/v3/status/')).online_workers.length < workers) {
      if (Date.now() > deadline) throw new Error('workers did not come online');
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      api, apiUrl, contentUrl, mediaRoot, env, roles, stop,
      peakRss: () => Object.fromEntries(Object.entries(roles).map(([k, r]) => [k, peakRssMb(r.pid)])),
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
