// Scenario: syncing a file repository from a local nginx, against `curl` with 10 parallel
// transfers followed by `sha256sum` of the same files (what a shell script mirroring the
// PULP_MANIFEST would do), interleaved A/B per round on fresh target folders and fresh Pith
// stacks (new database and media root, so no artifact is deduplicated across rounds):
//  - 10,000 × 4 KiB files: files/s, target ≥ 0.4× the reference
//  - 1,000 × 1 MiB files: MB/s, target ≥ 0.8× the reference
//  - no-change re-sync of the 10,000 files with optimize=false (the real work), target < 10% of
//    the first sync's time; the optimize=true skip is reported too
//  - a 100,000-entry manifest synced with policy on_demand: worker peak RSS < 300 MB
// Knobs: BENCH_ROUNDS (3), BENCH_SMALL_FILES (10000), BENCH_LARGE_FILES (1000),
// BENCH_HUGE_ENTRIES (100000), BENCH_DIGESTS (PITH_ALLOWED_CONTENT_CHECKSUMS of the Pith stack).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { curlFetchAll } from '../../e2e/src/curl-client';
import { writeManifest, writeTree, type TreeEntry } from '../../e2e/src/file-tree';
import { createRemote, createRepository, sync, versionSummary } from '../../e2e/src/file-workflow';
import { staticNginx } from '../../e2e/src/nginx-fixture';
import { BUSY_LIMIT, median, msSince, now, printTable, quiet, round, startStack, writeResult, type Row, runIfMain } from './bench-kit';

const MiB = 1024 * 1024;
/** Task polling interval: the measured time is what a client sees, within this much. */
const POLL_MS = 25;

/** `sha256sum` over the given files (batched by xargs); returns the path → digest map. */
export function sha256sumAll(dir: string, entries: TreeEntry[]): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const list = path.join(dir, '..', `${path.basename(dir)}.list`);
    writeFileSync(list, entries.map((e) => e.relativePath).join('\0'));
    const p = spawn('xargs', ['-0', '-a', list, 'sha256sum', '--'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`sha256sum failed (${code}): ${err}`));
      const m = new Map<string, string>();
      // `\` prefixes lines of names with special characters; the tree has none.
      for (const line of out.split('\n')) if (line) m.set(line.slice(66), line.slice(0, 64));
      resolve(m);
    });
  });
}

interface Kind {
  name: 'small' | 'large';
  label: string;
  entries: TreeEntry[];
  bytes: number;
}

interface SyncRun {
  ms: number;
  /** Background CPU busy share (%) right before the run. */
  busy: number;
  rss: Record<string, number>;
  resyncMs?: number;
  skipMs?: number;
}

export async function runFileSync(): Promise<{ ok: boolean }> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const smallN = Number(process.env.BENCH_SMALL_FILES ?? 10_000);
  const largeN = Number(process.env.BENCH_LARGE_FILES ?? 1000);
  const hugeN = Number(process.env.BENCH_HUGE_ENTRIES ?? 100_000);
  const digests = process.env.BENCH_DIGESTS;
  const stackEnv: Record<string, string> = digests ? { PITH_ALLOWED_CONTENT_CHECKSUMS: digests } : {};
  const work = mkdtempSync(path.join(tmpdir(), 'pith-bench-sync-'));
  const upstream = path.join(work, 'upstream');
  const problems: string[] = [];
  process.stdout.write(`writing upstream trees (${smallN} × 4 KiB, ${largeN} × 1 MiB, ${hugeN}-entry manifest) in ${work}\n`);
  const kinds: Kind[] = [
    { name: 'small', label: `${smallN} × 4 KiB`, entries: writeTree(path.join(upstream, 'small'), { count: smallN, minSize: 4096, maxSize: 4096 }), bytes: 0 },
    { name: 'large', label: `${largeN} × 1 MiB`, entries: writeTree(path.join(upstream, 'large'), { count: largeN, minSize: MiB, maxSize: MiB }), bytes: 0 },
  ];
  for (const k of kinds) {
    writeManifest(path.join(upstream, k.name), k.entries);
    k.bytes = k.entries.reduce((n, e) => n + e.size, 0);
  }
  // The on_demand manifest only: its files are never downloaded.
  const huge: string[] = [];
  for (let i = 0; i < hugeN; i++) huge.push(`h${(i % 256).toString(16)}/${i % 7}/file-${i}.iso,${randomBytes(32).toString('hex')},${1000 + i}`);
  writeFileSync(path.join(upstream, 'huge.manifest'), huge.join('\n') + '\n');

  const origin = await staticNginx(upstream, { workers: 'auto' });
  const ref: Record<string, number[]> = { small: [], large: [] };
  const refBusy: number[] = [];
  const pith: Record<string, SyncRun[]> = { small: [], large: [] };
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const k of kinds) {
        // A: curl (10 parallel transfers) into a fresh folder, then sha256sum of every file.
        const out = path.join(work, `curl-${k.name}-${r}`);
        const busyRef = await quiet();
        refBusy.push(busyRef);
        const t0 = now();
        const fetched = await curlFetchAll(`${origin.url}/${k.name}/`, k.entries, out, 10);
        const sums = await sha256sumAll(out, k.entries);
        const refMs = msSince(t0);
        if (fetched.failures.length) problems.push(`curl ${k.name}: ${fetched.failures.slice(0, 3).join('; ')}`);
        if (k.entries.some((e) => sums.get(e.relativePath) !== e.sha256)) problems.push(`sha256sum ${k.name}: digests differ`);
        ref[k.name]!.push(refMs);

        // B: a fresh Pith stack syncing the same manifest.
        const stack = await startStack({ workDir: work, workers: 1, env: stackEnv });
        try {
          const remote = await createRemote(stack.api, k.name, `${origin.url}/${k.name}/PULP_MANIFEST`);
          const repo = await createRepository(stack.api, k.name, { remote });
          const busy = await quiet();
          const t1 = now();
          const task = await sync(stack.api, repo, {}, 900_000, POLL_MS);
          const ms = msSince(t1);
          if (task.state !== 'completed') problems.push(`pith sync ${k.name}: ${JSON.stringify(task.error)}`);
          else if ((await versionSummary(stack.api, repo, 1)).present['file.file']?.count !== k.entries.length) problems.push(`pith sync ${k.name}: wrong count`);
          const run: SyncRun = { ms, busy, rss: stack.peakRss() };
          if (k.name === 'small') {
            // Nothing changed upstream: the real re-sync (optimize=false), then the optimize skip.
            let t2 = now();
            const again = await sync(stack.api, repo, { optimize: false }, 900_000, POLL_MS);
            run.resyncMs = msSince(t2);
            if (again.state !== 'completed' || again.created_resources.some((h: string) => h.includes('/versions/'))) problems.push('no-change re-sync made a version or failed');
            t2 = now();
            const skipped = await sync(stack.api, repo, {}, 900_000, POLL_MS);
            run.skipMs = msSince(t2);
            if (!skipped.progress_reports.some((p: { code: string }) => p.code === 'sync.was_skipped')) problems.push('optimize did not skip the unchanged sync');
            run.rss = stack.peakRss();
          }
          pith[k.name]!.push(run);
          process.stdout.write(`round ${r} ${k.label}: curl+sha256sum ${round(refMs / 1000)} s, pith ${round(ms / 1000)} s` +
            `${run.resyncMs !== undefined ? `, re-sync ${round(run.resyncMs / 1000)} s, skip ${round(run.skipMs! / 1000)} s` : ''}` +
            `, worker peak RSS ${run.rss.worker} MB; machine ${busyRef}%/${busy}% busy before\n`);
        } finally {
          await stack.stop();
        }
      }
    }

    // 100,000 entries, on_demand: only the manifest is downloaded; memory must stay flat.
    const stack = await startStack({ workDir: work, workers: 1, env: stackEnv });
    let hugeMs = NaN;
    let hugeRss: Record<string, number> = {};
    try {
      const remote = await createRemote(stack.api, 'huge', `${origin.url}/huge.manifest`, 'on_demand');
      const repo = await createRepository(stack.api, 'huge', { remote });
      const t0 = now();
      const task = await sync(stack.api, repo, {}, 1_800_000, POLL_MS);
      hugeMs = msSince(t0);
      hugeRss = stack.peakRss();
      if (task.state !== 'completed') problems.push(`on_demand ${hugeN}: ${JSON.stringify(task.error)}`);
      else if ((await versionSummary(stack.api, repo, 1)).present['file.file']?.count !== hugeN) problems.push(`on_demand ${hugeN}: wrong count`);
      process.stdout.write(`on_demand ${hugeN} entries: ${round(hugeMs / 1000)} s, peak RSS ${JSON.stringify(hugeRss)}\n`);
    } finally {
      await stack.stop();
    }

    const small = kinds[0]!;
    const large = kinds[1]!;
    const refSmall = small.entries.length / (median(ref.small!) / 1000);
    const pithSmall = small.entries.length / (median(pith.small!.map((x) => x.ms)) / 1000);
    const refLarge = large.bytes / 1e6 / (median(ref.large!) / 1000);
    const pithLarge = large.bytes / 1e6 / (median(pith.large!.map((x) => x.ms)) / 1000);
    const firstSmallMs = median(pith.small!.map((x) => x.ms));
    const resyncMs = median(pith.small!.map((x) => x.resyncMs!));
    const skipMs = median(pith.small!.map((x) => x.skipMs!));
    const workerRss = Math.max(...[...pith.small!, ...pith.large!].map((x) => x.rss.worker ?? NaN));
    const apiRss = Math.max(...[...pith.small!, ...pith.large!].map((x) => x.rss.api ?? NaN));
    const targets = {
      small_files_per_s_ratio: { value: round(pithSmall / refSmall), target: 0.4, ok: pithSmall / refSmall >= 0.4 },
      large_mb_per_s_ratio: { value: round(pithLarge / refLarge), target: 0.8, ok: pithLarge / refLarge >= 0.8 },
      resync_fraction_of_first: { value: round(resyncMs / firstSmallMs, 3), target: 0.1, ok: resyncMs / firstSmallMs < 0.1 },
      on_demand_100k_worker_peak_rss_mb: { value: hugeRss.worker ?? NaN, target: 300, ok: (hugeRss.worker ?? Infinity) < 300 },
    };
    const v = (ok: boolean): Row['verdict'] => (ok ? 'ok' : 'MISSED');
    const rows: Row[] = [
      { scenario: `sync ${small.label} (files/s)`, pith: `${Math.round(pithSmall)}`, reference: `${Math.round(refSmall)}`, ratio: `${targets.small_files_per_s_ratio.value}×`, target: '≥ 0.4×', verdict: v(targets.small_files_per_s_ratio.ok) },
      { scenario: `sync ${large.label} (MB/s)`, pith: `${round(pithLarge, 1)}`, reference: `${round(refLarge, 1)}`, ratio: `${targets.large_mb_per_s_ratio.value}×`, target: '≥ 0.8×', verdict: v(targets.large_mb_per_s_ratio.ok) },
      { scenario: `no-change re-sync ${small.label}, optimize=false`, pith: `${round(resyncMs / 1000)} s`, reference: `first sync ${round(firstSmallMs / 1000)} s`, ratio: `${round((100 * resyncMs) / firstSmallMs, 1)} %`, target: '< 10 %', verdict: v(targets.resync_fraction_of_first.ok) },
      { scenario: `no-change re-sync ${small.label}, optimize skip`, pith: `${round(skipMs / 1000, 3)} s`, reference: '', ratio: `${round((100 * skipMs) / firstSmallMs, 2)} %`, target: '', verdict: '' },
      { scenario: 'peak RSS during syncs (all rounds)', pith: `worker ${workerRss} MB`, reference: `api ${apiRss} MB`, ratio: '', target: '', verdict: '' },
      { scenario: `on_demand ${hugeN} entries: worker peak RSS`, pith: `${hugeRss.worker} MB`, reference: `${round(hugeMs / 1000, 1)} s, api ${hugeRss.api} MB`, ratio: '', target: '< 300 MB', verdict: v(targets.on_demand_100k_worker_peak_rss_mb.ok) },
    ];
    const busiest = Math.max(...refBusy, ...[...pith.small!, ...pith.large!].map((x) => x.busy));
    if (busiest > BUSY_LIMIT) rows.push({ scenario: 'machine busy before a run (max)', pith: `${busiest} %`, reference: '', ratio: '', target: `≤ ${BUSY_LIMIT} %`, verdict: 'NOISY' });
    if (problems.length) rows.push({ scenario: 'checks', pith: problems.join('; '), reference: '', ratio: '', target: '', verdict: 'FAILED' });
    printTable(rows);
    const ok = problems.length === 0 && Object.values(targets).every((t) => t.ok);
    writeResult('file-sync', {
      rounds,
      digests: digests ?? 'default (PITH_ALLOWED_CONTENT_CHECKSUMS)',
      reference: 'curl --parallel --parallel-max 10 + sha256sum (xargs), fresh folder per round',
      small: { files: small.entries.length, bytes: small.bytes, reference_ms: ref.small, pith: pith.small, files_per_s: { pith: pithSmall, reference: refSmall } },
      large: { files: large.entries.length, bytes: large.bytes, reference_ms: ref.large, pith: pith.large, mb_per_s: { pith: pithLarge, reference: refLarge } },
      resync: { first_ms: firstSmallMs, optimize_false_ms: resyncMs, optimize_skip_ms: skipMs },
      on_demand: { entries: hugeN, ms: hugeMs, peak_rss_mb: hugeRss },
      reference_busy_percent: refBusy,
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

runIfMain(module, runFileSync);
