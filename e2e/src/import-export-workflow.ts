import { V3 } from './file-workflow';
import type { PulpApi } from './pulp-api';

/** REST steps of repository export/import, shared by the e2e suite and the benchmark. */
export const EXPORTERS = `${V3}exporters/core/pulp/`;
export const IMPORTERS = `${V3}importers/core/pulp/`;

const FINAL = ['completed', 'failed', 'canceled', 'skipped'];

/** Where an artifact lies in a media root and in an export tar. */
export const artifactPath = (sha256: string): string => `artifact/${sha256.slice(0, 2)}/${sha256.slice(2)}`;

export async function createExporter(api: PulpApi, name: string, dir: string, repositories: string[]): Promise<string> {
  return (await api.expect(201, 'POST', EXPORTERS, { name, path: dir, repositories })).pulp_href;
}

export async function createImporter(api: PulpApi, name: string, repoMapping?: Record<string, string>): Promise<string> {
  return (await api.expect(201, 'POST', IMPORTERS, { name, ...(repoMapping ? { repo_mapping: repoMapping } : {}) })).pulp_href;
}

/** Runs one export (202 {task}) and returns the final task. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runExport(api: PulpApi, exporter: string, body: Record<string, unknown>, timeoutMs = 300_000, pollMs = 100): Promise<any> {
  return api.runTask(`${exporter}exports/`, body, timeoutMs, pollMs);
}

/** Starts an import (202 {task_group}) and returns the task group href. */
export async function startImport(api: PulpApi, importer: string, body: Record<string, unknown>): Promise<string> {
  return (await api.expect(202, 'POST', `${importer}imports/`, body)).task_group;
}

/**
 * Waits until a task group says all its tasks are dispatched and every one of them is final (the
 * parent `core.import` dispatches its children while it runs, so "all final" alone can be early).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function waitGroup(api: PulpApi, group: string, timeoutMs = 300_000, pollMs = 100): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [g, tasks] = await Promise.all([
      api.expect(200, 'GET', group),
      api.listAll(`${V3}tasks/?task_group=${encodeURIComponent(group)}`, 100),
    ]);
    if (g.all_tasks_dispatched && tasks.length && tasks.every((t: { state: string }) => FINAL.includes(t.state))) return tasks;
    if (Date.now() > deadline) throw new Error(`task group ${group} not done after ${timeoutMs} ms: ${JSON.stringify(tasks.map((t: { name: string; state: string }) => `${t.name}=${t.state}`))}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Every task of a group that did not complete, with its error (empty when all completed). */
export const groupFailures = (tasks: Array<{ name: string; state: string; error?: { description?: string } | null }>): string[] =>
  tasks.filter((t) => t.state !== 'completed').map((t) => `${t.name}: ${t.state}: ${t.error?.description ?? ''}`);

export interface ImportOutcome {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  tasks: any[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  parent: any;
  /** The import's `report` (what it did or, for a dry run, would do). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  report: any;
}

/** Runs one import to the end of its task group; returns the tasks, the parent and the report. */
export async function runImport(api: PulpApi, importer: string, body: Record<string, unknown>, timeoutMs = 300_000, pollMs = 100): Promise<ImportOutcome> {
  const group = await startImport(api, importer, body);
  const tasks = await waitGroup(api, group, timeoutMs, pollMs);
  const parent = tasks.find((t) => t.name === 'core.import');
  const imports = await api.listAll(`${importer}imports/`);
  const mine = imports.find((i: { task: string; task_group?: string }) => i.task_group === group || i.task === parent?.pulp_href);
  return { tasks, parent, report: mine?.report ?? null };
}
