import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodePath, type TreeEntry } from './file-tree';

export interface CurlResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs curl with these arguments to completion. */
export function curl(args: string[], opts: { timeoutMs?: number } = {}): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const p = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = opts.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs) : undefined;
    p.on('error', reject);
    p.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
  });
}

export interface HttpAnswer {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: Buffer;
}

/** One request with curl (`-i`): status, headers and body. `extra` are more curl arguments (-r, -H, -I). */
export async function curlGet(url: string, extra: string[] = []): Promise<HttpAnswer> {
  const r = await curl(['-sS', '-i', '--max-time', '60', ...extra, url]);
  if (r.code !== 0) throw new Error(`curl ${url} failed (${r.code}): ${r.stderr}`);
  const sep = r.stdout.indexOf('\r\n\r\n');
  const head = r.stdout.subarray(0, sep < 0 ? r.stdout.length : sep).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head[0] ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: sep < 0 ? Buffer.alloc(0) : r.stdout.subarray(sep + 4) };
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** `curl -K` config fetching every entry from `baseUrl` into `outDir` (same relative paths). */
export function writeCurlConfig(file: string, baseUrl: string, entries: Iterable<Pick<TreeEntry, 'relativePath'>>, outDir: string): number {
  let cfg = '';
  let n = 0;
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  for (const e of entries) {
    cfg += `url = ${quote(base + encodePath(e.relativePath))}\noutput = ${quote(path.join(outDir, e.relativePath))}\n`;
    n++;
  }
  writeFileSync(file, cfg);
  return n;
}

export interface FetchAllResult {
  /** Non-200 answers: `status url`. */
  failures: string[];
  ms: number;
}

/**
 * Fetches every entry with one curl process and `parallel` transfers
 * (`curl --parallel --parallel-max N -K cfg`), writing files under `outDir`.
 */
export async function curlFetchAll(baseUrl: string, entries: TreeEntry[], outDir: string, parallel = 10, extra: string[] = []): Promise<FetchAllResult> {
  const cfg = path.join(outDir, '..', `${path.basename(outDir)}.curlrc`);
  writeCurlConfig(cfg, baseUrl, entries, outDir);
  const t0 = process.hrtime.bigint();
  const r = await curl([
    '-sS', '--create-dirs', '--parallel', '--parallel-max', String(parallel), '--max-time', '120',
    '--write-out', '%{http_code} %{url_effective}\\n', ...extra, '-K', cfg,
  ]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const lines = r.stdout.toString('utf8').split('\n').filter(Boolean);
  const failures = lines.filter((l) => !l.startsWith('200 '));
  if (r.code !== 0) failures.push(`curl exit ${r.code}: ${r.stderr.slice(0, 2000)}`);
  if (lines.length !== entries.length) failures.push(`curl reported ${lines.length} transfers, expected ${entries.length}`);
  return { failures, ms };
}
