// Profiling aid for the sync path (not a benchmark: no reference, no targets). Syncs N files of
// SIZE bytes from a local nginx into fresh Pith stacks, then re-syncs them unchanged
// (optimize=false), and prints per run: wall time, CPU of the worker process, of PostgreSQL (all
// its processes) and of nginx, and the machine's busy time: on a 2-core VM the sync is CPU-bound
// across all three, so CPU per process says where a change helped when wall times are noisy.
// With PROFILE_DIR the worker is CPU-profiled (first sync and re-syncs in separate profiles) and
// each profile is summarised by where its samples land (our files, libraries, GC).
// Run: `npm run profile:sync --workspace @pith/bench` (after `npm run build`). Knobs:
//   PROFILE_FILES (10000), PROFILE_SIZE (4096), PROFILE_ROUNDS (1), PROFILE_RESYNCS (3),
//   PROFILE_DIGESTS (';'-separated PITH_ALLOWED_CONTENT_CHECKSUMS values, one stack each per
//   round, e.g. 'sha224,sha256,sha384,sha512;sha256'), PROFILE_DIR (write .cpuprofile files there),
//   PROFILE_WORKER_ARGS (extra node flags for the worker, e.g. '--max-semi-space-size=64').
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeManifest, writeTree } from '../../e2e/src/file-tree';
import { createRemote, createRepository, sync } from '../../e2e/src/file-workflow';
import { staticNginx } from '../../e2e/src/nginx-fixture';
import { startRole } from '../../e2e/src/pith-role';
import { msSince, now, round, startStack, type PithStack } from './bench-kit';

const TICK_MS = 10; // USER_HZ = 100 on Linux

/** utime + stime (ms) of one process. */
function cpuOfPid(pid: number | string): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(') ') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

/** CPU ms of every process whose command name matches (processes that exited meanwhile are missed). */
function cpuOfCommand(re: RegExp): number {
  let ms = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (re.test(s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')))) ms += cpuOfPid(pid);
    } catch {
      // gone
    }
  }
  return ms;
}

function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!) * TICK_MS;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Where a profile's busy samples land: each sample goes to the nearest frame (from the leaf up)
 * in a file of ours (`packages/platform/…`, `plugins/…`) or a library (`nm:<package>`), so time in
 * native code (syscalls, hashing, JSON) counts for the JavaScript that called it. Process startup
 * (module loading) is left out.
 */
function summarise(file: string, top = 12): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (url: string): string | null => {
    if (url.includes('node_modules/')) return `nm:${url.split('node_modules/')[1]!.split('/').slice(0, url.includes('node_modules/@') ? 2 : 1).join('/')}`;
    const m = /\/(packages\/[^/]+|plugins\/[^/]+|apps\/[^/]+)\/dist\/(.*)$/.exec(url);
    return m ? `${m[1]}/${m[2]}` : null;
  };
  const totals = new Map<string, number>();
  let busy = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const leaf = byId.get(id)!;
    const fn = leaf.callFrame.functionName;
    if (fn === '(idle)' || fn === '(program)') return;
    let where: string | null = fn === '(garbage collector)' ? 'GC' : null;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur)!.callFrame.url;
      if (url === 'node:internal/main/run_main_module') return; // startup
      where ??= label(url);
    }
    where ??= `native:${fn}`;
    busy += dt;
    totals.set(where, (totals.get(where) ?? 0) + dt);
  });
  const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [`  ${path.basename(file)}: ${Math.round(busy / 1000)} ms busy`, ...rows.map(([k, t]) => `    ${String(Math.round(t / 1000)).padStart(6)} ms ${String(round((100 * t) / busy, 1)).padStart(5)} %  ${k}`)].join('\n');
}

async function restartWorker(stack: PithStack, args: string[]): Promise<void> {
  await stack.roles.worker!.stop();
  stack.roles.worker = await startRole('worker', stack.env, undefined, args);
  // Online again once its heartbeat is in.
  const deadline = Date.now() + 30_000;
  while ((await stack.api.expect(200, 'GET', '/pulp/api/v3/status/')).online_workers.length < 1) {
    if (Date.now() > deadline) throw new Error('the restarted worker did not come online');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const files = Number(process.env.PROFILE_FILES ?? 10_000);
  const size = Number(process.env.PROFILE_SIZE ?? 4096);
  const rounds = Number(process.env.PROFILE_ROUNDS ?? 1);
  const resyncs = Number(process.env.PROFILE_RESYNCS ?? 3);
  const variants = (process.env.PROFILE_DIGESTS ?? '').split(';');
  const profileDir = process.env.PROFILE_DIR ? path.resolve(process.env.PROFILE_DIR) : null;
  const workerArgs = (process.env.PROFILE_WORKER_ARGS ?? '').split(' ').filter(Boolean);
  const work = mkdtempSync(path.join(tmpdir(), 'pith-sync-profile-'));
  const entries = writeTree(path.join(work, 'upstream'), { count: files, minSize: size, maxSize: size });
  writeManifest(path.join(work, 'upstream'), entries);
  const origin = await staticNginx(path.join(work, 'upstream'), { workers: 'auto' });
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const digests of variants) {
        process.stdout.write(`round ${r}, ${files} × ${size} B, digests ${digests || 'default'}\n`);
        const profArgs = (phase: string) => {
          if (!profileDir) return workerArgs;
          const dir = path.join(profileDir, `round${r}-${(digests || 'default').replace(/\W+/g, '_')}-${phase}`);
          mkdirSync(dir, { recursive: true });
          return [...workerArgs, '--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250'];
        };
        const stack = await startStack({
          workDir: work,
          workers: 1,
          env: digests ? { PITH_ALLOWED_CONTENT_CHECKSUMS: digests } : {},
          nodeArgs: { worker: profArgs('first') },
        });
        try {
          const remote = await createRemote(stack.api, 'profile', `${origin.url}/PULP_MANIFEST`);
          const repo = await createRepository(stack.api, 'profile', { remote });
          const measure = async (label: string, body: Record<string, unknown>) => {
            const pid = stack.roles.worker!.pid;
            const before = { worker: cpuOfPid(pid), pg: cpuOfCommand(/^postgres/), nginx: cpuOfCommand(/^nginx/), machine: machineBusyMs() };
            const t0 = now();
            const task = await sync(stack.api, repo, body, 900_000, 25);
            const ms = msSince(t0);
            const cpu = (k: keyof typeof before, v: number) => `${k} ${v - before[k]}`;
            process.stdout.write(`  ${label}: ${task.state}, ${Math.round(ms)} ms; CPU ms: ${cpu('worker', cpuOfPid(pid))}, ${cpu('pg', cpuOfCommand(/^postgres/))}, ` +
              `${cpu('nginx', cpuOfCommand(/^nginx/))}, ${cpu('machine', machineBusyMs())}\n`);
          };
          await measure('first sync', {});
          // A fresh worker for the re-syncs: its profile then holds only them.
          if (profileDir) await restartWorker(stack, profArgs('resync'));
          for (let i = 1; i <= resyncs; i++) await measure(`re-sync ${i}`, { optimize: false });
        } finally {
          await stack.stop(); // the worker writes its profile on exit
        }
      }
    }
    if (profileDir) {
      for (const dir of readdirSync(profileDir).sort()) {
        for (const f of readdirSync(path.join(profileDir, dir)).filter((x) => x.endsWith('.cpuprofile'))) {
          process.stdout.write(`${dir}\n${summarise(path.join(profileDir, dir, f))}\n`);
        }
      }
    }
  } finally {
    await origin.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
