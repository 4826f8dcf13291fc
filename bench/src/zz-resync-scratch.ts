// scratch (not committed): CPU profile of the worker during no-change re-syncs of 10k files
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeManifest, writeTree } from '../../e2e/src/file-tree';
import { createRemote, createRepository, sync } from '../../e2e/src/file-workflow';
import { staticNginx } from '../../e2e/src/nginx-fixture';
import { startRole } from '../../e2e/src/pith-role';
import { msSince, now, startStack } from './bench-kit';

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), 'pith-prof-'));
  const entries = writeTree(path.join(work, 'up', 'small'), { count: 10000, minSize: 4096, maxSize: 4096 });
  writeManifest(path.join(work, 'up', 'small'), entries);
  const origin = await staticNginx(path.join(work, 'up'), { workers: 'auto' });
  const stack = await startStack({ workDir: work, workers: 1 });
  const remote = await createRemote(stack.api, 'r', `${origin.url}/small/PULP_MANIFEST`);
  const repo = await createRepository(stack.api, 'r', { remote });
  let t = now();
  await sync(stack.api, repo, {}, 600000, 25);
  console.log('first', Math.round(msSince(t)));
  await stack.roles.worker!.stop();
  stack.roles.worker = await startRole('worker', stack.env, undefined, ['--cpu-prof', '--cpu-prof-dir=/tmp/pprof/resync', '--cpu-prof-interval=250']);
  await new Promise((r) => setTimeout(r, 3000));
  for (let i = 0; i < 3; i++) {
    t = now();
    const re = await sync(stack.api, repo, { optimize: false }, 600000, 25);
    console.log('resync', re.state, Math.round(msSince(t)), JSON.stringify(re.progress_reports.map((p: any) => [p.code, p.done])));
  }
  await stack.stop();
  await origin.stop();
}
main();
