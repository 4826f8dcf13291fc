import type { PulpApi } from './pulp-api';

/** REST steps of the file workflow, shared by the e2e suites and the benchmarks. */
export const V3 = '/pulp/api/v3/';
export const FILES = `${V3}content/file/files/`;
export const REPOS = `${V3}repositories/file/file/`;
export const REMOTES = `${V3}remotes/file/file/`;
export const PUBLICATIONS = `${V3}publications/file/file/`;
export const DISTRIBUTIONS = `${V3}distributions/file/file/`;
export const ARTIFACTS = `${V3}artifacts/`;

export interface ContentSummary {
  added: Record<string, { count: number }>;
  removed: Record<string, { count: number }>;
  present: Record<string, { count: number }>;
}

export async function createRemote(api: PulpApi, name: string, url: string, policy = 'immediate', extra: Record<string, unknown> = {}): Promise<string> {
  return (await api.expect(201, 'POST', REMOTES, { name, url, policy, ...extra })).pulp_href;
}

export async function createRepository(api: PulpApi, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (await api.expect(201, 'POST', REPOS, { name, ...extra })).pulp_href;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function sync(api: PulpApi, repo: string, body: Record<string, unknown>, timeoutMs = 300_000, pollMs = 100): Promise<any> {
  return api.runTask(`${repo}sync/`, body, timeoutMs, pollMs);
}

/** Publishes the latest version; returns the publication href (throws on a failed task). */
export async function publish(api: PulpApi, repo: string, extra: Record<string, unknown> = {}): Promise<string> {
  const task = await api.runTask(PUBLICATIONS, { repository: repo, ...extra });
  if (task.state !== 'completed') throw new Error(`publish failed: ${JSON.stringify(task.error)}`);
  const href = (task.created_resources as string[]).find((h) => h.startsWith(PUBLICATIONS));
  if (!href) throw new Error(`publish task created no publication: ${JSON.stringify(task.created_resources)}`);
  return href;
}

/** Creates a distribution (201, or Pulp's 202 + task) and returns its href. */
export async function distribute(api: PulpApi, name: string, basePath: string, target: Record<string, string>): Promise<string> {
  const r = await api.call('POST', DISTRIBUTIONS, { name, base_path: basePath, ...target });
  if (r.status === 201) return r.body.pulp_href;
  if (r.status === 202) {
    const task = await api.waitTask(r.body.task);
    const href = (task.created_resources as string[]).find((h) => h.startsWith(DISTRIBUTIONS));
    if (task.state === 'completed' && href) return href;
    throw new Error(`distribution task ${task.state}: ${JSON.stringify(task.error)}`);
  }
  throw new Error(`POST ${DISTRIBUTIONS} → ${r.status}: ${r.text}`);
}

/** Changes a distribution (200, or Pulp's 202 + task). */
export async function updateDistribution(api: PulpApi, href: string, body: Record<string, unknown>): Promise<void> {
  const r = await api.call('PATCH', href, body);
  if (r.status === 200) return;
  if (r.status === 202 && (await api.waitTask(r.body.task)).state === 'completed') return;
  throw new Error(`PATCH ${href} → ${r.status}: ${r.text}`);
}

export async function versionSummary(api: PulpApi, repo: string, n: number): Promise<ContentSummary> {
  return (await api.expect(200, 'GET', `${repo}versions/${n}/`)).content_summary;
}

/** relative_path → digest of every file unit in a repository version. */
export async function versionFiles(api: PulpApi, versionHref: string): Promise<Map<string, string>> {
  const units = await api.listAll(`${FILES}?repository_version=${encodeURIComponent(versionHref)}`);
  return new Map(units.map((u: { relative_path: string; digest: string }) => [u.relative_path, u.digest]));
}

export async function latestVersion(api: PulpApi, repo: string): Promise<string> {
  return (await api.expect(200, 'GET', repo)).latest_version_href;
}

/** Waits until the content app answers `url` with `status` (its distribution cache refreshes within ~1 s). */
export async function waitServed(url: string, status = 200, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  for (;;) {
    const r = await fetch(url, { method: 'HEAD' }).catch(() => null);
    last = r?.status ?? 0;
    if (last === status) return;
    if (Date.now() > deadline) throw new Error(`${url} still answers ${last}, waited for ${status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
