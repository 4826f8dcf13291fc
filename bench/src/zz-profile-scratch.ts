// scratch (not committed): CPU profile of the worker during a 10k × 4 KiB sync
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeManifest, writeTree } from '../../e2e/src/file-tree';
import { createRemote, createRepository, sync } from '../../e2e/src/file-workflow';
import { staticNginx } from '../../e2e/src/nginx-fixture';
import { msSince, now, startStack } from './bench-kit';

async function main() {
  const kind = process.env.KIND ?? 'small';
  const work = mkdtempSync(path.join(tmpdir(), 'pith-prof-'));
  const n = kind === 'small' ? 10000 : 1000;
  const size = kind === 'small' ? 4096 : 1024 * 1024;
  const entries = writeTree(path.join(work, 'up', kind), { count: n, minSize: size, maxSize: size });
  writeManifest(path.join(work, 'up', kind), entries);
  const origin = await staticNginx(path.join(work, 'up'), { workers: 'auto' });
  const profDir = '/tmp/pprof/' + kind;
  const stack = await startStack({ workDir: work, workers: 1, nodeArgs: { worker: ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=500'] }, env: { ...(process.env.DIG ? { PITH_ALLOWED_CONTENT_CHECKSUMS: process.env.DIG } : {}) } });
  const remote = await createRemote(stack.api, 'r', `${origin.url}/${kind}/PULP_MANIFEST`);
  const repo = await createRepository(stack.api, 'r', { remote });
  const pid = stack.roles.worker!.pid;
  const cpu0 = readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ');
  const t0 = now();
  const task = await sync(stack.api, repo, {});
  const ms = msSince(t0);
  const cpu1 = readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ');
  const tick = (a: string[]) => Number(a[13]) + Number(a[14]);
  console.log(kind, task.state, 'wall ms', Math.round(ms), 'worker cpu ms', (tick(cpu1) - tick(cpu0)) * 10);
  let t = now();
  const re = await sync(stack.api, repo, { optimize: false });
  console.log('resync', re.state, Math.round(msSince(t)));
  console.log(JSON.stringify(task.progress_reports.map((p: any) => [p.code, p.done, p.total])));
  await stack.stop();
  await origin.stop();
}
main();
