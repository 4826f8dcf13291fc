// SCRATCH (delete before handing back): import-only timing with CPU per process.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeManifest, writeTree } from '../../e2e/src/file-tree';
import { createRemote, createRepository, sync } from '../../e2e/src/file-workflow';
import { createExporter, createImporter, groupFailures, runExport, startImport, waitGroup } from '../../e2e/src/import-export-workflow';
import { staticNginx } from '../../e2e/src/nginx-fixture';
import { msSince, now, round, startStack } from './bench-kit';

const TICK = 10;
function cpuOfPid(pid: number | string): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(') ') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK;
  } catch {
    return NaN;
  }
}
function cpuOfCommand(re: RegExp): number {
  let ms = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (re.test(s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')))) ms += cpuOfPid(pid);
    } catch { /* gone */ }
  }
  return ms;
}
async function main(): Promise<void> {
  const which = (process.env.P_TREES ?? 'small,large').split(',');
  const reps = Number(process.env.P_REPS ?? 2);
  const prof = process.env.P_PROF;
  const digests = process.env.P_DIGESTS;
  const work = mkdtempSync(path.join(tmpdir(), 'pith-improf-'));
  const out = path.join(work, 'out');
  mkdirSync(out);
  const env = { PITH_ALLOWED_EXPORT_PATHS: out, PITH_ALLOWED_IMPORT_PATHS: out, ...(digests ? { PITH_ALLOWED_CONTENT_CHECKSUMS: digests } : {}) };
  const specs: Record<string, [number, number]> = { small: [10000, 4096], large: [1000, 1 << 20], mem: [10000, 107374] };
  for (const t of which) writeManifest(path.join(work, 'up', t), writeTree(path.join(work, 'up', t), { count: specs[t]![0], minSize: specs[t]![1], maxSize: specs[t]![1] }));
  const origin = await staticNginx(path.join(work, 'up'), { workers: 'auto' });
  try {
    for (const t of which) {
      const a = await startStack({ workDir: work, workers: 1, env });
      let toc: string;
      let tar: string;
      try {
        const remote = await createRemote(a.api, t, `${origin.url}/${t}/PULP_MANIFEST`);
        const repo = await createRepository(a.api, t, { remote });
        await sync(a.api, repo, {}, 900_000, 25);
        const exporter = await createExporter(a.api, `e-${t}`, path.join(out, `exp-${t}`), [repo]);
        const task = await runExport(a.api, exporter, {}, 900_000, 25);
        if (task.state !== 'completed') throw new Error(JSON.stringify(task.error));
        toc = task.result.toc;
        tar = path.resolve(path.dirname(toc), task.result.files[0].name);
      } finally {
        await a.stop();
      }
      for (let i = 0; i < reps; i++) {
        const ex = path.join(work, `x-${t}-${i}`);
        mkdirSync(ex);
        spawnSync('sync');
        let t0 = now();
        spawnSync('tar', ['-xf', tar, '-C', ex]);
        spawnSync('sh', ['-c', `find artifact -type f -print0 | xargs -0 sha256sum > /dev/null`], { cwd: ex });
        const refMs = msSince(t0);
        const b = await startStack({
          workDir: work, workers: 1, env,
          nodeArgs: prof ? { worker: ['--cpu-prof', `--cpu-prof-dir=${prof}/${t}`, '--cpu-prof-interval=200'] } : undefined,
        });
        try {
          await createRepository(b.api, t);
          const importer = await createImporter(b.api, 'bench');
          spawnSync('sync');
          const pid = b.roles.worker!.pid;
          const c0 = { w: cpuOfPid(pid), pg: cpuOfCommand(/^postgres/), api: cpuOfPid(b.roles.api!.pid) };
          t0 = now();
          const group = await startImport(b.api, importer, { toc });
          const tasks = await waitGroup(b.api, group, 900_000, 25);
          const ms = msSince(t0);
          const ms2 = (x: string | null) => (x ? Date.parse(x) : NaN);
          const parent = tasks.find((x: { name: string }) => x.name === 'core.import');
          const kids = tasks.filter((x: unknown) => x !== parent);
          const ph = `pickup ${ms2(parent.started_at) - ms2(parent.pulp_created)} parent ${ms2(parent.finished_at) - ms2(parent.started_at)} ` +
            `gap ${Math.min(...kids.map((k: { started_at: string }) => ms2(k.started_at))) - ms2(parent.finished_at)} ` +
            `kids ${Math.max(...kids.map((k: { finished_at: string }) => ms2(k.finished_at))) - Math.min(...kids.map((k: { started_at: string }) => ms2(k.started_at)))}`;
          const fails = groupFailures(tasks);
          process.stdout.write(`${t} #${i}: ${fails.length ? fails.join(';') : 'ok'} ref ${Math.round(refMs)} ms, pith ${Math.round(ms)} ms (${ph}) ratio ${round(refMs / ms)}; ` +
            `CPU worker ${cpuOfPid(pid) - c0.w} pg ${cpuOfCommand(/^postgres/) - c0.pg} api ${cpuOfPid(b.roles.api!.pid) - c0.api}; rss ${JSON.stringify(b.peakRss())}\n`);
        } finally {
          await b.stop();
          rmSync(ex, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await origin.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
main().catch((e) => { process.stderr.write(`${(e as Error)?.stack}\n`); process.exit(1); });
