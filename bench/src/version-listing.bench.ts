// Scenario: one repository with 100,000 units in 100 versions.
//  - list the latest version page by page over HTTP (limit=100): p50/p95 per page, API process RSS
//  - create version 101 with one added unit (VersionService) and version 102 (HTTP modify → task)
//  - check the stored content_summary against what the listing returned
// Targets: page p95 < 50 ms, API RSS < 300 MB, one-unit version < 1 s.
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { Platform, TaskWorker, loadConfig, migrate } from '@pith/platform';
import { testPlugin } from '@pith/test-utils';
import { runIfMain } from './bench-kit';

const ADMIN_URL = process.env.PITH_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PASSWORD = 'bench-admin';
const THINGS = '/pulp/api/v3/content/test/things/';

interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), max: r(s[s.length - 1]!), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
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

function startApi(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', path.join(__dirname, 'api-child.ts')], {
    env: { ...env, SWC_NODE_PROJECT: path.join(__dirname, '..', 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`API process exited early (${code})`)));
  });
}

export async function runVersionListing(): Promise<{ ok: boolean }> {
  const units = Number(process.env.BENCH_UNITS ?? 100_000);
  const versions = Number(process.env.BENCH_VERSIONS ?? 100);
  const perVersion = Math.ceil(units / versions);
  const dbName = `pith_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  const mediaRoot = mkdtempSync(path.join(tmpdir(), 'pith-bench-'));
  mkdirSync(path.join(mediaRoot, 'tmp'), { recursive: true });
  const env = {
    ...process.env,
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    PITH_MEDIA_ROOT: mediaRoot,
    PITH_ADMIN_PASSWORD: PASSWORD,
    PITH_LOG_LEVEL: 'error',
  };
  const config = loadConfig(env);
  await migrate(config, [testPlugin]);
  const p = await Platform.create(config, [testPlugin], 'bench');
  const { child, port } = await startApi(env);
  const auth = 'Basic ' + Buffer.from(`admin:${PASSWORD}`).toString('base64');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const api = async (method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(`http://127.0.0.1:${port}${url}`, {
      method,
      headers: { Authorization: auth, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const problems: string[] = [];
  try {
    const repo = (await api('POST', '/pulp/api/v3/repositories/test/thing/', { name: 'bench' })).body;
    const repoId = repo.pulp_href.split('/')[7] as string;

    // Load: batched SQL through ContentStore and VersionService (no per-unit HTTP calls).
    process.stdout.write(`loading ${units} units in ${versions} versions…\n`);
    const loadStart = process.hrtime.bigint();
    const versionTimes: number[] = [];
    let made = 0;
    for (let v = 1; v <= versions; v++) {
      const names = Array.from({ length: Math.min(perVersion, units - made) }, (_, i) => `u${made + i}`);
      made += names.length;
      const ids = await p.content.saveBatch(names.map((name) => ({
        pulpType: 'test.thing',
        detail: { name, sha256: createHash('sha256').update(name).digest('hex') },
        artifacts: [{ relativePath: name, artifactId: null }],
      })));
      const t0 = process.hrtime.bigint();
      await p.versions.create(repoId, async (b) => { await b.add(ids); });
      versionTimes.push(ms(t0));
    }
    const loadMs = ms(loadStart);
    // What autovacuum does in production: visibility map + statistics for index-only scans.
    await p.db.query('VACUUM ANALYZE core_repositorycontent');
    await p.db.query('VACUUM ANALYZE core_content');
    await p.db.query('VACUUM ANALYZE test_thing');

    // Listing the latest version page by page.
    const latest = `${repo.pulp_href}versions/${versions}/`;
    for (let i = 0; i < 5; i++) await api('GET', `${THINGS}?repository_version=${latest}&limit=100&offset=${i * 100}`);
    const pageTimes: number[] = [];
    const seen = new Set<string>();
    let rssMax = rssMb(child.pid!);
    let reportedCount = -1;
    for (let offset = 0; offset < units; offset += 100) {
      const t0 = process.hrtime.bigint();
      const r = await api('GET', `${THINGS}?repository_version=${latest}&limit=100&offset=${offset}`);
      pageTimes.push(ms(t0));
      if (r.status !== 200) throw new Error(`page at ${offset}: HTTP ${r.status}`);
      reportedCount = r.body.count;
      for (const x of r.body.results as Array<{ pulp_href: string }>) seen.add(x.pulp_href);
      if ((offset / 100) % 50 === 0) rssMax = Math.max(rssMax, rssMb(child.pid!));
    }
    rssMax = Math.max(rssMax, rssMb(child.pid!));
    const listing = stats(pageTimes);
    if (reportedCount !== units) problems.push(`listing count ${reportedCount} != ${units}`);
    if (seen.size !== units) problems.push(`listing returned ${seen.size} distinct units, expected ${units}`);

    // Version 101: one added unit, through the service (what a task does).
    const [extra] = await p.content.saveBatch([{
      pulpType: 'test.thing',
      detail: { name: 'extra', sha256: createHash('sha256').update('extra').digest('hex') },
      artifacts: [{ relativePath: 'extra', artifactId: null }],
    }]);
    let t0 = process.hrtime.bigint();
    const v101 = await p.versions.create(repoId, async (b) => { await b.add([extra!]); });
    const v101Ms = ms(t0);
    const summary = (await api('GET', `${repo.pulp_href}versions/${versions + 1}/`)).body?.content_summary;
    if (v101?.number !== versions + 1) problems.push(`version ${versions + 1} was not created (${JSON.stringify(v101)})`);
    if (summary?.present?.['test.thing']?.count !== units + 1) problems.push(`present count ${summary?.present?.['test.thing']?.count} != ${units + 1}`);
    if (summary?.added?.['test.thing']?.count !== 1) problems.push(`added count ${summary?.added?.['test.thing']?.count} != 1`);
    if (Object.keys(summary?.removed ?? {}).length) problems.push('removed should be empty');

    // Version 102 end to end: HTTP modify → task → completed (one in-process worker).
    const worker = new TaskWorker(p, `bench-worker-${dbName}`);
    await worker.start();
    const [extra2] = await p.content.saveBatch([{
      pulpType: 'test.thing',
      detail: { name: 'extra2', sha256: createHash('sha256').update('extra2').digest('hex') },
      artifacts: [{ relativePath: 'extra2', artifactId: null }],
    }]);
    t0 = process.hrtime.bigint();
    const dispatched = await api('POST', `${repo.pulp_href}modify/`, { add_content_units: [`${THINGS}${extra2}/`] });
    let task = dispatched.body;
    for (;;) {
      task = (await api('GET', dispatched.body.task)).body;
      if (['completed', 'failed', 'canceled'].includes(task.state)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const v102Ms = ms(t0);
    await worker.stop(2000);
    if (task.state !== 'completed') problems.push(`modify task ${task.state}: ${JSON.stringify(task.error)}`);

    const targets = {
      page_p95_ms: { value: listing.p95, target: 50, ok: listing.p95 < 50 },
      api_rss_mb: { value: rssMax, target: 300, ok: rssMax < 300 },
      version_101_ms: { value: Math.round(v101Ms * 10) / 10, target: 1000, ok: v101Ms < 1000 },
    };
    const ok = problems.length === 0 && Object.values(targets).every((t) => t.ok);
    const rows: Array<[string, string, string, string]> = [
      ['list page (limit=100) p50', `${listing.p50} ms`, '', ''],
      ['list page (limit=100) p95', `${listing.p95} ms`, '< 50 ms', targets.page_p95_ms.ok ? 'ok' : 'MISSED'],
      ['list page (limit=100) p99 / max', `${listing.p99} / ${listing.max} ms`, '', ''],
      ['API process RSS (max)', `${rssMax} MB`, '< 300 MB', targets.api_rss_mb.ok ? 'ok' : 'MISSED'],
      [`version ${versions + 1} (+1 unit), service`, `${Math.round(v101Ms * 10) / 10} ms`, '< 1000 ms', targets.version_101_ms.ok ? 'ok' : 'MISSED'],
      [`version ${versions + 2} (+1 unit), HTTP modify → task done`, `${Math.round(v102Ms * 10) / 10} ms`, '', ''],
      [`load: ${units} units / ${versions} versions`, `${(loadMs / 1000).toFixed(1)} s (${Math.round(units / (loadMs / 1000))} units/s)`, '', ''],
      ['version create during load (1000 units) p50 / max', `${stats(versionTimes).p50} / ${stats(versionTimes).max} ms`, '', ''],
      ['content_summary and listing checks', problems.length ? problems.join('; ') : 'ok', '', problems.length ? 'FAILED' : 'ok'],
    ];
    const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['scenario', 'result', 'target', ''][i]!.length));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ');
    process.stdout.write(`${line(['scenario', 'result', 'target', ''])}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n`);
    for (const r of rows) process.stdout.write(`${line(r)}\n`);
    const result = {
      scenario: 'version-listing',
      date: new Date().toISOString(),
      node: process.version,
      units,
      versions,
      listing_ms: listing,
      api_rss_max_mb: rssMax,
      version_101_ms: v101Ms,
      version_102_http_ms: v102Ms,
      load_ms: loadMs,
      version_create_during_load_ms: stats(versionTimes),
      targets,
      problems,
      ok,
    };
    const dir = path.join(__dirname, '..', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `version-listing-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
    return { ok };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await p.close();
    await adminQuery(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    rmSync(mediaRoot, { recursive: true, force: true });
  }
}

runIfMain(module, runVersionListing);
