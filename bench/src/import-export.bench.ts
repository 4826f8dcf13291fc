// Scenario: exporting a file repository to a tar and importing it into another Pith, against GNU
// tar on the same artifact files, interleaved A/B per round on fresh output folders. The content
// is synced from a local nginx into stack A (one stack per tree, so its media root holds exactly
// the exported artifacts); every import goes into a fresh stack B (new database and media root,
// so nothing is skipped as already present). Pith's time runs from the POST to the final task
// (the import's whole task group), polled every 25 ms.
//  - export 10,000 × 4 KiB artifacts: MB/s vs `tar -cf out.tar -C <media root> artifact`, target ≥ 0.5×
//  - export 1,000 × 1 MiB artifacts: same, target ≥ 0.8×
//  - import of those exports: MB/s vs `tar -xf export.tar -C <fresh dir>` + `sha256sum` of every
//    extracted artifact (xargs), target ≥ 0.8× for both trees
//  - memory: export and import of 1 GiB in 10,000 artifacts (~105 KiB each): peak RSS of the
//    worker(s) and the API (fresh processes, so sync does not count), target < 300 MB
// Every round trip is checked: the downstream repository lists exactly the upstream files.
// Knobs: BENCH_ROUNDS (3), BENCH_IE_SMALL (10000), BENCH_IE_LARGE (1000), BENCH_IE_MEMORY_BYTES
// (1 GiB), BENCH_IE_MEMORY_FILES (10000), BENCH_IE_WORKERS (worker processes per stack, 1),
// BENCH_DIGESTS (PITH_ALLOWED_CONTENT_CHECKSUMS of the stacks: an import computes every one).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeManifest, writeTree, type TreeEntry } from '../../e2e/src/file-tree';
import { createRemote, createRepository, latestVersion, sync, versionFiles } from '../../e2e/src/file-workflow';
import {
  artifactPath, createExporter, createImporter, groupFailures, runExport, startImport, waitGroup,
} from '../../e2e/src/import-export-workflow';
import { staticNginx, type NginxInstance } from '../../e2e/src/nginx-fixture';
import { startRole } from '../../e2e/src/pith-role';
import { BUSY_LIMIT, median, msSince, now, printTable, quiet, round, startStack, writeResult, type PithStack, type Row, runIfMain } from './bench-kit';
import { sha256sumAll } from './file-sync.bench';

const MiB = 1024 * 1024;
/** Task polling interval: the measured time is what a client sees, within this much. */
const POLL_MS = 25;

/** Runs a command to completion; rejects with its stderr on a non-zero exit. */
function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err}`))));
  });
}

/**
 * Flushes dirty pages before a measurement: each step writes up to a GiB into the page cache,
 * and its writeback must not land in the next step's time (iowait counts as idle in `quiet()`).
 */
function settle(): void {
  spawnSync('sync');
}

/** Replaces the stack's API and worker processes by fresh ones, so peak RSS covers only what follows. */
async function freshProcesses(stack: PithStack): Promise<void> {
  const workers = Object.keys(stack.roles).filter((k) => k.startsWith('worker'));
  for (const name of ['api', ...workers]) {
    await stack.roles[name]!.stop();
    stack.roles[name] = name === 'api'
      ? await startRole('api', stack.env, `${stack.apiUrl}/pulp/api/v3/status/`)
      : await startRole('worker', stack.env);
  }
  // A stopped worker deregisters; wait for the new ones' heartbeats (as startStack does).
  const deadline = Date.now() + 30_000;
  while ((await stack.api.expect(200, 'GET', '/pulp/api/v3/status/')).online_workers.length < workers.length) {
    if (Date.now() > deadline) throw new Error('fresh workers did not come online');
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Tree {
  name: string;
  label: string;
  entries: TreeEntry[];
  bytes: number;
  /** Unique artifacts (sha256), as the export and the reference see them. */
  artifacts: TreeEntry[];
}

function makeTree(upstream: string, name: string, label: string, count: number, size: number): Tree {
  const entries = writeTree(path.join(upstream, name), { count, minSize: size, maxSize: size });
  writeManifest(path.join(upstream, name), entries);
  const digests = new Map(entries.map((e) => [e.sha256, e.size]));
  const artifacts = [...digests].map(([sha, n]) => ({ relativePath: artifactPath(sha), sha256: sha, size: n }));
  return { name, label, entries, bytes: artifacts.reduce((n, a) => n + a.size, 0), artifacts };
}

interface Side {
  start(): Promise<PithStack>;
}

/** Stack A for one tree: synced from nginx, with fresh API/worker processes afterwards. */
async function upstreamStack(side: Side, origin: NginxInstance, t: Tree): Promise<{ stack: PithStack; repo: string }> {
  const stack = await side.start();
  try {
    const remote = await createRemote(stack.api, t.name, `${origin.url}/${t.name}/PULP_MANIFEST`);
    const repo = await createRepository(stack.api, t.name, { remote });
    const task = await sync(stack.api, repo, {}, 1_800_000);
    if (task.state !== 'completed') throw new Error(`sync of ${t.name} failed: ${JSON.stringify(task.error)}`);
    await freshProcesses(stack);
    return { stack, repo };
  } catch (e) {
    await stack.stop();
    throw e;
  }
}

interface PithExport {
  ms: number;
  busy: number;
  tar: string;
  toc: string;
  problem?: string;
}

/** One full, unchunked export into a new folder (a new exporter, as the path is the exporter's). */
async function pithExport(stack: PithStack, repo: string, t: Tree, dir: string): Promise<PithExport> {
  const exporter = await createExporter(stack.api, path.basename(dir), dir, [repo]);
  settle();
  const busy = await quiet();
  const t0 = now();
  const task = await runExport(stack.api, exporter, {}, 1_800_000, POLL_MS);
  const ms = msSince(t0);
  const out: PithExport = { ms, busy, tar: '', toc: '' };
  if (task.state !== 'completed') return { ...out, problem: `export ${t.name}: ${task.state}: ${JSON.stringify(task.error)}` };
  const r = task.result;
  out.toc = r.toc;
  const tars = (r.files as Array<{ name: string }>).map((f) => path.resolve(path.dirname(r.toc), f.name));
  out.tar = tars[0] ?? '';
  if (tars.length !== 1) out.problem = `export ${t.name}: ${tars.length} files, expected one tar`;
  else if (r.artifact_count !== t.artifacts.length || r.artifact_bytes !== t.bytes) {
    out.problem = `export ${t.name}: ${r.artifact_count} artifacts / ${r.artifact_bytes} bytes, expected ${t.artifacts.length} / ${t.bytes}`;
  }
  return out;
}

interface PithImport {
  ms: number;
  busy: number;
  rss: Record<string, number>;
  /** Where the time went, from the tasks' own timestamps (ms): queue wait, parent, children. */
  phases: { pickup: number; parent: number; children: number };
  problem?: string;
}

/** Splits an import's time by its tasks: `core.import` (archive, artifacts) and the per-repository children. */
function importPhases(tasks: Array<{ name: string; pulp_created: string; started_at: string | null; finished_at: string | null }>): PithImport['phases'] {
  const ms = (x: string | null) => (x ? Date.parse(x) : NaN);
  const parent = tasks.find((x) => x.name === 'core.import');
  const children = tasks.filter((x) => x !== parent);
  return {
    pickup: parent ? ms(parent.started_at) - ms(parent.pulp_created) : NaN,
    parent: parent ? ms(parent.finished_at) - ms(parent.started_at) : NaN,
    children: children.length ? Math.max(...children.map((x) => ms(x.finished_at))) - Math.min(...children.map((x) => ms(x.started_at))) : 0,
  };
}

/**
 * Imports `toc` into a fresh stack B and checks that the repository lists exactly the upstream
 * files. B's media root goes on `garbage` (removed later, not right before a measurement).
 */
async function pithImport(side: Side, t: Tree, toc: string, garbage: string[]): Promise<PithImport> {
  const stack = await side.start();
  garbage.push(stack.mediaRoot);
  try {
    const repo = await createRepository(stack.api, t.name);
    const importer = await createImporter(stack.api, 'bench');
    settle();
    const busy = await quiet();
    const t0 = now();
    const group = await startImport(stack.api, importer, { toc });
    const tasks = await waitGroup(stack.api, group, 1_800_000, POLL_MS);
    const ms = msSince(t0);
    const rss = stack.peakRss();
    const phases = importPhases(tasks);
    const failed = groupFailures(tasks);
    if (failed.length) return { ms, busy, rss, phases, problem: `import ${t.name}: ${failed.join('; ')}` };
    const got = await versionFiles(stack.api, await latestVersion(stack.api, repo));
    const want = new Map(t.entries.map((e) => [e.relativePath, e.sha256]));
    const wrong = got.size !== want.size || [...want].some(([p, sha]) => got.get(p) !== sha);
    return { ms, busy, rss, phases, problem: wrong ? `import ${t.name}: downstream lists ${got.size} files, not the ${want.size} upstream ones` : undefined };
  } finally {
    await stack.stop();
  }
}

/** Removes what the measurements left behind, between scenarios (DESIGN §5: not right before one). */
function collect(garbage: string[]): void {
  for (const p of garbage.splice(0)) rmSync(p, { recursive: true, force: true });
}

interface Round {
  refExportMs: number;
  exportMs: number;
  refImportMs: number;
  importMs: number;
  busy: number[];
  importRss: Record<string, number>;
  importPhases: PithImport['phases'];
}

export async function runImportExport(): Promise<{ ok: boolean }> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const smallN = Number(process.env.BENCH_IE_SMALL ?? 10_000);
  const largeN = Number(process.env.BENCH_IE_LARGE ?? 1000);
  const memBytes = Number(process.env.BENCH_IE_MEMORY_BYTES ?? 1024 * MiB);
  const memN = Number(process.env.BENCH_IE_MEMORY_FILES ?? 10_000);
  const workers = Number(process.env.BENCH_IE_WORKERS ?? 1);
  const digests = process.env.BENCH_DIGESTS;
  const work = mkdtempSync(path.join(tmpdir(), 'pith-bench-ie-'));
  const upstream = path.join(work, 'upstream');
  const outRoot = path.join(work, 'out');
  mkdirSync(outRoot);
  const side: Side = {
    start: () => startStack({
      workDir: work,
      workers,
      env: { PITH_ALLOWED_EXPORT_PATHS: outRoot, PITH_ALLOWED_IMPORT_PATHS: outRoot, ...(digests ? { PITH_ALLOWED_CONTENT_CHECKSUMS: digests } : {}) },
    }),
  };
  const problems: string[] = [];
  const memSize = Math.floor(memBytes / memN);
  process.stdout.write(`writing upstream trees (${smallN} × 4 KiB, ${largeN} × 1 MiB) in ${work}\n`);
  const trees = [
    makeTree(upstream, 'small', `${smallN} × 4 KiB`, smallN, 4096),
    makeTree(upstream, 'large', `${largeN} × 1 MiB`, largeN, MiB),
  ];
  const origin = await staticNginx(upstream, { workers: 'auto' });
  const results: Record<string, Round[]> = { small: [], large: [] };
  const exportRss: Record<string, Record<string, number>> = {};
  const mem: { exportMs: number; importMs: number; exportRss: Record<string, number>; importRss: Record<string, number>; busy: number[]; importPhases?: PithImport['phases'] } = {
    exportMs: NaN, importMs: NaN, exportRss: {}, importRss: {}, busy: [],
  };
  const garbage: string[] = [];
  try {
    for (const t of trees) {
      const { stack: a, repo } = await upstreamStack(side, origin, t);
      garbage.push(a.mediaRoot);
      try {
        for (let r = 1; r <= rounds; r++) {
          const busy: number[] = [];
          // A: GNU tar of the same artifact files into a fresh file.
          const refTar = path.join(outRoot, `tar-${t.name}-${r}.tar`);
          settle();
          busy.push(await quiet());
          let t0 = now();
          await run('tar', ['-cf', refTar, '-C', a.mediaRoot, 'artifact']);
          const refExportMs = msSince(t0);
          garbage.push(refTar);

          // B: a Pith export into a fresh folder.
          const exp = await pithExport(a, repo, t, path.join(outRoot, `pith-${t.name}-${r}`));
          garbage.push(path.join(outRoot, `pith-${t.name}-${r}`));
          busy.push(exp.busy);
          if (exp.problem) problems.push(`round ${r}: ${exp.problem}`);
          if (!exp.tar) continue;

          // A: extract the export into a fresh folder and hash every artifact.
          const extracted = path.join(work, `extract-${t.name}-${r}`);
          mkdirSync(extracted);
          garbage.push(extracted);
          settle();
          busy.push(await quiet());
          t0 = now();
          await run('tar', ['-xf', exp.tar, '-C', extracted]);
          const sums = await sha256sumAll(extracted, t.artifacts);
          const refImportMs = msSince(t0);
          if (t.artifacts.some((x) => sums.get(x.relativePath) !== x.sha256)) problems.push(`round ${r}: tar -xf ${t.name}: digests differ`);

          // B: import into a fresh stack.
          const imp = await pithImport(side, t, exp.toc, garbage);
          busy.push(imp.busy);
          if (imp.problem) problems.push(`round ${r}: ${imp.problem}`);

          results[t.name]!.push({ refExportMs, exportMs: exp.ms, refImportMs, importMs: imp.ms, busy, importRss: imp.rss, importPhases: imp.phases });
          process.stdout.write(`round ${r} ${t.label}: export tar ${round(refExportMs / 1000)} s, pith ${round(exp.ms / 1000)} s; ` +
            `import tar+sha256sum ${round(refImportMs / 1000)} s, pith ${round(imp.ms / 1000)} s (task wait ${round(imp.phases.pickup / 1000)} s, ` +
            `core.import ${round(imp.phases.parent / 1000)} s, repositories ${round(imp.phases.children / 1000)} s; worker peak RSS ${imp.rss.worker} MB); ` +
            `machine ${busy.join('/')}% busy before\n`);
        }
        exportRss[t.name] = a.peakRss();
      } finally {
        await a.stop();
        collect(garbage);
      }
    }
    rmSync(upstream, { recursive: true, force: true });

    // Memory: 1 GiB in 10,000 artifacts, one export and one import on fresh processes.
    process.stdout.write(`writing memory tree (${memN} × ${round(memSize / 1024, 1)} KiB) in ${work}\n`);
    const m = makeTree(upstream, 'memory', `${round(memBytes / MiB / 1024, 2)} GiB in ${memN}`, memN, memSize);
    const { stack: a, repo } = await upstreamStack(side, origin, m);
    garbage.push(a.mediaRoot, upstream, path.join(outRoot, 'pith-memory'));
    let exp: PithExport;
    try {
      exp = await pithExport(a, repo, m, path.join(outRoot, 'pith-memory'));
      mem.exportMs = exp.ms;
      mem.exportRss = a.peakRss();
      mem.busy.push(exp.busy);
      if (exp.problem) problems.push(`memory: ${exp.problem}`);
    } finally {
      await a.stop();
    }
    if (!exp.tar) throw new Error(`memory: ${exp.problem}`);
    const imp = await pithImport(side, m, exp.toc, garbage);
    collect(garbage);
    mem.importMs = imp.ms;
    mem.importRss = imp.rss;
    mem.busy.push(imp.busy);
    mem.importPhases = imp.phases;
    if (imp.problem) problems.push(`memory: ${imp.problem}`);
    process.stdout.write(`memory ${m.label}: export ${round(mem.exportMs / 1000)} s, peak RSS ${JSON.stringify(mem.exportRss)}; ` +
      `import ${round(mem.importMs / 1000)} s, peak RSS ${JSON.stringify(mem.importRss)}\n`);

    const mbps = (bytes: number, ms: number[]) => bytes / 1e6 / (median(ms) / 1000);
    const rows: Row[] = [];
    const v = (ok: boolean): Row['verdict'] => (ok ? 'ok' : 'MISSED');
    const maxRss = (rss: Record<string, number>, role: (k: string) => boolean) => Math.max(...Object.entries(rss).filter(([k]) => role(k)).map(([, x]) => x));
    const isWorker = (k: string) => k.startsWith('worker');
    const targets: Record<string, { value: number; target: number; ok: boolean }> = {};
    const measured: Record<string, unknown> = {};
    for (const t of trees) {
      const rs = results[t.name]!;
      const ex = { pith: mbps(t.bytes, rs.map((x) => x.exportMs)), reference: mbps(t.bytes, rs.map((x) => x.refExportMs)) };
      const im = { pith: mbps(t.bytes, rs.map((x) => x.importMs)), reference: mbps(t.bytes, rs.map((x) => x.refImportMs)) };
      const exTarget = t.name === 'small' ? 0.5 : 0.8;
      targets[`export_${t.name}_mb_per_s_ratio`] = { value: round(ex.pith / ex.reference), target: exTarget, ok: ex.pith / ex.reference >= exTarget };
      targets[`import_${t.name}_mb_per_s_ratio`] = { value: round(im.pith / im.reference), target: 0.8, ok: im.pith / im.reference >= 0.8 };
      const exRss = exportRss[t.name] ?? {};
      const imRss = Math.max(...rs.map((x) => maxRss(x.importRss, isWorker)));
      rows.push({
        scenario: `export ${t.label} (MB/s)`,
        pith: `${round(ex.pith, 1)} (worker ${maxRss(exRss, isWorker)} MB, api ${exRss.api} MB)`,
        reference: `${round(ex.reference, 1)} tar -cf`,
        ratio: `${targets[`export_${t.name}_mb_per_s_ratio`]!.value}×`,
        target: `≥ ${exTarget}×`,
        verdict: v(targets[`export_${t.name}_mb_per_s_ratio`]!.ok),
      });
      rows.push({
        scenario: `import ${t.label} (MB/s)`,
        pith: `${round(im.pith, 1)} (worker ${imRss} MB, api ${Math.max(...rs.map((x) => x.importRss.api ?? NaN))} MB)`,
        reference: `${round(im.reference, 1)} tar -xf + sha256sum`,
        ratio: `${targets[`import_${t.name}_mb_per_s_ratio`]!.value}×`,
        target: '≥ 0.8×',
        verdict: v(targets[`import_${t.name}_mb_per_s_ratio`]!.ok),
      });
      measured[t.name] = { artifacts: t.artifacts.length, bytes: t.bytes, rounds: rs, export_mb_per_s: ex, import_mb_per_s: im, export_peak_rss_mb: exRss };
    }
    const memEx = Math.max(maxRss(mem.exportRss, isWorker), mem.exportRss.api ?? NaN);
    const memIm = Math.max(maxRss(mem.importRss, isWorker), mem.importRss.api ?? NaN);
    targets.memory_export_peak_rss_mb = { value: memEx, target: 300, ok: memEx < 300 };
    targets.memory_import_peak_rss_mb = { value: memIm, target: 300, ok: memIm < 300 };
    rows.push({
      scenario: `export ${m.label}: peak RSS`,
      pith: `worker ${maxRss(mem.exportRss, isWorker)} MB, api ${mem.exportRss.api} MB`,
      reference: `${round(mbps(m.bytes, [mem.exportMs]), 1)} MB/s`,
      ratio: '', target: '< 300 MB', verdict: v(targets.memory_export_peak_rss_mb.ok),
    });
    rows.push({
      scenario: `import ${m.label}: peak RSS`,
      pith: `worker ${maxRss(mem.importRss, isWorker)} MB, api ${mem.importRss.api} MB`,
      reference: `${round(mbps(m.bytes, [mem.importMs]), 1)} MB/s`,
      ratio: '', target: '< 300 MB', verdict: v(targets.memory_import_peak_rss_mb.ok),
    });
    const busiest = Math.max(...Object.values(results).flat().flatMap((x) => x.busy), ...mem.busy);
    if (busiest > BUSY_LIMIT) rows.push({ scenario: 'machine busy before a run (max)', pith: `${busiest} %`, reference: '', ratio: '', target: `≤ ${BUSY_LIMIT} %`, verdict: 'NOISY' });
    if (problems.length) rows.push({ scenario: 'checks', pith: problems.join('; '), reference: '', ratio: '', target: '', verdict: 'FAILED' });
    printTable(rows);
    const ok = problems.length === 0 && Object.values(targets).every((x) => x.ok);
    writeResult('import-export', {
      rounds,
      workers,
      digests: digests ?? 'default (PITH_ALLOWED_CONTENT_CHECKSUMS)',
      reference: { export: 'tar -cf out.tar -C <media root> artifact', import: 'tar -xf export.tar -C <fresh dir> + sha256sum (xargs) of every artifact' },
      ...measured,
      memory: { artifacts: m.artifacts.length, bytes: m.bytes, export_ms: mem.exportMs, import_ms: mem.importMs, export_peak_rss_mb: mem.exportRss, import_peak_rss_mb: mem.importRss, import_phases_ms: mem.importPhases, busy_percent: mem.busy },
      max_background_busy_percent: busiest,
      targets,
      problems,
      ok,
    });
    return { ok };
  } finally {
    await origin.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

runIfMain(module, runImportExport);
