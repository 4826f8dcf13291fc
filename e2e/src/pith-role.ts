import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PITH_BIN } from './pith-process';

export interface PithRole {
  proc: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs one `pith <role>` process (api, content, worker) with `env`, and waits until `readyUrl`
 * answers (any HTTP status) when given. `nodeArgs` go to node (e.g. `--cpu-prof`).
 */
export async function startRole(role: string, env: Record<string, string>, readyUrl?: string, nodeArgs: string[] = []): Promise<PithRole> {
  let out = '';
  const proc = spawn(process.execPath, [...nodeArgs, PITH_BIN, role], { env: { ...(process.env as Record<string, string>), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (readyUrl) {
    if (proc.exitCode !== null) throw new Error(`pith ${role} exited early (${proc.exitCode}): ${out}`);
    const up = await fetch(readyUrl).then((r) => (void r.body?.cancel(), true), () => false);
    if (up) break;
    if (Date.now() > deadline) throw new Error(`pith ${role} did not come up at ${readyUrl}: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    pid: proc.pid!,
    output: () => out,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

/** Peak resident set size of a live process in MiB (`VmHWM`), or NaN once it is gone. */
export function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}
