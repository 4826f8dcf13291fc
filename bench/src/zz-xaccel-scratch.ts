import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FILES, createRepository, distribute, publish, waitServed } from '../../e2e/src/file-workflow';
import { staticNginx, xAccelNginx } from '../../e2e/src/nginx-fixture';
import { freePort } from '../../e2e/src/pith-process';
import { startRole } from '../../e2e/src/pith-role';
import { sha256 } from '../../e2e/src/file-tree';
import { startStack } from './bench-kit';
async function main() {
  const work = mkdtempSync(path.join(tmpdir(), 'pith-x-'));
  const stack = await startStack({ workDir: work, workers: 1, content: true, nodeArgs: process.env.PROF ? { content: ['--cpu-prof', '--cpu-prof-dir=' + process.env.PROF] } : {} });
  const repo = await createRepository(stack.api, 'serve');
  const body = randomBytes(Number(process.env.SIZE ?? 4096));
  const fd = new FormData(); fd.append('relative_path', 'f.bin'); fd.append('repository', repo); fd.append('file', new Blob([body]), 'f');
  const res = await fetch(`${stack.apiUrl}${FILES}`, { method: 'POST', headers: { Authorization: stack.api.auth }, body: fd });
  await stack.api.waitTask(((await res.json()) as any).task);
  await distribute(stack.api, 'serve', 'b', { publication: await publish(stack.api, repo) });
  const xPort = await freePort();
  const x = await startRole('content', { ...stack.env, PITH_CONTENT_PORT: String(xPort), PITH_CONTENT_X_ACCEL_REDIRECT: '/pith-media' }, `http://127.0.0.1:${xPort}/pulp/content/`);
  const front = await xAccelNginx(`http://127.0.0.1:${xPort}`, stack.mediaRoot, '/pith-media', Number(process.env.NW ?? 1));
  const ref = await staticNginx(stack.mediaRoot, { workers: 1 });
  const s = sha256(body);
  const urls: Record<string,string> = { nginx: `${ref.url}/artifact/${s.slice(0,2)}/${s.slice(2)}`, pith: `${stack.contentUrl}/pulp/content/b/f.bin`, xdirect: `http://127.0.0.1:${xPort}/pulp/content/b/f.bin`, xaccel: `${front.url}/pulp/content/b/f.bin` };
  await waitServed(urls.pith!);
  for (const t of (process.env.T ?? 'nginx,pith,xdirect,xaccel').split(',')) for (let i = 0; i < 2; i++) {
    const r = spawnSync('wrk', ['-t1', '-c32', `-d${process.env.D ?? 5}s`, urls[t]!], { encoding: 'utf8' });
    const ss = spawnSync('bash', ['-c', `ss -tan | grep -c ":${xPort}"`], { encoding: 'utf8' });
    if (t === 'xaccel' && i === 0) console.log(spawnSync('curl', ['-sS', '-i', urls.xdirect!], { encoding: 'utf8' }).stdout.slice(0, 600));
    console.log(t, 'sockets', ss.stdout.trim(), /Requests\/sec:\s+\S+/.exec(r.stdout)?.[0], /Non-2xx.*/.exec(r.stdout)?.[0] ?? '');
  }
  await front.stop(); await ref.stop(); await x.stop(); await stack.stop();
}
main();
