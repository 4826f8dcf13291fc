// SCRATCH (delete before handing back): export-only timing with CPU per process.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeManifest, writeTree } from '../../e2e/src/file-tree';
import { createRemote, createRepository, sync } from '../../e2e/src/file-workflow';
import { createExporter, runExport } from '../../e2e/src/import-export-workflow';
import { staticNginx } from '../../e2e/src/nginx-fixture';
import { startRole } from '../../e2e/src/pith-role';
import { msSince, now, round, startStack, type PithStack } from './bench-kit';

const TICK = 10;
function cpuOfPid(pid: number | string): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(') ') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK;
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
async function restartWorker(stack: PithStack, args: string[]): Promise<void> {
  await stack.roles.worker!.stop();
  stack.roles.worker = await startRole('worker', stack.env, undefined, args);
  const deadline = Date.now() + 30_000;
  while ((await stack.api.expect(200, 'GET', '/pulp/api/v3/status/')).online_workers.length < 1) {
    if (Date.now() > deadline) throw new Error('no worker');
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function main(): Promise<void> {
  const which = (process.env.P_TREES ?? 'small,large').split(',');
  const reps = Number(process.env.P_REPS ?? 3);
  const prof = process.env.P_PROF;
  const work = mkdtempSync(path.join(tmpdir(), 'pith-exprof-'));
  const out = path.join(work, 'out');
  mkdirSync(out);
  const specs: Record<string, [number, number]> = { small: [10000, 4096], large: [1000, 1 << 20], mem: [10000, 107374] };
  for (const t of which) writeManifest(path.join(work, 'up', t), writeTree(path.join(work, 'up', t), { count: specs[t]![0], minSize: specs[t]![1], maxSize: specs[t]![1] }));
  const origin = await staticNginx(path.join(work, 'up'), { workers: 'auto' });
  try {
    for (const t of which) {
      const stack = await startStack({ workDir: work, workers: 1, env: { PITH_ALLOWED_EXPORT_PATHS: out } });
      try {
        const remote = await createRemote(stack.api, t, `${origin.url}/${t}/PULP_MANIFEST`);
        const repo = await createRepository(stack.api, t, { remote });
        await sync(stack.api, repo, {}, 900_000, 25);
        await restartWorker(stack, prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}/${t}`, '--cpu-prof-interval=200'] : []);
        for (let i = 0; i < reps; i++) {
          spawnSync('sync');
          let t0 = now();
          spawnSync('tar', ['-cf', path.join(out, `ref-${t}-${i}.tar`), '-C', stack.mediaRoot, 'artifact']);
          const tarMs = msSince(t0);
          spawnSync('sync');
          const dir = path.join(out, `p-${t}-${i}`);
          const exporter = await createExporter(stack.api, `e-${t}-${i}`, dir, [repo]);
          const pid = stack.roles.worker!.pid;
          const b = { w: cpuOfPid(pid), pg: cpuOfCommand(/^postgres/), api: cpuOfPid(stack.roles.api!.pid) };
          t0 = now();
          const task = await runExport(stack.api, exporter, {}, 900_000, 25);
          const ms = msSince(t0);
          const ph = `pickup ${Date.parse(task.started_at) - Date.parse(task.pulp_created)} run ${Date.parse(task.finished_at) - Date.parse(task.started_at)}`;
          process.stdout.write(`${t} #${i}: ${task.state} tar ${Math.round(tarMs)} ms, pith ${Math.round(ms)} ms (${ph}) ratio ${round(tarMs / ms)}; CPU worker ${cpuOfPid(pid) - b.w} pg ${cpuOfCommand(/^postgres/) - b.pg} api ${cpuOfPid(stack.roles.api!.pid) - b.api}; rss ${JSON.stringify(stack.peakRss())}\n`);
          if (task.state !== 'completed') process.stdout.write(JSON.stringify(task.error) + '\n');
          rmSync(dir, { recursive: true, force: true });
          rmSync(path.join(out, `ref-${t}-${i}.tar`), { force: true });
        }
      } finally {
        await stack.stop();
      }
    }
  } finally {
    await origin.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
main().catch((e) => { process.stderr.write(`${(e as Error)?.stack}\n`); process.exit(1); });
