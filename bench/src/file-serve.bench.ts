// Scenario: the content app serving a published file, against nginx serving the same file from
// the same artifact storage, with `wrk -c32 -d10s` (interleaved per round, median of rounds):
//  - 4 KiB: requests/s, target ≥ 0.25× nginx
//  - 1 MiB: MB/s, target ≥ 0.35× nginx directly, and ≥ 0.8× nginx with nginx in front of the
//    content app (PITH_CONTENT_X_ACCEL_REDIRECT: the app resolves, nginx sends the file)
// The targets are judged on the content app as configured by default, which serves these hot
// files from its memory cache; the same app with PITH_CONTENT_MEMORY_CACHE=0 (every request reads
// the file, as for a cold or large repository) is reported beside it.
// One nginx worker against one content-app process (both single-threaded servers); wrk gets the
// other core. Knobs: BENCH_ROUNDS (3), BENCH_WRK_SECONDS (10), BENCH_WRK_THREADS (1).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { curlGet } from '../../e2e/src/curl-client';
import { sha256 } from '../../e2e/src/file-tree';
import { FILES, createRepository, distribute, publish, waitServed } from '../../e2e/src/file-workflow';
import { staticNginx, xAccelNginx, type NginxInstance } from '../../e2e/src/nginx-fixture';
import { freePort } from '../../e2e/src/pith-process';
import { peakRssMb, startRole, type PithRole } from '../../e2e/src/pith-role';
import { BUSY_LIMIT, median, printTable, quiet, round, startStack, writeResult, type Row, runIfMain } from './bench-kit';

interface WrkResult {
  requestsPerSec: number;
  /** Background CPU busy share (%) right before the run. */
  busy?: number;
  non2xx: number;
  socketErrors: number;
  p50: string;
  p99: string;
}

function wrk(url: string, seconds: number, threads: number, connections = 32): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (code !== 0 || !rps) return reject(new Error(`wrk ${url} failed (${code}): ${out}`));
      const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      resolve({
        requestsPerSec: Number(rps[1]),
        non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
        socketErrors: errs ? errs.slice(1).reduce((n, x) => n + Number(x), 0) : 0,
        p50: /\s50%\s+(\S+)/.exec(out)?.[1] ?? '',
        p99: /\s99%\s+(\S+)/.exec(out)?.[1] ?? '',
      });
    });
  });
}

type Target = 'nginx' | 'pith' | 'uncached' | 'xaccel';

export async function runFileServe(): Promise<{ ok: boolean }> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_WRK_SECONDS ?? 10);
  const threads = Number(process.env.BENCH_WRK_THREADS ?? 1);
  const work = mkdtempSync(path.join(tmpdir(), 'pith-bench-serve-'));
  const problems: string[] = [];
  const stack = await startStack({ workDir: work, workers: 1, content: true });
  let reference: NginxInstance | undefined;
  let front: NginxInstance | undefined;
  let xaccel: PithRole | undefined;
  let uncached: PithRole | undefined;
  try {
    // Two files in a published, distributed repository.
    const files = [
      { name: '4k.bin', label: '4 KiB', body: randomBytes(4096) },
      { name: '1m.bin', label: '1 MiB', body: randomBytes(1024 * 1024) },
    ];
    const repo = await createRepository(stack.api, 'serve');
    for (const f of files) {
      const fd = new FormData();
      fd.append('relative_path', `bench/${f.name}`);
      fd.append('repository', repo);
      fd.append('file', new Blob([f.body]), f.name);
      const res = await fetch(`${stack.apiUrl}${FILES}`, { method: 'POST', headers: { Authorization: stack.api.auth }, body: fd });
      const task = await stack.api.waitTask(((await res.json()) as { task: string }).task);
      if (task.state !== 'completed') throw new Error(`upload ${f.name}: ${JSON.stringify(task.error)}`);
    }
    await distribute(stack.api, 'serve', 'bench', { publication: await publish(stack.api, repo) });

    reference = await staticNginx(stack.mediaRoot, { workers: 1 });
    const xPort = await freePort();
    xaccel = await startRole('content', { ...stack.env, PITH_CONTENT_PORT: String(xPort), PITH_CONTENT_X_ACCEL_REDIRECT: '/pith-media' }, `http://127.0.0.1:${xPort}/pulp/content/`);
    front = await xAccelNginx(`http://127.0.0.1:${xPort}`, stack.mediaRoot, '/pith-media', 1);
    // The same content app with its memory cache off: every request reads the file.
    const uPort = await freePort();
    uncached = await startRole('content', { ...stack.env, PITH_CONTENT_PORT: String(uPort), PITH_CONTENT_MEMORY_CACHE: '0' }, `http://127.0.0.1:${uPort}/pulp/content/`);

    const urls = (f: (typeof files)[number]): Record<Target, string> => {
      const s = sha256(f.body);
      return {
        nginx: `${reference!.url}/artifact/${s.slice(0, 2)}/${s.slice(2)}`,
        pith: `${stack.contentUrl}/pulp/content/bench/bench/${f.name}`,
        uncached: `http://127.0.0.1:${uPort}/pulp/content/bench/bench/${f.name}`,
        xaccel: `${front!.url}/pulp/content/bench/bench/${f.name}`,
      };
    };
    // Same bytes from all three before anything is measured.
    for (const f of files) {
      await waitServed(urls(f).pith);
      for (const [t, u] of Object.entries(urls(f))) {
        const r = await curlGet(u);
        if (r.status !== 200 || sha256(r.body) !== sha256(f.body)) problems.push(`${t} ${f.name}: status ${r.status}, body differs`);
      }
    }

    const results: Record<string, Record<Target, WrkResult[]>> = {};
    for (const f of files) {
      results[f.name] = { nginx: [], pith: [], uncached: [], xaccel: [] };
      for (const u of Object.values(urls(f))) await wrk(u, 2, threads); // warm-up (JIT, caches, connections)
      for (let r = 1; r <= rounds; r++) {
        for (const t of ['nginx', 'pith', 'uncached', 'xaccel'] as Target[]) {
          const busy = await quiet();
          const res = { ...(await wrk(urls(f)[t], seconds, threads)), busy };
          if (res.non2xx || res.socketErrors) problems.push(`${t} ${f.name} round ${r}: ${res.non2xx} non-2xx, ${res.socketErrors} socket errors`);
          results[f.name]![t].push(res);
          process.stdout.write(`round ${r} ${f.label} ${t}: ${Math.round(res.requestsPerSec)} req/s (p50 ${res.p50}, p99 ${res.p99}; machine ${busy}% busy before)\n`);
        }
      }
    }
    const rps = (name: string, t: Target) => median(results[name]![t].map((x) => x.requestsPerSec));
    const mbps = (name: string, t: Target) => (rps(name, t) * 1024 * 1024) / 1e6;
    const rss = { content: peakRssMb(stack.roles.content!.pid), content_uncached: peakRssMb(uncached.pid), content_x_accel: peakRssMb(xaccel.pid) };

    // Targets are judged on the content app as configured by default; the same app with its
    // memory cache off (every request reads the file, as for a cold or large repository) is
    // reported beside it.
    const small = rps('4k.bin', 'pith') / rps('4k.bin', 'nginx');
    const big = mbps('1m.bin', 'pith') / mbps('1m.bin', 'nginx');
    const smallUncached = rps('4k.bin', 'uncached') / rps('4k.bin', 'nginx');
    const bigUncached = mbps('1m.bin', 'uncached') / mbps('1m.bin', 'nginx');
    const bigX = mbps('1m.bin', 'xaccel') / mbps('1m.bin', 'nginx');
    const smallX = rps('4k.bin', 'xaccel') / rps('4k.bin', 'nginx');
    const targets = {
      small_requests_per_s_ratio: { value: round(small), target: 0.25, ok: small >= 0.25 },
      large_mb_per_s_ratio: { value: round(big), target: 0.35, ok: big >= 0.35 },
      large_x_accel_mb_per_s_ratio: { value: round(bigX), target: 0.8, ok: bigX >= 0.8 },
    };
    const v = (ok: boolean): Row['verdict'] => (ok ? 'ok' : 'MISSED');
    const rows: Row[] = [
      { scenario: '4 KiB, content app (req/s)', pith: `${Math.round(rps('4k.bin', 'pith'))}`, reference: `${Math.round(rps('4k.bin', 'nginx'))}`, ratio: `${targets.small_requests_per_s_ratio.value}×`, target: '≥ 0.25×', verdict: v(targets.small_requests_per_s_ratio.ok) },
      { scenario: '4 KiB, content app, memory cache off (req/s)', pith: `${Math.round(rps('4k.bin', 'uncached'))}`, reference: `${Math.round(rps('4k.bin', 'nginx'))}`, ratio: `${round(smallUncached)}×`, target: '', verdict: '' },
      { scenario: '4 KiB, nginx + X-Accel-Redirect (req/s)', pith: `${Math.round(rps('4k.bin', 'xaccel'))}`, reference: `${Math.round(rps('4k.bin', 'nginx'))}`, ratio: `${round(smallX)}×`, target: '', verdict: '' },
      { scenario: '1 MiB, content app (MB/s)', pith: `${Math.round(mbps('1m.bin', 'pith'))}`, reference: `${Math.round(mbps('1m.bin', 'nginx'))}`, ratio: `${targets.large_mb_per_s_ratio.value}×`, target: '≥ 0.35×', verdict: v(targets.large_mb_per_s_ratio.ok) },
      { scenario: '1 MiB, content app, memory cache off (MB/s)', pith: `${Math.round(mbps('1m.bin', 'uncached'))}`, reference: `${Math.round(mbps('1m.bin', 'nginx'))}`, ratio: `${round(bigUncached)}×`, target: '', verdict: '' },
      { scenario: '1 MiB, nginx + X-Accel-Redirect (MB/s)', pith: `${Math.round(mbps('1m.bin', 'xaccel'))}`, reference: `${Math.round(mbps('1m.bin', 'nginx'))}`, ratio: `${targets.large_x_accel_mb_per_s_ratio.value}×`, target: '≥ 0.8×', verdict: v(targets.large_x_accel_mb_per_s_ratio.ok) },
      { scenario: 'content app peak RSS (cached / uncached / X-Accel)', pith: `${rss.content} / ${rss.content_uncached} / ${rss.content_x_accel} MB`, reference: '', ratio: '', target: '', verdict: '' },
    ];
    const busiest = Math.max(...Object.values(results).flatMap((x) => Object.values(x).flat().map((w) => w.busy ?? 0)));
    if (busiest > BUSY_LIMIT) rows.push({ scenario: 'machine busy before a run (max)', pith: `${busiest} %`, reference: '', ratio: '', target: `≤ ${BUSY_LIMIT} %`, verdict: 'NOISY' });
    if (problems.length) rows.push({ scenario: 'checks', pith: problems.join('; '), reference: '', ratio: '', target: '', verdict: 'FAILED' });
    printTable(rows);
    const ok = problems.length === 0 && Object.values(targets).every((t) => t.ok);
    writeResult('file-serve', {
      rounds,
      wrk: `wrk -t${threads} -c32 -d${seconds}s`,
      reference: 'nginx (1 worker, sendfile) serving the same artifact file',
      results,
      requests_per_s: Object.fromEntries(files.map((f) => [f.name, { nginx: rps(f.name, 'nginx'), pith: rps(f.name, 'pith'), uncached: rps(f.name, 'uncached'), xaccel: rps(f.name, 'xaccel') }])),
      peak_rss_mb: rss,
      max_background_busy_percent: busiest,
      targets,
      problems,
      ok,
    });
    return { ok };
  } finally {
    await front?.stop();
    await reference?.stop();
    await xaccel?.stop();
    await uncached?.stop();
    await stack.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

runIfMain(module, runFileServe);
